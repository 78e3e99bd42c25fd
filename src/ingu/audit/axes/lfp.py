"""``sex_x_age_x_lfp``: labour-force participation by sex × age band (paper §6.3, Table 5).

The reference is KOSIS's civilian LFS, so active-duty records leave the denominator when the dataset
says who is on active duty. The verdict is band-wise, in points: a directionless V ratio can hide a
16-point excess of young men in the labour force (NPK), so we judge the gaps themselves.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ingu.audit import metrics
from ingu.audit.axes.base import AxisResult, chart, missing_fields, series, skipped, table
from ingu.audit.references import LFP_BANDS, SEXES, lfp_rates
from ingu.audit.thresholds import Thresholds

AXIS = "sex_x_age_x_lfp"
TITLE = "Sex × age × labour-force participation"


def band_expression(bands: tuple[tuple[str, int, int], ...] = LFP_BANDS) -> pl.Expr:
    """Polars expression labelling ``age`` with its band (null outside every band)."""
    expr = pl.lit(None, dtype=pl.Utf8)
    for label, low, high in reversed(bands):
        expr = pl.when(pl.col("age").is_between(low, high)).then(pl.lit(label)).otherwise(expr)
    return expr


def sex_x_age_x_lfp(frame: pl.DataFrame, thresholds: Thresholds) -> AxisResult:
    """Compute the axis (needs ``sex``, ``age`` and ``in_labour_force``)."""
    ref_ids = ["paper_cells"]
    lacking = missing_fields(frame.columns, ["sex", "age", "in_labour_force"])
    if lacking:
        return skipped(AXIS, TITLE, f"dataset lacks {', '.join(lacking)} (needs employment_status or occupation)", ref_ids)
    reference = lfp_rates()
    civilians = frame.filter(pl.col("in_labour_force").is_not_null())
    # Soldiers are outside the LFS frame. Who is a soldier is read from the occupation (KSCO A) when
    # the dataset has one — the same people as active duty in a consistent file, and it keeps this
    # axis about labour, not about the military fields the military axis judges.
    if "occ_major" in frame.columns:
        civilians = civilians.filter(pl.col("occ_major") != "A")
        excluded = "records whose occupation is armed forces (KSCO A)"
    elif "active_duty" in frame.columns:
        civilians = civilians.filter(~pl.col("active_duty").fill_null(False))
        excluded = "active-duty records"
    else:
        excluded = "nobody (the dataset says nothing about military service)"
    rates = (
        civilians.with_columns(band_expression().alias("band")).filter(pl.col("band").is_not_null())
        .group_by("sex", "band").agg(pl.col("in_labour_force").sum().alias("in_lf"), pl.len().alias("n"))
    )
    observed = {(s, b): (lf, n) for s, b, lf, n in rates.iter_rows()}
    rows, gaps, judged_gaps = [], {}, []
    chart_series = {}
    for sex in SEXES:
        data_values, ref_values, lows, highs = [], [], [], []
        for band, _, _ in LFP_BANDS:
            in_lf, n = observed.get((sex, band), (0, 0))
            ref = reference[(sex, band)]
            rate = in_lf / n if n else float("nan")
            low, high = metrics.binomial_interval(np.array([in_lf]), np.array([n]))
            gap = 100 * (rate - ref)
            gaps[f"{sex} {band}"] = gap
            if n >= thresholds.min_cell:
                judged_gaps.append((abs(gap), sex, band, gap))
            rows.append([sex, band, int(n), round(rate, 4) if n else None, ref, round(gap, 2) if n else None,
                         f"[{low[0]:.3f}, {high[0]:.3f}]" if n else None])
            data_values.append(rate if n else None)
            ref_values.append(ref)
            lows.append(float(low[0]) if n else None)
            highs.append(float(high[0]) if n else None)
        chart_series[sex] = (data_values, ref_values, lows, highs)
    if not judged_gaps:
        return skipped(AXIS, TITLE, "no sex × age band has enough records", ref_ids)
    worst = max(judged_gaps)
    over = [g for g in judged_gaps if g[0] > thresholds.lfp_max_gap_pp]
    verdict = "flag" if over else "pass"
    reason = (
        f"{len(over)} of {len(judged_gaps)} sex × band rates more than {thresholds.lfp_max_gap_pp:g} pp from KOSIS "
        f"(worst {worst[1]} {worst[2]}: {worst[3]:+.1f} pp)" if over else
        f"every sex × band rate within {thresholds.lfp_max_gap_pp:g} pp of KOSIS (max {worst[0]:.1f} pp)"
    )
    table_counts = np.array([[observed.get((s, b), (0, 0))[0] for b, _, _ in LFP_BANDS] for s in SEXES])
    return AxisResult(
        AXIS, TITLE, verdict, reason,
        headline=f"max |gap| {worst[0]:.1f} pp ({worst[1]} {worst[2]})",
        reference=ref_ids,
        statistics={"max_abs_gap_pp": worst[0], "mean_abs_gap_pp": float(np.mean([g[0] for g in judged_gaps])),
                    "gaps_pp": gaps, "records_in_labour_force": int(table_counts.sum()),
                    "excluded_from_denominator": excluded},
        tables=[table("Labour-force participation by sex and age band",
                      ["sex", "band", "records", "dataset", "KOSIS", "gap (pp)", "95% CI"], rows,
                      note="Reference: KOSIS DT_1ES3B03J/DT_1ES3B14J, 2025 H2, as printed in the audit paper's Table 5. "
                           f"Excluded: {excluded} (the LFS covers the civilian population).")],
        charts=[chart("line", "Labour-force participation by age band", [b for b, _, _ in LFP_BANDS],
                      [s for sex in SEXES for s in (
                          series(f"{sex} dataset", chart_series[sex][0], chart_series[sex][2], chart_series[sex][3]),
                          series(f"{sex} KOSIS", chart_series[sex][1]))],
                      x_label="age band", y_label="participation rate", unit="share")],
    )
