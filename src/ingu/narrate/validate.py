"""Validators: does a narrative contradict its record, and is it well-formed?

Every narrator's output passes through :class:`Validator` before it is written. A finding names the field,
a code and the offending words, so the run can retry with that feedback, fall back, and count it.

Checks (codes):

``empty`` / ``too_short`` / ``too_long``   length within :data:`~ingu.narrate.fields.LENGTH_BOUNDS`
``bad_list``          list fields are NPK list strings of 2–8 non-empty items
``name_missing``      the 7 narratives contain the person's name
``low_hangul``        at least 70 % of letters are Hangul
``pii``               no phone, resident-registration, e-mail or card number patterns
``age_mismatch``      a stated age (``42세``, ``42살``) or birth year (``1982년생``) more than a year off the
                      record; a stated decade (``40대 …``) other than the record's. Ages next to a relative
                      (``딸``, ``남편`` …) are about someone else and are skipped.
``sex_mismatch``      words that fix the person's sex the other way (``그녀``/``여성으로서``/``엄마로서`` for a
                      man, ``남성으로서``/``아빠로서`` for a woman); a spouse word of the wrong sex
                      (a man's ``남편과``, a woman's ``아내와``)
``marital_mismatch``  a never-married person with a spouse
``region_mismatch``   a residence statement (``X에 살며``, ``X에서 거주``, ``X 토박이``) naming a province,
                      district or 읍면동 that is not the record's
``occupation_mismatch`` a job claim (``X로 일하는``, ``X로 근무``, ``… X입니다`` in the summary) naming a KSCO
                      title of another sub-major group, or any present job for a record without one
``military_mismatch`` serving now without being in service; having completed service as a woman or an
                      exempt man
``duplicate``         the same text already appeared in this field earlier in the run

The checks are heuristics with a bias to precision: what they flag is a contradiction a reader would see;
what they miss, the audit's text checks still count.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ingu.narrate.fields import FIELDS, LENGTH_BOUNDS, LIST_FIELDS, NAMED_FIELDS

CODES: tuple[str, ...] = (
    "empty", "too_short", "too_long", "bad_list", "name_missing", "low_hangul", "pii", "age_mismatch",
    "sex_mismatch", "marital_mismatch", "region_mismatch", "occupation_mismatch", "military_mismatch", "duplicate",
)
#: Codes that are facts contradicting the record (the rest are form).
CONTRADICTIONS: frozenset[str] = frozenset(
    {"age_mismatch", "sex_mismatch", "marital_mismatch", "region_mismatch", "occupation_mismatch",
     "military_mismatch"})


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in one field: ``code`` from :data:`CODES` and the words that triggered it."""

    field: str
    code: str
    detail: str

    def __str__(self) -> str:
        return f"{self.field}: {self.code}: {self.detail}"


_KIN = ("딸", "아들", "자녀", "아이", "손자", "손녀", "손주", "남편", "아내", "부인", "배우자", "부모", "어머니", "아버지",
        "엄마", "아빠", "할머니", "할아버지", "동생", "형", "누나", "오빠", "언니", "조카", "친구", "막내", "첫째", "둘째",
        "시어머니", "장모", "장인", "시아버지", "동료", "후배", "선배", "사위", "며느리", "이웃", "어르신", "학생")
