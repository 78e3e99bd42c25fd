"""``major_x_occupation``: bachelor's field → occupation against KEIS GOMS (paper §6.6, Table 7).

Universe-matched to the reference as far as a persona file allows: employed records whose highest
education is a 4-year degree, aged ``major_age_low``–``major_age_high`` (GOMS surveys graduates 18–20
months after graduation). Each Table 7 cell is the share of a field's employed graduates in one KSCO
major; the verdict flags any cell further than ``major_max_gap_pp`` from the reference. The all-ages
shares are reported as a sensitivity.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ingu.audit import metrics
from ingu.audit.axes.base import AxisResult, chart, missing_fields, series, skipped, table
from ingu.audit.references import MAJOR_NAMES, graduate_field_occupation
from ingu.audit.thresholds import Thresholds

AXIS = "major_x_occupation"
TITLE = "Bachelor's field × occupation"
DEGREE = "4년제 대학교"


def field_major_shares(frame: pl.DataFrame, age_range: tuple[int, int] | None) -> pl.DataFrame:
    """Share of each field's employed 4-year graduates in each major (columns field, occ_major, n, total, share)."""
    graduates = frame.filter(
        (pl.col("education_level") == DEGREE) & pl.col("employed").fill_null(False)
        & pl.col("occ_major").is_in(list("123456789A")) & (pl.col("bachelors_field") != "해당없음")
    )
    if age_range is not None and "age" in frame.columns:
        graduates = graduates.filter(pl.col("age").is_between(*age_range))
    counts = graduates.group_by("bachelors_field", "occ_major").len("n")
    return counts.with_columns(pl.col("n").sum().over("bachelors_field").alias("total")).with_columns(
        (pl.col("n") / pl.col("total")).alias("share"))


def _lookup(shares: pl.DataFrame) -> dict[tuple[str, str], tuple[float, int]]:
    return {(f, m): (s, t) for f, m, _n, t, s in shares.select("bachelors_field", "occ_major", "n", "total", "share").iter_rows()}


def major_x_occupation(frame: pl.DataFrame, thresholds: Thresholds) -> AxisResult:
    """Compute the axis (needs ``bachelors_field``, ``education_level``, ``occ_major``, ``employed``)."""
    ref_ids = ["paper_cells"]
    lacking = missing_fields(frame.columns, ["bachelors_field", "education_level", "occ_major", "employed"])
    if lacking:
        return skipped(AXIS, TITLE, f"dataset lacks {', '.join(lacking)}", ref_ids)
    age_range = (thresholds.major_age_low, thresholds.major_age_high)
    matched = _lookup(field_major_shares(frame, age_range))
    all_ages = _lookup(field_major_shares(frame, None))
    totals = {f: t for (f, _m), (_s, t) in matched.items()}
    cells = graduate_field_occupation()
    rows, judged, data_values, ref_values, lows, highs = [], [], [], [], [], []
    for field, major, ref in cells:
        total = totals.get(field, 0)
        share = matched.get((field, major), (0.0, total))[0] if total else float("nan")
        share_all = all_ages.get((field, major), (float("nan"), 0))[0]
        low, high = metrics.binomial_interval(np.array([share * total]), np.array([total]))
        gap = 100 * (share - ref)
        if total >= thresholds.min_cell:
            judged.append((abs(gap), field, major, gap))
        rows.append([field, f"{major}_{MAJOR_NAMES[major]}", int(total), round(share, 4) if total else None, ref,
                     round(gap, 2) if total else None, None if np.isnan(share_all) else round(share_all, 4)])
        data_values.append(share if total else None)
        ref_values.append(ref)
        lows.append(float(low[0]) if total else None)
        highs.append(float(high[0]) if total else None)
    if not judged:
        return skipped(AXIS, TITLE, f"fewer than {thresholds.min_cell} employed 4-year graduates aged "
                                    f"{age_range[0]}–{age_range[1]} in every field of Table 7", ref_ids)
    worst = max(judged)
    over = [j for j in judged if j[0] > thresholds.major_max_gap_pp]
    verdict = "flag" if over else "pass"
    reason = (f"{len(over)} of {len(judged)} field → occupation cells more than {thresholds.major_max_gap_pp:g} pp from "
              f"KEIS GOMS (worst {worst[1]} → {worst[2]}: {worst[3]:+.1f} pp)" if over else
              f"all {len(judged)} cells within {thresholds.major_max_gap_pp:g} pp of KEIS GOMS (max {worst[0]:.1f} pp)")
    labels = [f"{f} → {m}" for f, m, _ in cells]
    return AxisResult(
        AXIS, TITLE, verdict, reason,
        headline=f"max |gap| {worst[0]:.1f} pp ({worst[1]} → {worst[2]})",
        reference=ref_ids,
        statistics={"max_abs_gap_pp": worst[0], "mean_abs_gap_pp": float(np.mean([j[0] for j in judged])),
                    "cells_judged": len(judged), "age_range": list(age_range),
                    "graduates_in_universe": int(sum(totals.values()))},
        tables=[table("Field → occupation: share of the field's employed graduates",
                      ["field", "major", "graduates", "dataset", "KEIS GOMS", "gap (pp)", "dataset, all ages"], rows,
                      note=f"Universe: employed, education {DEGREE}, aged {age_range[0]}–{age_range[1]}. Reference: "
                           "KEIS Graduates Occupational Mobility Survey (current job, weighted), audit paper Table 7; "
                           "its cohort is recent graduates, so small gaps partly reflect universe and vintage.")],
        charts=[chart("bar", "Field → occupation cells", labels,
                      [series("dataset", data_values, lows, highs), series("KEIS GOMS", ref_values)],
                      x_label="field → KSCO major", y_label="share of field", unit="share")],
    )
