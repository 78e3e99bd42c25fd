"""The ``model`` survey backend: a demographic response model fitted to published cross-tabs.

For a question with published answer shares by several group variables (say by sex and by age band), the
model gives every cell of those variables (남자 × 30-39 …) an answer distribution, fitted by iterative
proportional fitting so that, over the population's cells, it reproduces each published table:

    X[cell, answer]   starts at  W[cell] / k         (W: the population's count in each cell)
    repeat:           for each group variable g, scale X so that Σ_{cells in level l} X[·, a] = W_g[l] · T_g[l, a]
                      and rescale each cell to its total W[cell]

This is the main-effects log-linear model ``log P(a | cell) = λ_a + Σ_g λ_{a, g(cell)} − log Z(cell)``: the
maximum-entropy distribution with those margins, so no interaction the tables do not show is invented
(e.g. how age effects differ between men and women). Where the tables disagree with each other through the
population (their implied national totals differ), IPF cannot meet them all; the largest remaining gap is
reported in ``fit_report``.

Respondents then answer by a seeded draw from their cell's distribution, and the distribution itself is
returned too (``Answers.probabilities``). It runs fully offline and is the baseline any LLM must beat.
A model can also be given directly (:meth:`ResponseModel.from_probabilities`): a planted model for testing
that the pipeline recovers it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from ingu.simulate.backend import Answers
from ingu.simulate.groups import KGSS_AGE_BANDS, group_labels, level_codes
from ingu.simulate.questionnaire import Question, QuestionnaireError
from ingu.simulate.survey_results import reference_shares

MAX_ITERATIONS = 500
TOLERANCE = 1e-9


@dataclass
class ResponseModel:
    """Answer distributions for every cell of ``group_vars`` (levels in ``levels``).

    ``probabilities`` has shape ``(len(levels[g1]), len(levels[g2]), …, k)``; each cell's last axis sums to 1.
    """

    group_vars: tuple[str, ...]
    levels: dict[str, list[str]]
    probabilities: np.ndarray
    fit_report: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_probabilities(cls, group_vars: Sequence[str], levels: Mapping[str, Sequence[str]],
                           probabilities: np.ndarray) -> ResponseModel:
        """A given (e.g. planted) model; checks shapes and normalisation."""
        p = np.asarray(probabilities, dtype=float)
        shape = tuple(len(levels[g]) for g in group_vars)
        if p.shape[:-1] != shape:
            raise ValueError(f"probabilities have shape {p.shape}; expected {shape} + (choices,)")
        if (p < 0).any() or not np.allclose(p.sum(-1), 1.0):
            raise ValueError("each cell's probabilities must be non-negative and sum to 1")
        return cls(tuple(group_vars), {g: list(levels[g]) for g in group_vars}, p, {"source": "given"})

    def cells(self, table: pa.Table) -> np.ndarray:
        """Flat cell index of every row of ``table`` (−1 where a row falls outside the levels)."""
        shape = self.probabilities.shape[:-1]
        flat = np.zeros(table.num_rows, dtype=np.int64)
        inside = np.ones(table.num_rows, dtype=bool)
        for axis, g in enumerate(self.group_vars):
            labels = group_labels(table, g, self.levels[g] if g == "age_band" else None)
            codes = level_codes(labels, self.levels[g])
            inside &= codes >= 0
            flat = flat * shape[axis] + np.maximum(codes, 0)
        return np.where(inside, flat, -1)

    def respondent_probabilities(self, table: pa.Table) -> np.ndarray:
        """(rows, k) answer distributions; NaN rows for respondents outside the model's cells."""
        flat = self.probabilities.reshape(-1, self.probabilities.shape[-1])
        cells = self.cells(table)
        out = flat[np.maximum(cells, 0)].copy()
        out[cells < 0] = np.nan
        return out


