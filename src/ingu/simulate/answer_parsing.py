"""Reading an LLM's answer to one survey question: log-probabilities, constrained output, free text.

Three ways an answer comes back, in the order the LLM backends try them (:mod:`ingu.simulate.llm_backend`):

log-probabilities (single / likert with at most 9 choices)
    The model is asked for one choice number and the server's ``top_logprobs`` of the first generated token
    are read: :func:`first_token_logprobs` accepts OpenAI's chat form (``logprobs.content[0].top_logprobs``,
    also what llama.cpp's server returns for ``/v1/completions``) and the legacy completions form
    (``logprobs.top_logprobs[0]`` as ``{token: logprob}``); :func:`choice_distribution` sums the
    probability of the tokens that spell each choice number and normalises. Ten or more choices would need
    two tokens (``"1"`` then ``"0"``), so those questions skip this step.
constrained output
    :func:`response_format` (a JSON schema ``{"answer": …}`` for chat servers) or :func:`gbnf` (a llama.cpp
    grammar for completions) restrict what the model may write; the answer is still checked by
    :func:`parse_answer`, since a server may ignore a constraint it does not know.
free text
    :func:`parse_answer` reads a choice number, a choice's text (exactly, then fuzzily), a list of numbers, a
    number in range or a Korean sentence, and raises :class:`AnswerProblem` saying what was wrong — the
    backend re-asks with that as feedback.

Only keywords every structured-output server knows go into the JSON schemas (``type``, ``enum``,
``required``, ``additionalProperties``): ranges and list lengths are checked here instead, so that a server
that rejects ``minimum`` or ``maxItems`` in strict mode does not cost the constraint.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingu.simulate.questionnaire import Question

#: Largest number of choices answered by log-probabilities (choice numbers must be one token each).
MAX_LOGPROB_CHOICES = 9
#: Integer ranges up to this wide are spelled out in numeric grammars (wider ones: digits, range checked after).
MAX_GRAMMAR_INTEGERS = 200
#: Characters an open answer must / may have (longer ones are cut at the last sentence end before it).
OPEN_MIN_CHARS, OPEN_MAX_CHARS = 2, 300

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_NUMBER = re.compile(r"(?<![\d.])-?\d+(?:,\d{3})*(?:\.\d+)?")
_LEADING_CHOICE = re.compile(r"^\s*(?:답\s*[:：]?\s*)?(\d+)\s*(?:번|[.)\]:]|$|\s)")
_NUMBERED = re.compile(r"(\d+)\s*번")
_CHOICE_TOKEN = re.compile(r"^(\d+)[.)]?$")
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


class AnswerProblem(ValueError):
    """An answer that cannot be used. ``kind`` starts the respondent's error message (``"unusable answer"``,
    ``"out of range"``, ``"too many choices"``); ``str()`` says what was wrong, in words the re-ask can quote."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


@dataclass(frozen=True)
class ParsedAnswer:
    """One respondent's usable answer: ``choice`` (0-based, single / likert), ``selected`` (0-based indices,
    multi), ``value`` (numeric) or ``text`` (open)."""

    choice: int | None = None
    selected: tuple[int, ...] | None = None
    value: float | None = None
    text: str | None = None


# --- what to ask for ------------------------------------------------------------------------------------------


def choice_labels(question: Question) -> list[str]:
    """The labels the model answers with: ``"1"`` … ``"k"``."""
    return [str(i) for i in range(1, len(question.choices) + 1)]


def answer_schema(question: Question) -> dict[str, Any]:
    """JSON schema of ``{"answer": …}`` for ``question`` (portable keywords only; see the module docstring)."""
    if question.type in ("single", "likert"):
        answer: dict[str, Any] = {"type": "string", "enum": choice_labels(question)}
    elif question.type == "multi":
        answer = {"type": "array", "items": {"type": "string", "enum": choice_labels(question)}}
    elif question.type == "numeric":
        answer = {"type": "number"}
    else:
        answer = {"type": "string"}
    return {"type": "object", "properties": {"answer": answer}, "required": ["answer"], "additionalProperties": False}


def response_format(question: Question) -> dict[str, Any]:
    """The OpenAI ``response_format`` asking for :func:`answer_schema`."""
    return {"type": "json_schema",
            "json_schema": {"name": "survey_answer", "schema": answer_schema(question), "strict": True}}