_KIN_BEFORE = re.compile("(?:" + "|".join(sorted(_KIN, key=len, reverse=True)) + r")\S{0,3}\s?\S{0,4}$")
_KIN_AFTER = re.compile(r"(?:의\s|인\s|\s)?(?:" + "|".join(sorted(_KIN, key=len, reverse=True)) + ")")
# (lookbehinds sit after the first character: a pattern that starts with one cannot use the scanner's fast
# first-character search, and these run over every narrative)
_AGE = re.compile(r"(\d(?<![\d.]\d)\d{0,2})\s?(?:세|살)(?!대|기|트)")
_BIRTH_YEAR = re.compile(r"((?:19|20)\d\d)년생")
_DECADE = re.compile(r"([1-9](?<!\d\d)0)대(?:\s?(?:초반|중반|후반))?(?:의|인)?\s")
#: what follows a decade when it describes the person now ("40대 가장", "30대 산업 안전원입니다")
_DECADE_SELF = re.compile(r"\S*\s?\S*(?:입니다|이다|가장|직장인|청년|여성|남성|주부|엄마|아빠|싱글|독신|[가-힣]원|[가-힣]사)(?:\s|\.|,|$)")
_DECADE_PAST = ("시절", "때", "부터", "까지", "초반에", "중반에", "후반에", "에 ", "를", "였", "이던")
_PII_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_DIGITS = re.compile(r"\d\d\d\d")
_PII_NUMBER = re.compile(
    r"01[016789][-. ]?\d{3,4}[-. ]?\d{4}|0\d{1,2}-\d{3,4}-\d{4}"  # phone numbers
    r"|\d{6}-[1-8]\d{6}"  # resident registration numbers
    r"|\d{4}-\d{4}-\d{4}-\d{4}")  # card numbers
_FOREIGN = re.compile(r"[A-Za-z\u3040-\u30ff\u4e00-\u9fff]")


def _words_alone(words: tuple[str, ...], tail: str = "", exclude_before: tuple[str, ...] = ()) -> str:
    """A flat alternation of ``word(?<!…)tail``: each word not preceded by Hangul (nor by ``exclude_before``).

    Flat, with every lookbehind after its literal, so the regex engine can scan for first characters
    (a leading lookbehind or a nested group makes it try every position; 3× slower on these texts).
    """
    parts = []
    for word in words:
        behind = "".join(f"(?<!{before}{word})" for before in ("[가-힣]", *exclude_before))
        parts.append(f"{word}{behind}{tail}")
    return "|".join(parts)


_SELF_TAIL = "(?:으로서|로서|이자 |입니다)"
_FEMALE_SELF = re.compile(_words_alone(("그녀",)) + "|"
                          + _words_alone(("여성", "엄마", "어머니", "아내", "주부", "할머니", "며느리", "워킹맘", "딸"), _SELF_TAIL))
_MALE_SELF = re.compile(_words_alone(("남성", "아빠", "아버지", "남편", "할아버지", "사위", "아들"), _SELF_TAIL))
_NOT_YET = ("미래의 ", "예비 ")  # "미래의 남편" is no spouse
_HUSBAND = re.compile(_words_alone(
    ("남편",), "(?:과|와|을|를|가|은|는|의|에게|도|과의|이랑|분|이(?![지며자다고었라]))", _NOT_YET))
_WIFE = re.compile(_words_alone(
    ("아내", "부인"), "(?:와|과|를|을|가|는|은|의|에게|도|와의|랑|이(?![지며자다고었라]))", _NOT_YET))
#: verbs of living somewhere; the place is the word before them that ends in 에/에서 (or precedes 토박이)
_RESIDENCE = re.compile(r"살[고며아았면]|살고|거주하|거주 중|사는 |산 지|터를 잡|자리 ?잡|토박이|주민으로|주민인")
_RESIDENCE_FILLERS = frozenset({"오래", "평생", "줄곧", "계속", "지금도", "현재", "혼자", "홀로", "함께", "가족과", "부모님과",
                                "아내와", "남편과", "오랫동안", "지금은", "아직도", "여전히"})
