"""The survey backend interface and the answers it returns.

A backend answers one question for every sampled respondent at once::

    answers = backend.answer(sample, personas, question)

``sample`` is the respondents' record table (Arrow, one row per respondent, NPK columns), ``personas`` the
same rows as persona dicts (:func:`ingu.narrate.persona.build_personas` plus the narrative fields, for
prompting; backends that do not prompt ignore it). Every backend — ``model`` (offline, a demographic response
model), ``local`` and ``openai`` (LLMs) — returns :class:`Answers`: one entry per respondent, never fewer, with a
status and, for a failed one, its error; nothing is dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from ingu.simulate.questionnaire import Question

#: How an answer came about: a distribution read from log-probabilities, a choice constrained while
#: decoding, a parsed free answer (after ``retries``), a draw from a response model, or none.
METHODS: tuple[str, ...] = ("logprobs", "constrained", "parsed", "model", "failed")
STATUSES: tuple[str, ...] = ("ok", "retried", "failed")


@dataclass
class Answers:
    """Answers of ``n`` respondents to one question.

    Attributes
    ----------
    choice : int array (n,), or None
        single / likert: the chosen index into ``question.choices``; −1 where the answer failed.
    probabilities : float array (n, k), or None
        single / likert: each respondent's answer distribution when the backend knows it (log-probabilities,
        a response model); rows of failed answers are NaN. Estimates use it when present (less noise).
    selected : bool array (n, k), or None
        multi: which choices each respondent picked (all False where failed).
    value : float array (n,), or None
        numeric: the answer, NaN where failed.
    text : list of str, or None
        open (and the raw answer of any type when a backend keeps it).
    status, method : str arrays (n,)
        :data:`STATUSES` and :data:`METHODS`.
    error : list of str or None
        Why an answer failed (None where it did not).
    retries : int array (n,)
        Re-asks spent on the answer.
    """

    question: Question
    n: int
    choice: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    selected: np.ndarray | None = None
    value: np.ndarray | None = None
    text: list[str | None] | None = None
    status: np.ndarray = field(default=None)  # type: ignore[assignment]
    method: np.ndarray = field(default=None)  # type: ignore[assignment]
    error: list[str | None] = field(default=None)  # type: ignore[assignment]
    retries: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.status is None:
            self.status = np.full(self.n, "ok", dtype=object)
        if self.method is None:
            self.method = np.full(self.n, "model", dtype=object)
        if self.error is None:
            self.error = [None] * self.n
        if self.retries is None:
            self.retries = np.zeros(self.n, dtype=np.int16)
        for name in ("choice", "value", "status", "method", "retries"):
            array = getattr(self, name)
            if array is not None and len(array) != self.n:
                raise ValueError(f"Answers.{name} has {len(array)} entries for {self.n} respondents")

    @property
    def answered(self) -> np.ndarray:
        """Bool mask of respondents whose answer did not fail."""
        return self.status != "failed"

    def column(self) -> pa.Array:
        """The answers as one Arrow column: the choice's text (single / likert), a list of texts (multi),
        a float (numeric) or the text (open); null where the answer failed."""
        q = self.question
        ok = self.answered
        if q.type in ("single", "likert"):
            labels = np.array(q.choices, dtype=object)
            values = [labels[c] if good and c >= 0 else None for c, good in zip(self.choice, ok)]
            return pa.array(values, pa.string())
        if q.type == "multi":
            labels = q.choices
            return pa.array([[labels[j] for j in np.flatnonzero(row)] if good else None
                             for row, good in zip(self.selected, ok)], pa.list_(pa.string()))
        if q.type == "numeric":
            return pa.array(np.where(ok, self.value, np.nan), pa.float64(), mask=~ok | np.isnan(self.value))
        return pa.array([t if good else None for t, good in zip(self.text or [None] * self.n, ok)], pa.string())

    def counts(self) -> dict[str, Any]:
        """Status / method / error tallies for the run manifest."""
        from collections import Counter

        errors = Counter(e.split(":")[0] for e in self.error if e)
        return {"respondents": self.n, "statuses": dict(Counter(self.status.tolist())),
                "methods": dict(Counter(self.method.tolist())), "retries": int(self.retries.sum()),
                "errors": dict(errors)}


class SurveyBackend(Protocol):
    """Answers questions for a table of respondents (see the module docstring)."""

    name: str

    def describe(self) -> dict[str, Any]:
        """Settings worth recording in the run manifest (never secrets)."""
        ...

    def answer(self, sample: pa.Table, personas: list[dict[str, Any]] | None, question: Question) -> Answers:
        """Answers of every row of ``sample`` to ``question``; never raises for one respondent's failure."""
        ...

    def close(self) -> None:
        """Release servers, threads and caches."""
        ...