def gbnf(question: Question) -> str:
    """A llama.cpp GBNF grammar for the answer line, ending with a newline (the request stops there).

    single / likert: one choice number; multi: 1 … ``max_choices`` numbers joined by ``", "``; numeric: one
    of the range's integers (optionally with one decimal) when it is an integer range of at most
    :data:`MAX_GRAMMAR_INTEGERS`, else a number with as many integer digits as the range needs (the range
    itself is checked by :func:`parse_answer`); open: a line that starts with a Hangul syllable.
    """
    if question.type in ("single", "likert", "multi"):
        # longest labels first: "10" must not be read as "1" followed by a stray "0"
        labels = sorted(choice_labels(question), key=lambda s: (-len(s), s))
        number = " | ".join(f'"{label}"' for label in labels)
        if question.type == "multi":
            most = question.max_choices or len(question.choices)
            more = f' ("," " "? num){{0,{most - 1}}}' if most > 1 else ""
            return f'root ::= num{more} "\\n"\nnum ::= {number}'
        return f'root ::= ({number}) "\\n"'
    if question.type == "numeric":
        low, high = float(question.min), float(question.max)  # type: ignore[arg-type]
        if low.is_integer() and high.is_integer() and high - low <= MAX_GRAMMAR_INTEGERS:
            # a scale such as 0–10: exactly its integers (one decimal allowed, checked by parse_answer)
            numbers = sorted((str(i) for i in range(int(low), int(high) + 1)), key=lambda s: (-len(s), s))
            return "root ::= (" + " | ".join(f'"{n}"' for n in numbers) + ') ("." [0-9])? "\\n"'
        digits = len(str(int(max(abs(low), abs(high)))))
        sign = '"-"? ' if low < 0 else ""
        return f'root ::= {sign}[0-9]{{1,{digits}}} ("." [0-9]{{1,2}})? "\\n"'
    return 'root ::= [\\uAC00-\\uD7A3] [^\\n]{1,} "\\n"'


# --- log-probabilities ---------------------------------------------------------------------------------------


def first_token_logprobs(data: Mapping[str, Any]) -> list[tuple[str, float]] | None:
    """``(token, logprob)`` alternatives of the first generated token of a chat / completions response.

    Returns None when the response carries no log-probabilities at all (the server does not give them),
    and an empty list when it carries an empty set.
    """
    try:
        choice = data["choices"][0]
    except (KeyError, IndexError, TypeError):
        return None
    logprobs = choice.get("logprobs") if isinstance(choice, Mapping) else None
    if not isinstance(logprobs, Mapping):
        return None
    out: list[tuple[str, float]] = []
    content = logprobs.get("content")
    if isinstance(content, list):  # OpenAI chat form (and llama.cpp's completions)
        if not content or not isinstance(content[0], Mapping):
            return []
        first = content[0]
        for item in first.get("top_logprobs") or ():
            if isinstance(item, Mapping):
                _add(out, item.get("token"), item.get("logprob"))
        if not out:
            _add(out, first.get("token"), first.get("logprob"))
        return out
    top = logprobs.get("top_logprobs")  # legacy completions form: one {token: logprob} per position
    if isinstance(top, list):
        if top and isinstance(top[0], Mapping):
            for token, logprob in top[0].items():
                _add(out, token, logprob)
        return out
    return None


def _add(out: list[tuple[str, float]], token: Any, logprob: Any) -> None:
    if isinstance(token, str) and isinstance(logprob, int | float) and math.isfinite(logprob):
        out.append((token, float(logprob)))


def choice_distribution(top: Sequence[tuple[str, float]], k: int) -> tuple[np.ndarray, float]:
    """The answer distribution over ``k`` choices from first-token alternatives.

    A token counts for choice ``j`` (0-based) when, without surrounding whitespace, it is ``j + 1``, possibly
    followed by ``.`` or ``)``; tokens of the same choice add up. Returns the normalised distribution (k,) and
    the probability mass the choice tokens held before normalising (0 when none appeared: the distribution
    is then all zeros).
    """
    mass = np.zeros(k)
    seen: set[str] = set()
    for token, logprob in top:
        if token in seen:  # a server listing the sampled token twice must not count it twice
            continue
        seen.add(token)
        match = _CHOICE_TOKEN.match(token.strip())
        if match:
            j = int(match.group(1)) - 1
            if 0 <= j < k:
                mass[j] += math.exp(logprob)
    total = float(mass.sum())
    return (mass / total if total > 0 else mass), total


# --- free text -----------------------------------------------------------------------------------------------


def parse_answer(question: Question, text: str) -> ParsedAnswer:
    """Read ``text`` as an answer to ``question``; :class:`AnswerProblem` when it is not one.

    A JSON object's ``answer`` (a chat server's structured output, fenced or not) is read first.
    """
    raw = text.strip()
    if not raw:
        raise AnswerProblem("unusable answer", "the answer was empty")
    value: Any = _json_answer(raw)
    if value is None:
        value = raw
    if question.type in ("single", "likert"):
        return ParsedAnswer(choice=_one_choice(question, value))
    if question.type == "multi":
        return ParsedAnswer(selected=_many_choices(question, value))
    if question.type == "numeric":
        return ParsedAnswer(value=_number(question, value))
    return ParsedAnswer(text=_open_text(value))


def _json_answer(text: str) -> Any:
    match = _JSON_OBJECT.search(text)
    if not match:
        return None
    try:
        data = json.loads(match.group(0))
    except ValueError:
        return None
    return data.get("answer") if isinstance(data, dict) else None


