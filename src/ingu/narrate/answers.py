"""Reading an LLM's answer: the JSON object of fields it was asked for, tolerant of the usual wrappers."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from ingu.narrate.fields import LIST_FIELDS, encode_list

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```\s*$")
_LIST_REPR_ITEM = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")


class AnswerError(ValueError):
    """An answer that is not a JSON object with the requested fields."""


def parse_answer(text: str, fields: Sequence[str]) -> dict[str, str]:
    """The requested ``fields`` from an answer ``text``; list fields come back in NPK's string form.

    Accepts a bare JSON object, one inside a Markdown code fence, or one surrounded by chatter. Fields that
    are present but empty or of the wrong type are left out (the caller counts them as failed); an answer
    without any JSON object raises :class:`AnswerError`.
    """
    data = _json_object(text)
    out: dict[str, str] = {}
    for field in fields:
        value = data.get(field)
        if field in LIST_FIELDS:
            items = _as_list(value)
            if items:
                out[field] = encode_list(items)
        elif isinstance(value, str) and value.strip():
            out[field] = " ".join(value.split())
    return out


def _json_object(text: str) -> dict:
    stripped = text.strip()
    if "```" in stripped:
        stripped = _FENCE.sub("", stripped)
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError:
        start, end = stripped.find("{"), stripped.rfind("}")
        if start < 0 or end <= start:
            raise AnswerError(f"no JSON object in the answer: {_clip(text)!r}") from None
        try:
            data = json.loads(stripped[start:end + 1])
        except json.JSONDecodeError as exc:
            raise AnswerError(f"malformed JSON ({exc.msg} at char {exc.pos}): {_clip(text)!r}") from None
    if not isinstance(data, dict):
        raise AnswerError(f"the answer is JSON but not an object: {_clip(text)!r}")
    return data


def _as_list(value: object) -> list[str]:
    if isinstance(value, list):
        items = [" ".join(str(v).split()) for v in value if isinstance(v, (str, int, float)) and str(v).strip()]
    elif isinstance(value, str) and value.strip().startswith("["):
        items = [a or b for a, b in _LIST_REPR_ITEM.findall(value)]
    elif isinstance(value, str) and value.strip():
        items = [part.strip() for part in re.split(r"[,\n·]", value) if part.strip()]
    else:
        items = []
    return [item for item in items if item]


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
