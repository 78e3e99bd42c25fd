"""Weighted answer shares overall and by group, with confidence intervals.

For a group with weights ``w`` the weighted share of an answer is ``Σ w·[answer] / Σ w``. Its interval is the
Wilson score interval at the group's Kish effective sample size ``(Σ w)² / Σ w²`` — the standard allowance
for unequal weights (it ignores the variance raking removes, so it errs on the wide side). Numeric answers
get the weighted mean with a linearised standard error. Failed answers are left out of every denominator
(their count is in ``failed``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
import pyarrow as pa
from scipy import stats

from ingu.simulate.backend import Answers
from ingu.simulate.groups import KGSS_AGE_BANDS, group_labels, level_codes, levels_present

DEFAULT_GROUPS: tuple[str, ...] = ("total", "sex", "age_band", "province", "region", "education")
COLUMNS = ("question_id", "group_var", "group_value", "answer", "estimate", "low", "high", "respondents",
           "effective_n", "failed")


def wilson_interval(p: np.ndarray, n: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of proportions ``p`` at (effective) sizes ``n``; NaN where ``n`` is 0."""
    z = stats.norm.ppf(0.5 + level / 2)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        denominator = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denominator
        half = z / denominator * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low, high = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)


def estimate(answers: Answers, sample: pa.Table, weights: np.ndarray, *,
             group_vars: Sequence[str] = DEFAULT_GROUPS, age_bands: Sequence[str] = KGSS_AGE_BANDS,
             level: float = 0.95) -> pl.DataFrame:
    """One row per (group variable, group, answer) with the estimate and its interval (:data:`COLUMNS`).

    Group variables whose source columns the sample lacks are skipped.
    """
    q = answers.question
    ok = answers.answered
    frames = []
    for var in group_vars:
        try:
            labels = group_labels(sample, var, age_bands if var == "age_band" else None)
        except ValueError:
            continue
        levels = sorted(levels_present(labels), key=_level_order(var, age_bands))
        codes = level_codes(labels, levels)
        inside = codes >= 0
        failed = np.bincount(codes[inside & ~ok], minlength=len(levels))
        use = inside & ok
        c, w = codes[use], weights[use]
        respondents = np.bincount(c, minlength=len(levels))
        w_sum = np.bincount(c, weights=w, minlength=len(levels))
        w_sq = np.bincount(c, weights=w * w, minlength=len(levels))
        with np.errstate(divide="ignore", invalid="ignore"):
            n_eff = np.where(w_sq > 0, w_sum ** 2 / w_sq, 0.0)
        rows: dict[str, list] = {name: [] for name in COLUMNS}

        def add(answer: str, value: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
            for i, group_value in enumerate(levels):
                rows["question_id"].append(q.id)
                rows["group_var"].append(var)
                rows["group_value"].append(group_value)
                rows["answer"].append(answer)
                rows["estimate"].append(float(value[i]))
                rows["low"].append(float(low[i]))
                rows["high"].append(float(high[i]))
                rows["respondents"].append(int(respondents[i]))
                rows["effective_n"].append(float(n_eff[i]))
                rows["failed"].append(int(failed[i]))

        if q.type in ("single", "likert", "multi"):
            for j, choice in enumerate(q.choices):
                hit = (answers.choice[use] == j) if q.type != "multi" else answers.selected[use, j]
                with np.errstate(divide="ignore", invalid="ignore"):
                    share = np.bincount(c, weights=w * hit, minlength=len(levels)) / w_sum
                low, high = wilson_interval(share, n_eff, level)
                add(choice, share, low, high)
        elif q.type == "numeric":
            x = answers.value[use]
            with np.errstate(divide="ignore", invalid="ignore"):
                mean = np.bincount(c, weights=w * x, minlength=len(levels)) / w_sum
                resid = x - mean[c]
                se = np.sqrt(np.bincount(c, weights=(w * resid) ** 2, minlength=len(levels))) / w_sum
            z = stats.norm.ppf(0.5 + level / 2)
            add("mean", mean, mean - z * se, mean + z * se)
        else:
            continue  # open answers are kept as text, not estimated
        frames.append(pl.DataFrame(rows, schema={name: _dtype(name) for name in COLUMNS}))
    if not frames:
        return pl.DataFrame(schema={name: _dtype(name) for name in COLUMNS})
    return pl.concat(frames)


def _dtype(name: str) -> pl.DataType:
    if name in ("respondents", "failed"):
        return pl.Int64
    if name in ("estimate", "low", "high", "effective_n"):
        return pl.Float64
    return pl.String


def _level_order(var: str, age_bands: Sequence[str]):
    if var == "age_band":
        order = {b: i for i, b in enumerate(age_bands)}
        return lambda level: (order.get(level, len(order)), level)
    return lambda level: level