def _one_choice(question: Question, value: Any) -> int:
    k = len(question.choices)
    if isinstance(value, bool):
        raise AnswerProblem("unusable answer", f"{value!r} is not a choice")
    if isinstance(value, int | float):
        return _in_choices(int(value), k) if float(value).is_integer() else _not_a_choice(str(value), k)
    if isinstance(value, list) and len(value) == 1:
        return _one_choice(question, value[0])
    if not isinstance(value, str):
        raise AnswerProblem("unusable answer", f"{_clip(json.dumps(value, ensure_ascii=False))} is not a choice")
    line = value.strip().splitlines()[0] if value.strip() else ""
    leading = _LEADING_CHOICE.match(line)
    if leading:
        named = {int(n) for n in _NUMBERED.findall(value)} | {int(leading.group(1))}
        if len(named) > 1:  # "2번 또는 3번": a hedge, not an answer
            raise AnswerProblem("unusable answer", f"{_clip(value)!r} names several choices "
                                                   f"({', '.join(map(str, sorted(named)))}); one is asked for")
        return _in_choices(int(leading.group(1)), k)
    by_text = _choice_by_text(question.choices, value)
    if by_text is not None:
        return by_text
    numbers = {int(n) for n in _integers(value)}
    in_range = sorted(n for n in numbers if 1 <= n <= k)
    if len(in_range) == 1:
        return in_range[0] - 1
    if len(in_range) > 1:
        raise AnswerProblem("unusable answer", f"{_clip(value)!r} names several choices "
                                               f"({', '.join(map(str, in_range))}); one is asked for")
    if numbers:
        return _in_choices(min(numbers), k)
    return _not_a_choice(value, k)


def _in_choices(number: int, k: int) -> int:
    if not 1 <= number <= k:
        raise AnswerProblem("out of range", f"{number} is not a choice number (1–{k})")
    return number - 1


def _not_a_choice(text: str, k: int) -> int:
    raise AnswerProblem("unusable answer", f"{_clip(text)!r} has no choice number (1–{k}) and no choice's text")


def _choice_by_text(choices: Sequence[str], text: str) -> int | None:
    """The choice whose text the answer contains (the longest such), else the closest first line (fuzzy)."""
    squeezed = _squeeze(text)
    found = [(len(c), j) for j, c in enumerate(choices) if _squeeze(c) and _squeeze(c) in squeezed]
    if found:
        return max(found)[1]
    first = _squeeze(text.strip().splitlines()[0]) if text.strip() else ""
    keys = [_squeeze(c) for c in choices]
    close = difflib.get_close_matches(first, keys, n=1, cutoff=0.75)
    return keys.index(close[0]) if close else None


def _many_choices(question: Question, value: Any) -> tuple[int, ...]:
    k = len(question.choices)
    most = question.max_choices or k
    if isinstance(value, list):
        items = [str(v) for v in value]
    elif isinstance(value, int | float) and not isinstance(value, bool):
        items = [str(value)]
    elif isinstance(value, str):
        items = [value]
    else:
        raise AnswerProblem("unusable answer", f"{_clip(str(value))!r} is not a list of choices")
    picked: list[int] = []
    for item in items:
        numbers = _integers(item)
        if numbers:
            for n in numbers:
                picked.append(_in_choices(int(n), k))
        else:
            j = _choice_by_text(question.choices, item)
            if j is None:
                raise AnswerProblem("unusable answer", f"{_clip(item)!r} has no choice numbers (1–{k})")
            picked.append(j)
    picked = list(dict.fromkeys(picked))
    if not picked:
        raise AnswerProblem("unusable answer", "no choice was picked")
    if len(picked) > most:
        raise AnswerProblem("too many choices", f"{len(picked)} choices picked; at most {most} are allowed")
    return tuple(sorted(picked))


def _number(question: Question, value: Any) -> float:
    if isinstance(value, bool):
        raise AnswerProblem("unusable answer", f"{value!r} is not a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        found = _NUMBER.findall(str(value))
        if not found:
            raise AnswerProblem("unusable answer", f"{_clip(str(value))!r} has no number")
        number = float(found[0].replace(",", ""))
    low, high = float(question.min), float(question.max)  # type: ignore[arg-type]
    if not math.isfinite(number) or not low <= number <= high:
        raise AnswerProblem("out of range", f"{number:g} is not between {low:g} and {high:g}")
    return number


def _open_text(value: Any) -> str:
    text = " ".join(str(value).split()).strip("\"'“”")
    if len(text) < OPEN_MIN_CHARS or not _HANGUL.search(text):
        raise AnswerProblem("unusable answer", f"{_clip(text)!r} is not an answer in Korean")
    if len(text) > OPEN_MAX_CHARS:
        cut = text[:OPEN_MAX_CHARS]
        ends = [m.end() for m in _SENTENCE_END.finditer(cut)]
        text = cut[: ends[-1]] if ends else cut
    return text


def _integers(text: str) -> list[str]:
    return [n for n in _NUMBER.findall(text) if "." not in n and "," not in n]


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _clip(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"