#: verbs of working as something; the title is the phrase before them that ends in 로/으로
_JOB_VERB = re.compile(r"일하(?!던|다가|였)|근무하(?!던|다가|였)|근무 중|재직 중|재직하(?!던|였)|종사하(?!던|였)")
_JOB_FILLERS = frozenset({"현재", "지금", "오랫동안", "묵묵히", "성실히", "꾸준히", "열심히", "계속"})
_SERVING = re.compile(r"(?:군\s?복무|병역\s?복무|복무|군\s생활)\s?중|현역\s(?:병사|군인|장병)(?:으로|로|입니다)|군에서\s복무하고")
_SERVED = re.compile(r"(?:전역|제대)(?:했|한\s|하고|한\s뒤|한\s후|을\s했)|(?:군\s?복무|병역(?:\s의무)?)를\s마(?:치|친)")
_PARTICLE_TAIL = re.compile(r"(?:에서는|에서도|에서|에는|에도|으로|에|의|은|는|이|가|도|로|과|와|을|를)$")
_GENERIC_JOBS = frozenset(
    {"직장인", "회사원", "근로자", "노동자", "종사자", "전문가", "사무직", "생산직", "실무자", "관리자", "직원", "사원", "일꾼",
     "가장", "자영업자", "사장", "대표", "책임자", "담당자", "기술자", "전문직", "프리랜서", "베테랑", "숙련공", "현장직"})
_EVERYDAY_JOBS: dict[str, set[str]] = {
    "의사": {"24"}, "간호사": {"24"}, "약사": {"24"}, "교사": {"25"}, "선생님": {"25"}, "교수": {"25"}, "변호사": {"26"},
    "회계사": {"27"}, "세무사": {"27"}, "요리사": {"44"}, "미용사": {"42"}, "경찰관": {"41"}, "소방관": {"41"},
    "택시기사": {"87"}, "버스기사": {"87"}, "트럭운전사": {"87"}, "농부": {"61"}, "어부": {"63"}, "군인": {"A0"},
    "간병인": {"42"}, "요양보호사": {"42"}, "프로그래머": {"22"}, "개발자": {"22"},
}