def fit_response_model(targets: Mapping[str, Mapping[str, np.ndarray]], population: np.ndarray,
                       group_vars: Sequence[str], levels: Mapping[str, Sequence[str]], *,
                       calibration: np.ndarray | None = None, max_iterations: int = MAX_ITERATIONS,
                       tolerance: float = TOLERANCE) -> ResponseModel:
    """Fit the main-effects model by IPF (see the module docstring).

    Parameters
    ----------
    targets : mapping
        ``targets[g][level]`` = answer shares (k,) of that level of group variable ``g``.
    population : ndarray
        Counts (or weights) of the population in each cell, shape ``(len(levels[g]) for g in group_vars)``.
    group_vars, levels
        The cell axes and their level labels, in ``population``'s axis order.
    calibration : ndarray, optional
        National answer shares (k,) to recalibrate to after the fit: IPF on the answer margin alone, which
        shifts each answer's intercept and keeps every group effect (the fitted log-odds contrasts).
    """
    population = np.asarray(population, dtype=float)
    k = len(next(iter(next(iter(targets.values())).values())))
    x = np.repeat(population[..., None] / k, k, axis=-1)
    margins = []
    for axis, g in enumerate(group_vars):
        missing = [level for level in levels[g] if level not in targets[g]]
        if missing:
            raise QuestionnaireError(f"no published shares for {g} = {', '.join(missing)}")
        shares = np.stack([np.asarray(targets[g][level], dtype=float) for level in levels[g]])  # (L, k)
        level_total = population.sum(axis=tuple(a for a in range(population.ndim) if a != axis))
        margins.append((axis, level_total[:, None] * shares))  # target counts (L, k)
    gap = np.inf
    for iteration in range(1, max_iterations + 1):
        for axis, target in margins:
            other = tuple(a for a in range(population.ndim) if a != axis)
            current = x.sum(axis=other)  # (L, k)
            ratio = np.divide(target, current, out=np.zeros_like(target), where=current > 0)
            x *= np.expand_dims(ratio, other)
        cell_total = x.sum(-1)
        x *= np.divide(population, cell_total, out=np.zeros_like(population), where=cell_total > 0)[..., None]
        gap = max(float(np.abs(x.sum(axis=tuple(a for a in range(population.ndim) if a != axis)) - target).max())
                  for axis, target in margins) / max(population.sum(), 1.0)
        if gap < tolerance:
            break
    report = {"iterations": iteration, "max_margin_gap": gap, "converged": gap < 1e-6,
              "note": None if gap < 1e-6 else
              "the published tables imply different national totals over this population; IPF met them "
              f"only to within {gap:.2%} of the population"}
    if calibration is not None:
        target = population.sum() * np.asarray(calibration, dtype=float) / np.sum(calibration)
        every_cell = tuple(range(population.ndim))
        for _ in range(max_iterations):
            current = x.sum(axis=every_cell)
            x *= np.divide(target, current, out=np.zeros_like(target), where=current > 0)
            cell_total = x.sum(-1)
            x *= np.divide(population, cell_total, out=np.zeros_like(population), where=cell_total > 0)[..., None]
            if np.abs(x.sum(axis=every_cell) - target).max() / max(population.sum(), 1.0) < tolerance:
                break
        report["calibrated_gap"] = float(np.abs(x.sum(axis=every_cell) - target).max() / max(population.sum(), 1.0))
    totals = x.sum(-1, keepdims=True)
    probabilities = np.divide(x, totals, out=np.full_like(x, 1.0 / k), where=totals > 0)
    return ResponseModel(tuple(group_vars), {g: list(levels[g]) for g in group_vars}, probabilities, report)


