"""Questionnaires: a YAML file of questions asked of every sampled persona.

A questionnaire::

    id: kgss_2016
    title: KGSS 2016 — 7 items
    questions:
      - id: PARTYLR
        type: likert                # single | likert | multi | numeric | open
        text: 귀하는 정치적으로 어느 쪽에 속한다고 생각하십니까?
        choices: [매우 진보적, 다소 진보적, 중도, 다소 보수적, 매우 보수적, 모르겠다]
        off_scale: [모르겠다]       # not a point of the ordered scale
        reference:                  # the real results to validate against (ingu.reference survey tables)
          table: survey_kgss_by_group
          survey: KGSS (한국종합사회조사)
          year: 2016
          question_id: PARTYLR
        model:                      # what the offline `model` backend is fitted to
          table: survey_kgss_by_group
          year: 2014
          groups: [sex, age_band]
      - id: TRUST_NUM
        type: numeric
        text: 0에서 10 사이로 답해 주십시오.
        min: 0
        max: 10
      - id: HOBBIES
        type: multi
        choices: [독서, 운동, 여행]
        max_choices: 2

Choices of ``single`` / ``likert`` / ``multi`` questions are matched to a reference table's answer labels
by text after dropping their leading code (``"1 매우 진보적"`` ↔ ``"매우 진보적"``) unless ``reference.answers``
lists the table's labels one per choice. Likert choices are ordered (first to last) — the order the
ordinal Wasserstein score uses.

:func:`load_questionnaire` reports every problem with the file, the question's id (or position) and the
field: an unknown type, empty or repeated choices, repeated ids, a ``max_choices`` or range that cannot hold.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

QUESTION_TYPES: tuple[str, ...] = ("single", "likert", "multi", "numeric", "open")
#: Types whose answers are one or more of ``choices``.
CHOICE_TYPES: frozenset[str] = frozenset({"single", "likert", "multi"})
_CODE_PREFIX = re.compile(r"^\s*-?\d+\s+")


class QuestionnaireError(ValueError):
    """A questionnaire that cannot be used; the message names the file, the question and the field."""


class ReferenceLink(BaseModel):
    """Where the real answers to a question are: rows of an ``ingu.reference`` survey table."""

    model_config = ConfigDict(extra="forbid")

    table: str = "survey_kgss_by_group"
    survey: str | None = None
    year: int | str
    question_id: str
    #: The table's answer labels, one per choice, when they differ from the choices' text.
    answers: list[str] | None = None


class ModelLink(ReferenceLink):
    """What the ``model`` backend is fitted to: a reference question's answer shares by ``groups``, optionally
    recalibrated to a national distribution (``calibrate_to``, e.g. a later year's published total): the group
    effects are kept and only the answers' overall levels move."""

    groups: list[str] = Field(default_factory=lambda: ["sex", "age_band"])
    calibrate_to: ReferenceLink | None = None


class Question(BaseModel):
    """One question. ``choices`` for single / likert / multi; ``min`` / ``max`` for numeric."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    type: Literal["single", "likert", "multi", "numeric", "open"]
    text: str = Field(min_length=1)
    choices: list[str] = Field(default_factory=list)
    max_choices: int | None = None
    min: float | None = None
    max: float | None = None
    unit: str | None = None
    #: likert choices that are not points of the scale (``모르겠다``): left out of ordinal scores
    off_scale: list[str] = Field(default_factory=list)
    reference: ReferenceLink | None = None
    model: ModelLink | None = None

    @property
    def ordered(self) -> bool:
        """Whether the choices are an ordered scale (likert)."""
        return self.type == "likert"

    @property
    def scale(self) -> list[int]:
        """Indices of the choices on the ordered scale (likert; all but ``off_scale``), in order."""
        return [j for j, c in enumerate(self.choices) if c not in self.off_scale] if self.ordered else []


class Questionnaire(BaseModel):
    """A titled list of questions with unique ids."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    title: str = ""
    instructions: str = ""
    questions: list[Question]
    source: str | None = None  # the file it was read from (set by load_questionnaire)

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(f"no question {question_id!r} in questionnaire {self.id!r}")


def strip_code(label: str) -> str:
    """A reference answer label without its leading numeric code: ``"1 매우 만족"`` → ``"매우 만족"``."""
    return _CODE_PREFIX.sub("", label).strip()


def load_questionnaire(path: str | os.PathLike[str]) -> Questionnaire:
    """Read and check a questionnaire YAML file (see the module docstring)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise QuestionnaireError(f"{path}: no such questionnaire file") from None
    except UnicodeDecodeError as exc:
        raise QuestionnaireError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise QuestionnaireError(f"{path}:{where} not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return parse_questionnaire(data, source=str(path))


def parse_questionnaire(data: Any, *, source: str = "<questionnaire>") -> Questionnaire:
    """Check a questionnaire given as plain data (what the YAML file holds)."""
    if not isinstance(data, dict):
        raise QuestionnaireError(f"{source}: a questionnaire is a mapping with 'id' and 'questions'")
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        raise QuestionnaireError(f"{source}: 'questions' must be a non-empty list")
    questions = [_parse_question(raw, i, source) for i, raw in enumerate(raw_questions, start=1)]
    seen: dict[str, int] = {}
    for i, q in enumerate(questions, start=1):
        if q.id in seen:
            raise QuestionnaireError(f"{source}: question {q.id!r} (#{i}): duplicate id (also question #{seen[q.id]})")
        seen[q.id] = i
    rest = {k: v for k, v in data.items() if k != "questions"}
    try:
        return Questionnaire(**rest, questions=questions, source=source)
    except ValidationError as exc:
        raise QuestionnaireError(f"{source}: {_first_error(exc)}") from None


def _parse_question(raw: Any, index: int, source: str) -> Question:
    if not isinstance(raw, dict):
        raise QuestionnaireError(f"{source}: question #{index}: expected a mapping, got {type(raw).__name__}")
    label = f"question {raw['id']!r} (#{index})" if isinstance(raw.get("id"), str) else f"question #{index}"
    kind = raw.get("type")
    if kind not in QUESTION_TYPES:
        raise QuestionnaireError(f"{source}: {label}: unknown type {kind!r}; known: {', '.join(QUESTION_TYPES)}")
    try:
        question = Question(**raw)
    except ValidationError as exc:
        raise QuestionnaireError(f"{source}: {label}: {_first_error(exc)}") from None
    problem = _question_problem(question)
    if problem:
        raise QuestionnaireError(f"{source}: {label}: {problem}")
    return question


def _question_problem(q: Question) -> str | None:
    if q.type in CHOICE_TYPES:
        if len(q.choices) < 2:
            return f"a {q.type} question needs at least 2 choices (got {len(q.choices)})"
        blank = [i for i, c in enumerate(q.choices, start=1) if not c.strip()]
        if blank:
            return f"choice #{blank[0]} is empty"
        repeated = sorted({c for c in q.choices if q.choices.count(c) > 1})
        if repeated:
            return f"repeated choice(s): {', '.join(map(repr, repeated))}"
    elif q.choices:
        return f"a {q.type} question takes no choices"
    stray = [c for c in q.off_scale if c not in q.choices]
    if stray:
        return f"off_scale lists {stray}, which are not choices"
    if q.off_scale and q.type != "likert":
        return "off_scale applies to likert questions only"
    if q.max_choices is not None:
        if q.type != "multi":
            return "max_choices applies to multi questions only"
        if not 1 <= q.max_choices <= len(q.choices):
            return f"max_choices must be between 1 and {len(q.choices)} (got {q.max_choices})"
    if q.type == "numeric":
        if q.min is None or q.max is None:
            return "a numeric question needs min and max"
        if not q.min < q.max:
            return f"min ({q.min:g}) must be below max ({q.max:g})"
    elif q.min is not None or q.max is not None:
        return "min / max apply to numeric questions only"
    for link_name in ("reference", "model"):
        link = getattr(q, link_name)
        if link is not None:
            if q.type not in ("single", "likert"):
                return f"{link_name}: only single and likert questions can be linked to answer shares"
            if link.answers is not None and len(link.answers) != len(q.choices):
                return (f"{link_name}.answers lists {len(link.answers)} labels for {len(q.choices)} choices; "
                        "give one per choice")
    return None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "value"
    if err["type"] == "extra_forbidden":
        return f"unknown field {where!r}"
    if err["type"] == "missing":
        return f"missing field {where!r}"
    return f"{where}: {err['msg']}"