@lru_cache(maxsize=1)
def _places() -> tuple[frozenset[str], dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """All place words; province label → its words; NPK district label → its words."""
    from ingu.reference.vocab import districts, neighbourhoods_by_district, provinces

    aliases = {
        "서울": ("서울시",), "부산": ("부산시",), "대구": ("대구시",), "인천": ("인천시",), "광주": ("광주시",),
        "대전": ("대전시",), "울산": ("울산시",), "세종": ("세종시",), "경기": ("경기도",), "강원": ("강원도",),
        "충청북": ("충북", "충청북도"), "충청남": ("충남", "충청남도"), "전북": ("전라북도", "전북도"),
        "전라남": ("전남", "전라남도"), "경상북": ("경북", "경상북도"), "경상남": ("경남", "경상남도"), "제주": ("제주도",),
    }
    by_province: dict[str, frozenset[str]] = {}
    for p in provinces():
        words = {p.name, p.npk_label, *aliases.get(p.npk_label, ())}
        words.add(p.name.replace("특별자치", "").replace("특별", "").replace("광역", ""))
        by_province[p.npk_label] = frozenset(words)
    province_of = {p.code: p.npk_label for p in provinces()}
    hoods = neighbourhoods_by_district()
    by_district: dict[str, frozenset[str]] = {}
    for d in districts():
        words = set(by_province[province_of[d.province_code]])
        for token in d.name.split():
            words.add(token)
            if len(token) > 2 and token[-1] in "시군구":
                words.add(token[:-1])
        words.update(hoods.get(d.code, ()))
        by_district[d.npk_label] = frozenset(words)
    everything = frozenset().union(*by_district.values())
    return everything, by_province, by_district


@lru_cache(maxsize=1)
def _job_titles() -> dict[str, frozenset[str]]:
    """Normalised occupation words → KSCO sub-major codes they belong to (official titles + everyday words)."""
    from ingu.reference.tables import load_table

    table = load_table("vocab_ksco7")
    titles: dict[str, set[str]] = {}
    for code, name, level in zip(table["code"].to_list(), table["name"].to_list(), table["level"].to_list()):
        if level in ("minor", "unit", "detailed"):
            key = _normalise_job(name)
            if len(key) >= 2 and key not in _GENERIC_JOBS:
                titles.setdefault(key, set()).add(str(code)[:2])
    for word, subs in _EVERYDAY_JOBS.items():
        titles.setdefault(word, set()).update(subs)
    return {k: frozenset(v) for k, v in titles.items()}


def _normalise_job(title: str) -> str:
    title = title.removeprefix("그 외 ").removeprefix("기타 ")
    return re.sub(r"[\s·()]", "", title)


def _strip_particle(token: str) -> str:
    return _PARTICLE_TAIL.sub("", token)


class Validator:
    """Check narratives against their records; remembers texts to catch duplicates across a run.

    Parameters
    ----------
    duplicate_capacity : int
        How many distinct texts (per field) to remember for duplicate detection; beyond that, new texts are
        still checked against the remembered ones but not added (bounded memory on 10M-row runs).
    """

    def __init__(self, *, duplicate_capacity: int = 2_000_000) -> None:
        self.duplicate_capacity = duplicate_capacity
        self._seen: dict[str, set[bytes]] = {field: set() for field in FIELDS}
        _places()
        _job_titles()

    def check(self, persona: Mapping[str, Any], texts: Mapping[str, str], *,
              remember: bool = True, duplicates_only: bool = False) -> list[Finding]:
        """Findings for ``texts`` (field → text) of ``persona``; an empty list means every field passed.

        With ``remember`` the texts that pass are recorded for duplicate detection (call once per accepted
        draft; a retried field is checked again with its new text). ``duplicates_only`` skips every other
        check (merging texts already validated elsewhere).
        """
        findings: list[Finding] = []
        fields = [f for f in FIELDS if f in texts]
        if not duplicates_only:
            for field in fields:
                findings.extend(self._form(persona, field, texts[field]))
            # content checks run once over the joined text; a match is traced back to its field by offset
            joined, starts = _join(texts, fields)
            findings.extend(_content(persona, joined, starts, fields, texts))
        if remember:
            failed = {f.field for f in findings}
            for field in fields:
                if field not in failed:
                    digest = hashlib.blake2b(texts[field].encode(), digest_size=8).digest()
                    seen = self._seen[field]
                    if digest in seen:
                        findings.append(Finding(field, "duplicate", _clip(texts[field])))
                    elif len(seen) < self.duplicate_capacity:
                        seen.add(digest)
        return findings

    def remember(self, field: str, text: str) -> None:
        """Record an accepted text without checking it (texts of finished row groups, on resume)."""
        seen = self._seen[field]
        if len(seen) < self.duplicate_capacity:
            seen.add(hashlib.blake2b(text.encode(), digest_size=8).digest())

    def forget(self) -> None:
        """Drop remembered texts (a new run)."""
        for seen in self._seen.values():
            seen.clear()

    def _form(self, persona: Mapping[str, Any], field: str, text: str) -> list[Finding]:
        out = []
        if not text or not text.strip():
            return [Finding(field, "empty", "")]
        low, high = LENGTH_BOUNDS[field]
        if len(text) < low:
            out.append(Finding(field, "too_short", f"{len(text)} characters < {low}"))
        elif len(text) > high:
            out.append(Finding(field, "too_long", f"{len(text)} characters > {high}"))
        if field in LIST_FIELDS:
            items = re.findall(r"'((?:[^'\\]|\\.)*)'", text)
            if not (text.startswith("[") and text.endswith("]")) or not 2 <= len(items) <= 8 \
                    or any(not i.strip() for i in items):
                out.append(Finding(field, "bad_list", _clip(text)))
        if field in NAMED_FIELDS and persona["name"] not in text:
            out.append(Finding(field, "name_missing", f"{persona['name']!r} not in the text"))
        # Hangul syllables are 3 bytes in UTF-8 and ASCII 1: the byte surplus counts them without a scan
        foreign_chars = _FOREIGN.findall(text)
        foreign = len(foreign_chars)
        wide = (len(text.encode()) - len(text)) // 2
        hangul = wide - foreign + sum(1 for ch in foreign_chars if ch.isascii())
        if hangul <= 0 or hangul < 0.7 * (hangul + foreign):
            out.append(Finding(field, "low_hangul", f"about {max(hangul, 0)} Hangul of {max(hangul, 0) + foreign} letters"))
        return out


def _join(texts: Mapping[str, str], fields: list[str]) -> tuple[str, list[int]]:
    starts, pos = [], 0
    for field in fields:
        starts.append(pos)
        pos += len(texts[field]) + 1
    return "\n".join(texts[f] for f in fields), starts


def _content(persona: Mapping[str, Any], joined: str, starts: list[int], fields: list[str],
             texts: Mapping[str, str]) -> list[Finding]:
    out: list[Finding] = []

    def at(pos: int) -> str:
        return fields[bisect_right(starts, pos) - 1]

    def about_someone_else(pos: int, end: int | None = None) -> bool:
        line_start = joined.rfind("\n", 0, pos) + 1
        if _KIN_BEFORE.search(joined[max(line_start, pos - 12):pos]):
            return True
        return end is not None and bool(_KIN_AFTER.match(joined, end))  # "60세 어머니"

    if "@" in joined and _PII_EMAIL.search(joined):
        out.append(Finding(at(_PII_EMAIL.search(joined).start()), "pii", "an e-mail address"))  # never echo PII
    if _DIGITS.search(joined):
        for m in _PII_NUMBER.finditer(joined):
            out.append(Finding(at(m.start()), "pii", "a phone, resident-registration or card number"))
    age = persona["age"]
    for m in _AGE.finditer(joined):
        stated = int(m.group(1))
        if abs(stated - age) > 1 and stated >= 15 and not about_someone_else(m.start(), m.end()):
            out.append(Finding(at(m.start()), "age_mismatch", f"{m.group(0)!r} for a {age}-year-old"))
    birth_year = persona.get("birth_year")
    if birth_year and "년생" in joined:
        for m in _BIRTH_YEAR.finditer(joined):
            if abs(int(m.group(1)) - birth_year) > 1 and not about_someone_else(m.start(), m.end()):
                out.append(Finding(at(m.start()), "age_mismatch", f"{m.group(0)!r} for someone born in {birth_year}"))
    for m in _DECADE.finditer(joined) if "0대" in joined else ():
        after = joined[m.end():m.end() + 16]
        if after.startswith(_DECADE_PAST) or not _DECADE_SELF.match(after) and not after.startswith(("입니다", "이다")):
            continue
        if int(m.group(1)) != age // 10 * 10 and not about_someone_else(m.start()):
            out.append(Finding(at(m.start()), "age_mismatch", f"{m.group(0).strip()!r} for a {age}-year-old"))
    female = persona["sex"] == "여자"
    wrong_self = _MALE_SELF if female else _FEMALE_SELF
    for m in wrong_self.finditer(joined):
        out.append(Finding(at(m.start()), "sex_mismatch", f"{m.group(0).strip()!r} for a {persona['sex']}"))
    wrong_spouse = _WIFE if female else _HUSBAND
    for m in wrong_spouse.finditer(joined):
        if not about_someone_else(m.start()):
            out.append(Finding(at(m.start()), "sex_mismatch", f"{m.group(0)!r} as the spouse of a {persona['sex']}"))
    if persona.get("marital_status") == "미혼":
        right_spouse = _HUSBAND if female else _WIFE
        for m in right_spouse.finditer(joined):
            if not about_someone_else(m.start()):
                out.append(Finding(at(m.start()), "marital_mismatch", f"{m.group(0)!r} for a never-married person"))
    out.extend(_regions(persona, joined, at))
    out.extend(_jobs(persona, joined, at, texts))
    out.extend(_military(persona, joined, at, about_someone_else))
    return out


def _regions(persona: Mapping[str, Any], joined: str, at) -> list[Finding]:
    everything, by_province, by_district = _places()
    allowed = by_district.get(persona.get("district_label") or "") or by_province.get(persona["province"], frozenset())
    out = []
    for m in _RESIDENCE.finditer(joined):
        line_start = joined.rfind("\n", 0, m.start()) + 1
        words = joined[max(line_start, m.start() - 40):m.start()].split()
        if m.group(0) in ("토박이", "주민으로", "주민인"):
            candidates = words[-1:]
        else:  # the last word ending in 에/에서 before the verb, skipping adverbs
            candidates = []
            for word in reversed(words[-5:]):
                if word in _RESIDENCE_FILLERS:
                    continue
                if word.endswith(("에서", "에")):
                    candidates = [word, *candidates]
                    continue
                if candidates:
                    candidates = [word, *candidates]  # "부산 해운대구에" — the words before it too
                break
        for word in candidates[-3:]:
            word = _strip_particle(word)
            if word in everything and word not in allowed:
                out.append(Finding(at(m.start()), "region_mismatch",
                                   f"lives in {word!r} but the record says {persona.get('district_label') or persona['province']}"))
                break
    return out


def _claimed_title(words: list[str]) -> str | None:
    """The longest official/everyday occupation word ending the phrase ``words``."""
    titles = _job_titles()
    text = _normalise_job(" ".join(words))
    for start in range(max(0, len(text) - 16), len(text) - 1):
        candidate = text[start:]
        if candidate in titles:
            return candidate
    return None


def _job_consistent(persona: Mapping[str, Any], title: str) -> bool:
    record = _normalise_job(persona.get("occupation") or "")
    if record and (title in record or record in title):
        return True
    return persona.get("occupation_sub_major") in _job_titles().get(title, ())


def _jobs(persona: Mapping[str, Any], joined: str, at, texts: Mapping[str, str]) -> list[Finding]:
    out = []
    claims: list[tuple[int, list[str]]] = []
    for m in _JOB_VERB.finditer(joined):
        line_start = joined.rfind("\n", 0, m.start()) + 1
        words = joined[max(line_start, m.start() - 40):m.start()].split()
        while words and words[-1] in _JOB_FILLERS:
            words.pop()
        if words and words[-1].endswith("로"):
            last = words[-1][:-2] if words[-1].endswith("으로") else words[-1][:-1]
            claims.append((m.start(), [*words[-4:-1], last]))
    summary = texts.get("persona")
    if summary:
        tail = summary.rstrip().rstrip(".")
        for ending in ("입니다", "이다"):
            if tail.endswith(ending):
                claims.append((joined.find(summary), tail[: -len(ending)].split()[-3:]))
                break
    employed = persona.get("employed", True)
    for pos, words in claims:
        title = _claimed_title(words)
        if title is None:
            continue
        if not employed and persona.get("occupation_group") != "conscript":
            out.append(Finding(at(pos), "occupation_mismatch",
                               f"works as {title!r} but the record has no job ({persona.get('occupation')})"))
        elif not _job_consistent(persona, title):
            out.append(Finding(at(pos), "occupation_mismatch",
                               f"works as {title!r} but the record says {persona.get('occupation')!r}"))
    return out


def _military(persona: Mapping[str, Any], joined: str, at, about_someone_else) -> list[Finding]:
    service = persona.get("military_service")
    serving_ok = persona.get("military_status") == "현역" or service in ("현역병", "직업군인", "사회복무요원")
    female = persona["sex"] == "여자"
    out = []
    if not serving_ok and ("복무" in joined or "군 생활" in joined or "현역" in joined):
        for m in _SERVING.finditer(joined):
            if not about_someone_else(m.start()):
                out.append(Finding(at(m.start()), "military_mismatch",
                                   f"{m.group(0)!r} but the record is {persona.get('military_status')}"
                                   + (f" ({service})" if service else "")))
    if ((female and service != "직업군인") or service in ("면제", "해당없음", "미필")) and \
            ("전역" in joined or "제대" in joined or "마치" in joined or "마친" in joined):
        for m in _SERVED.finditer(joined):
            if not about_someone_else(m.start()):
                out.append(Finding(at(m.start()), "military_mismatch",
                                   f"{m.group(0)!r} for a {'woman' if female else service}"))
    return out


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