class ModelSurveyBackend:
    """Answer with response models fitted to each question's ``model`` link (or given per question).

    Parameters
    ----------
    population : pa.Table
        The records the cells' population counts come from (the personas file the sample is drawn from).
    seed : int
        Seeds the draws; each question draws from its own stream (seed, question id).
    models : mapping, optional
        question id → a :class:`ResponseModel` to use instead of fitting one (planted models).
    """

    name = "model"

    def __init__(self, population: pa.Table, *, seed: int = 0,
                 models: Mapping[str, ResponseModel] | None = None) -> None:
        self.population = population
        self.seed = seed
        self.models: dict[str, ResponseModel] = dict(models or {})

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "seed": self.seed,
                "models": {qid: {"group_vars": list(m.group_vars), **m.fit_report} for qid, m in self.models.items()}}

    def model_for(self, question: Question) -> ResponseModel:
        """The question's model: given, or fitted to its ``model`` link (once)."""
        if question.id in self.models:
            return self.models[question.id]
        link = question.model
        if link is None:
            raise QuestionnaireError(f"question {question.id!r}: the model backend needs a 'model:' link to "
                                     "published answer shares (table, year, question_id, groups)")
        if question.type not in ("single", "likert"):
            raise QuestionnaireError(f"question {question.id!r}: the model backend answers single and likert "
                                     f"questions only (this one is {question.type})")
        shares = reference_shares(link, question, group_vars=link.groups)
        targets, levels = {}, {}
        for g in link.groups:
            groups = {label: s for label, s in shares.get(g, {}).items() if s.complete}
            if not groups:
                raise QuestionnaireError(f"question {question.id!r}: {link.table} {link.question_id} {link.year} "
                                         f"has no complete answer distribution by {g}")
            targets[g] = {label: s.shares for label, s in groups.items()}
            levels[g] = list(groups) if g != "age_band" else [b for b in KGSS_AGE_BANDS if b in groups] or list(groups)
        population = self._cell_counts(link.groups, levels)
        calibration, calibrated_to = None, ""
        if link.calibrate_to is not None:
            national = reference_shares(link.calibrate_to, question, group_vars=["total"]).get("total", {})
            total = national.get("전체")
            if total is None or not total.complete:
                raise QuestionnaireError(f"question {question.id!r}: calibrate_to ({link.calibrate_to.table} "
                                         f"{link.calibrate_to.year}) has no complete national distribution")
            calibration = total.shares
            calibrated_to = f"; recalibrated to the national total of {link.calibrate_to.table} {link.calibrate_to.year}"
        model = fit_response_model(targets, population, link.groups, levels, calibration=calibration)
        model.fit_report["source"] = (f"{link.table} {link.question_id} {link.year} by {', '.join(link.groups)}"
                                      + calibrated_to)
        self.models[question.id] = model
        return model

    def answer(self, sample: pa.Table, personas: list[dict[str, Any]] | None, question: Question) -> Answers:
        model = self.model_for(question)
        probabilities = model.respondent_probabilities(sample)
        outside = np.isnan(probabilities).any(axis=1)
        rng = np.random.default_rng([self.seed, _stable(question.id)])
        cumulative = np.cumsum(np.nan_to_num(probabilities), axis=1)
        draws = rng.random(sample.num_rows)[:, None]
        choice = np.minimum((draws > cumulative).sum(axis=1), len(question.choices) - 1)
        choice[outside] = -1
        answers = Answers(question, sample.num_rows, choice=choice, probabilities=probabilities)
        answers.status[outside] = "failed"
        answers.method[outside] = "failed"
        for i in np.flatnonzero(outside):
            answers.error[i] = "outside the model: the respondent's group has no published shares"
        return answers

    def close(self) -> None:
        pass

    def _cell_counts(self, group_vars: Sequence[str], levels: Mapping[str, Sequence[str]]) -> np.ndarray:
        probe = ResponseModel(tuple(group_vars), {g: list(levels[g]) for g in group_vars},
                              np.zeros(tuple(len(levels[g]) for g in group_vars) + (1,)))
        cells = probe.cells(self.population)
        size = int(np.prod([len(levels[g]) for g in group_vars]))
        counts = np.bincount(cells[cells >= 0], minlength=size).astype(float)
        return counts.reshape(tuple(len(levels[g]) for g in group_vars))


def _stable(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
