"""Raking weights: make the sample's sex, age-band and province shares those of the population.

Margins come from one of two places:

``reference``  the official population (행정안전부 주민등록인구 2024, ``pop_mois_2024_district_sex_age5``)
               aged ``min_age`` and over. Its 5-year bands are split evenly across single years where a
               survey band cuts one (e.g. 18-29 takes 2/5 of 15-19 for ages 18–19): an assumption of
               uniform ages within a 5-year band, stated here because it is not a statistic.
``personas``   the persona file the sample was drawn from (what a planted-model test needs: the truth is
               defined on that population).

:func:`rake` is iterative proportional fitting of the weights to each margin in turn until every weighted
share is within ``tolerance`` of its target. Weights are scaled to mean 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from ingu.simulate.groups import KGSS_AGE_BANDS, group_labels, level_codes, parse_bands

RAKING_VARS: tuple[str, ...] = ("sex", "age_band", "province")
MARGIN_SOURCES: tuple[str, ...] = ("reference", "personas")


class WeightingError(ValueError):
    """Margins the sample cannot be raked to (an empty cell, an unknown variable)."""


def population_margins(table: pa.Table, group_vars: Sequence[str] = RAKING_VARS,
                       age_bands: Sequence[str] = KGSS_AGE_BANDS) -> dict[str, dict[str, float]]:
    """Shares of each level of each variable in ``table`` (the personas population)."""
    out = {}
    for var in group_vars:
        labels = group_labels(table, var, age_bands if var == "age_band" else None)
        levels, counts = np.unique(labels[labels != None].astype(str), return_counts=True)  # noqa: E711
        out[var] = {str(level): float(c) / counts.sum() for level, c in zip(levels, counts)}
    return out


def reference_margins(group_vars: Sequence[str] = RAKING_VARS, age_bands: Sequence[str] = KGSS_AGE_BANDS, *,
                      min_age: int = 19) -> dict[str, dict[str, float]]:
    """Official population shares (주민등록인구 2024) of adults ``min_age``+ (see the module docstring)."""
    import polars as pl

    from ingu.reference.tables import load_table
    from ingu.reference.vocab import districts, provinces

    pop = load_table("pop_mois_2024_district_sex_age5")
    lo = pop["age_lo"].to_numpy().astype(float)
    hi = pop["age_hi"].fill_null(120).to_numpy().astype(float)
    people = pop["population"].to_numpy().astype(float)
    # share of each 5-year band at or above min_age (uniform ages within a band)
    adult = np.clip((hi - np.maximum(lo, min_age) + 1) / (hi - lo + 1), 0, 1)
    out: dict[str, dict[str, float]] = {}
    for var in group_vars:
        if var == "sex":
            sex = pop["sex"].to_numpy()
            counts = {"남자": float((people * adult)[sex == "M"].sum()), "여자": float((people * adult)[sex == "F"].sum())}
        elif var == "age_band":
            counts = {}
            for label, (low, high) in zip(age_bands, parse_bands(age_bands)):
                low = max(low, min_age)
                overlap = np.clip(np.minimum(hi, high) - np.maximum(lo, low) + 1, 0, None) / (hi - lo + 1)
                counts[label] = float((people * overlap).sum())
        elif var == "province":
            province_of = {d.code: d.province_code for d in districts()}
            label_of = {p.code: p.npk_label for p in provinces()}
            frame = pl.DataFrame({"district": pop["district_code"], "people": people * adult})
            counts = {}
            for district, total in frame.group_by("district").agg(pl.col("people").sum()).iter_rows():
                if district in province_of:
                    label = label_of[province_of[district]]
                    counts[label] = counts.get(label, 0.0) + total
        else:
            raise WeightingError(f"no reference margin for {var!r}; reference margins cover {', '.join(RAKING_VARS)}")
        total = sum(counts.values())
        out[var] = {k: v / total for k, v in counts.items()}
    return out


def rake(sample: pa.Table, margins: Mapping[str, Mapping[str, float]], *,
         age_bands: Sequence[str] = KGSS_AGE_BANDS, max_iterations: int = 200,
         tolerance: float = 1e-6) -> tuple[np.ndarray, dict[str, Any]]:
    """Raking weights (mean 1) of ``sample`` to ``margins`` (variable → level → share) and a report.

    A level with no respondent (a small sample) cannot be weighted up: its share is spread over the other
    levels and listed in the report's ``levels_without_respondents``.
    """
    n = sample.num_rows
    codes = []
    empty: dict[str, list[str]] = {}
    for var, shares in margins.items():
        levels = list(shares)
        labels = group_labels(sample, var, age_bands if var == "age_band" else None)
        c = level_codes(labels, levels)
        present = np.bincount(c[c >= 0], minlength=len(levels))
        target = np.array([shares[level] for level in levels], dtype=float)
        empty_levels = [levels[i] for i in np.flatnonzero((present == 0) & (target > 0))]
        if empty_levels:  # a small sample misses a level: its share goes to the others, and the report says so
            empty[var] = empty_levels
            target = np.where(present > 0, target, 0.0)
        if target.sum() <= 0:
            raise WeightingError(f"cannot rake to {var}: no respondent in any of its levels")
        codes.append((var, c, target / target.sum()))
    weights = np.ones(n)
    gap = 0.0
    for iteration in range(1, max_iterations + 1):
        for _, c, target in codes:
            inside = c >= 0
            current = np.bincount(c[inside], weights=weights[inside], minlength=len(target))
            current /= current.sum()
            factor = np.divide(target, current, out=np.ones_like(target), where=current > 0)
            weights[inside] *= factor[c[inside]]
        gap = 0.0
        for _, c, target in codes:
            inside = c >= 0
            current = np.bincount(c[inside], weights=weights[inside], minlength=len(target))
            gap = max(gap, float(np.abs(current / current.sum() - target).max()))
        if gap < tolerance:
            break
    weights *= n / weights.sum()
    report = {"variables": list(margins), "iterations": iteration, "max_margin_gap": gap,
              "converged": gap < tolerance, "design_effect": float(np.mean(weights ** 2)),
              "effective_n": float(n / np.mean(weights ** 2)), "weight_min": float(weights.min()),
              "weight_max": float(weights.max()),
              "levels_without_respondents": empty}
    return weights, report
