"""``sex_x_marital``: marital status by sex against KOSIS DT_1MR2060 (paper §6.7; a negative control)."""

from __future__ import annotations

import numpy as np
import polars as pl

from ingu.audit import metrics
from ingu.audit.axes.base import AxisResult, chart, missing_fields, series, skipped, table
from ingu.audit.references import SEXES, marital_shares, population_2024
from ingu.audit.thresholds import Thresholds

AXIS = "sex_x_marital"
TITLE = "Sex × marital status"
CATEGORIES = ("미혼", "유배우", "사별·이혼")
#: Our vocabulary → the reference's three classes.
HARMONISE = {"미혼": "미혼", "배우자있음": "유배우", "사별": "사별·이혼", "이혼": "사별·이혼"}


def sex_x_marital(frame: pl.DataFrame, thresholds: Thresholds) -> AxisResult:
    """Compute the axis (needs ``sex``, ``marital_status``; restricted to 19+ when ``age`` exists)."""
    ref_ids = ["paper_cells", "pop_mois_2024_district_sex_age5"]
    lacking = missing_fields(frame.columns, ["sex", "marital_status"])
    if lacking:
        return skipped(AXIS, TITLE, f"dataset lacks {', '.join(lacking)}", ref_ids)
    adults = frame.filter(pl.col("age") >= 19) if "age" in frame.columns else frame
    counts_df = (
        adults.with_columns(pl.col("marital_status").replace_strict(HARMONISE, default=None).alias("m3"))
        .filter(pl.col("m3").is_not_null()).group_by("sex", "m3").len()
    )
    counts = np.zeros((2, 3))
    for sex, m3, n in counts_df.iter_rows():
        if sex in SEXES:
            counts[SEXES.index(sex), CATEGORIES.index(m3)] = n
    if counts.sum(axis=1).min() < thresholds.min_cell:
        return skipped(AXIS, TITLE, "too few records of one sex", ref_ids)
    reference = marital_shares()
    ref_share = np.array([[reference[(s, c)] for c in CATEGORIES] for s in SEXES])
    pop = population_2024().filter(pl.col("age_lo") >= 20).group_by("sex").agg(pl.col("population").sum())
    adults_by_sex = dict(pop.iter_rows())
    ref_counts = ref_share * np.array([[adults_by_sex[s]] for s in SEXES])
    share = counts / counts.sum(axis=1, keepdims=True)
    gap = 100 * (share - ref_share)
    v_data, v_ref = metrics.cramers_v(counts), metrics.cramers_v(ref_counts)
    worst = np.unravel_index(np.abs(gap).argmax(), gap.shape)
    max_gap = float(np.abs(gap).max())
    verdict = "flag" if max_gap > thresholds.marital_max_gap_pp else "pass"
    where = f"{SEXES[worst[0]]} {CATEGORIES[worst[1]]}: {gap[worst]:+.1f} pp"
    reason = (f"a sex × marital share is more than {thresholds.marital_max_gap_pp:g} pp from KOSIS ({where})"
              if verdict == "flag" else f"every share within {thresholds.marital_max_gap_pp:g} pp of KOSIS (max {where})")
    rows = [[SEXES[i], CATEGORIES[j], int(counts[i, j]), round(share[i, j], 4), ref_share[i, j], round(gap[i, j], 2)]
            for i in range(2) for j in range(3)]
    return AxisResult(
        AXIS, TITLE, verdict, reason,
        headline=f"max |gap| {max_gap:.1f} pp; V {v_data:.3f} vs {v_ref:.3f}",
        reference=ref_ids,
        statistics={"max_abs_gap_pp": max_gap, "cramers_v_dataset": v_data, "cramers_v_reference": v_ref,
                    "rho": v_data / v_ref if v_ref else None},
        tables=[table("Marital status by sex", ["sex", "status", "records", "dataset", "KOSIS", "gap (pp)"], rows,
                      note="Reference: KOSIS DT_1MR2060, 2024-12, adults 19+ (audit paper Table 8); the reference V "
                           "weights the shares by the 2024 registered adults (20+) of each sex.")],
        charts=[chart("bar", "Marital status by sex", [f"{s} {c}" for s in SEXES for c in CATEGORIES],
                      [series("dataset", share.ravel()), series("KOSIS", ref_share.ravel())],
                      x_label="sex × status", y_label="share", unit="share")],
    )
