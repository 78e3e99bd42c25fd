"""Korean particles (조사) chosen by rule from the last syllable of the word they follow.

Hangul syllables are ``0xAC00 + (initial × 21 + medial) × 28 + final``; ``final == 0`` means the word
ends in a vowel. ``으로/로`` also takes ``로`` after a final ㄹ (``서울로``, ``지하철로``). Words that end
in a digit or a Latin letter are read aloud the Korean way (``3``: 삼 → 받침, ``ICT``: 티 → no 받침).
"""

from __future__ import annotations

from functools import lru_cache

_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_RIEUL = 8  # index of ㄹ among the 28 finals
#: digits as read in Korean: 영 일 이 삼 사 오 육 칠 팔 구 — final consonant index of each
_DIGIT_FINAL = {"0": 21, "1": 8, "2": 0, "3": 16, "4": 0, "5": 0, "6": 1, "7": 8, "8": 8, "9": 0}
#: Latin letters whose Korean reading ends in a consonant (엘, 엠, 엔, 알) — the rest end in a vowel
_LATIN_FINAL = {"l": 8, "m": 16, "n": 4, "r": 8}

#: particle → (after a final consonant, after a vowel)
PAIRS: dict[str, tuple[str, str]] = {}
for _a, _b in (("은", "는"), ("이", "가"), ("을", "를"), ("과", "와"), ("으로", "로"), ("이나", "나"),
               ("이랑", "랑"), ("아", "야"), ("이며", "며"), ("이고", "고"), ("이라는", "라는"),
               ("이다", "다"), ("이라", "라"), ("으로서", "로서"), ("으로써", "로써"), ("이자", "자"),
               ("이든", "든"), ("이었", "였"), ("입니다", "입니다")):
    PAIRS[_a] = PAIRS[_b] = (_a, _b)


def final_consonant(word: str) -> int:
    """Index (0–27) of the final consonant of ``word``'s last readable character; 0 means a vowel.

    Trailing spaces and punctuation are skipped; a trailing parenthesis is read past, as Korean writing
    does (``영화(액션)`` takes the particle of ``영화``).
    """
    word = word.rstrip()
    if word.endswith(")") and "(" in word:
        word = word[:word.rindex("(")]
    for ch in reversed(word):
        code = ord(ch)
        if _HANGUL_FIRST <= code <= _HANGUL_LAST:
            return (code - _HANGUL_FIRST) % 28
        if ch in _DIGIT_FINAL:
            return _DIGIT_FINAL[ch]
        if ch.isascii() and ch.isalpha():
            return _LATIN_FINAL.get(ch.lower(), 0)
    return 0


@lru_cache(maxsize=65_536)
def attach(word: str, particle: str) -> str:
    """``word`` followed by the form of ``particle`` its last syllable takes.

    Either form may be given: ``attach("간호사", "을")`` → ``"간호사를"``, ``attach("서울", "으로")`` →
    ``"서울로"``, ``attach("부산", "로")`` → ``"부산으로"``. Unknown particles are appended unchanged.
    """
    forms = PAIRS.get(particle)
    if forms is None:
        return word + particle
    final = final_consonant(word)
    if forms[0] in ("으로", "으로서", "으로써"):
        return word + (forms[1] if final in (0, _RIEUL) else forms[0])
    return word + (forms[0] if final else forms[1])
