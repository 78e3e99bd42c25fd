"""The marginal baseline (paper §5): how well does the dataset's demographic spine match Korea?

Reference: resident registration, end of 2024 (MOIS), for age, sex, province and their joint; 2020
census (persons 25+) for education; KOSIS DT_1MR2060 (Table 8) for marital status. Age 19 is inside
the registration table's 15–19 band, so age-based comparisons cover ages 20+ (dataset restricted
likewise). Everything is one polars group-by per dimension.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ingu.audit import metrics
from ingu.audit.axes.base import chart, clean, series, table
from ingu.audit.axes.marital import CATEGORIES as MARITAL_CLASSES
from ingu.audit.axes.marital import HARMONISE
from ingu.audit.references import SEXES, adult_population_20plus, education_25plus, marital_shares

SPIKE_RATIO = 1.15  # a single age 15 % above the mean of its neighbours is an artefact (issue bar)


def _counts(frame: pl.DataFrame, keys: list[str]) -> dict[tuple, int]:
    return {tuple(row[:-1]): row[-1] for row in frame.group_by(keys).len().iter_rows()}


def marginal_baseline(frame: pl.DataFrame) -> dict[str, Any]:
    """Compute every baseline metric the dataset's fields allow; absent fields are listed as skipped."""
    reference = adult_population_20plus()
    measures: list[dict[str, Any]] = []
    tables: list[dict[str, Any]] = []
    charts: list[dict[str, Any]] = []
    skipped: list[str] = []
    adults = frame.filter(pl.col("age") >= 20) if "age" in frame.columns else frame

    if "age" in frame.columns:
        _age(frame, adults, reference, measures, tables, charts)
    else:
        skipped.append("age")
    if "sex" in frame.columns:
        ref = reference.group_by("sex").agg(pl.col("population").sum())
        ref_share = dict(ref.iter_rows())
        counts = _counts(adults, ["sex"])
        p = np.array([counts.get((s,), 0) for s in SEXES], dtype=float)
        q = np.array([ref_share[s] for s in SEXES], dtype=float)
        tv = metrics.total_variation(p, q)
        measures.append({"dimension": "sex", "metric": "total variation", "value": tv,
                         "reading": f"female share {100 * metrics.normalise(p)[1]:.2f} % vs {100 * metrics.normalise(q)[1]:.2f} %"})
    else:
        skipped.append("sex")
    if "province" in frame.columns:
        _province(adults, reference, measures, tables, charts)
    else:
        skipped.append("province")
    if "education_level" in frame.columns:
        _education(frame, measures, tables)
    else:
        skipped.append("education_level")
    if "marital_status" in frame.columns:
        _marital(frame, reference, measures, tables)
    else:
        skipped.append("marital_status")
    if {"province", "sex", "age"} <= set(frame.columns):
        _joint(adults, reference, measures, tables)
    else:
        skipped.append("province × sex × age")
    return clean({"title": "Marginal baseline", "metrics": measures, "tables": tables, "charts": charts,
                  "skipped": skipped})


def _age_band(age: pl.Expr) -> pl.Expr:
    return pl.when(age >= 100).then(pl.lit("100+")).otherwise(
        (age // 5 * 5).cast(pl.Utf8) + pl.lit("-") + (age // 5 * 5 + 4).cast(pl.Utf8))


def _age(frame: pl.DataFrame, adults: pl.DataFrame, reference: pl.DataFrame, measures: list, tables: list, charts: list) -> None:
    ref = reference.group_by("age_band", "age_lo").agg(pl.col("population").sum()).sort("age_lo")
    bands, lows = ref["age_band"].to_list(), ref["age_lo"].to_list()
    counts = _counts(adults.with_columns(_age_band(pl.col("age")).alias("band")), ["band"])
    p = np.array([counts.get((b,), 0) for b in bands], dtype=float)
    q = ref["population"].to_numpy().astype(float)
    mids = np.array(lows, dtype=float) + 2.5
    measures.append({"dimension": "age (20+, 5-year bands)", "metric": "KL (nats)", "value": metrics.kl_divergence(p, q),
                     "reading": "dataset ‖ MOIS 2024"})
    measures.append({"dimension": "age (20+, 5-year bands)", "metric": "Wasserstein (years)",
                     "value": metrics.wasserstein_1d(mids, p, q), "reading": "on band midpoints"})
    single = dict(frame.group_by("age").len().iter_rows())
    ages = np.arange(20, 91)
    n = np.array([single.get(a, 0) for a in ages], dtype=float)
    previous = np.array([single.get(a - 1, 0) for a in ages], dtype=float)
    following = np.array([single.get(a + 1, 0) for a in ages], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        deviation = n / ((previous + following) / 2) - 1
    worst = int(np.nanargmax(np.abs(deviation))) if np.isfinite(deviation).any() else 0
    measures.append({"dimension": "single-year age (20–90)", "metric": "max neighbour deviation",
                     "value": float(np.abs(deviation[worst])) if np.isfinite(deviation[worst]) else None,
                     "reading": f"at age {int(ages[worst])}"})
    # Old-age spikes such as NPK's 99-year-old men: any age ≥ 91 far above its neighbours' mean.
    spikes = []
    for age in range(91, int(frame["age"].max() or 0) + 1):
        here, around = single.get(age, 0), (single.get(age - 1, 0) + single.get(age + 1, 0)) / 2
        if here >= 30 and around > 0 and here / around > 1.5:
            spikes.append([age, here, round(here / around, 2)])
    tables.append(table("Age distribution, ages 20+ (5-year bands)", ["band", "dataset", "MOIS 2024", "gap (pp)"],
                        [[b, round(x, 5), round(y, 5), round(100 * (x - y), 3)]
                         for b, x, y in zip(bands, metrics.normalise(p), metrics.normalise(q), strict=True)]))
    if spikes:
        tables.append(table("Old-age spikes (an age ≥ 91 with > 1.5 × its neighbours' mean)",
                            ["age", "records", "ratio to neighbours"], spikes))
    charts.append(chart("bar", "Age distribution (20+)", bands,
                        [series("dataset", metrics.normalise(p)), series("MOIS 2024", metrics.normalise(q))],
                        x_label="age band", y_label="share", unit="share"))


def _province(adults: pl.DataFrame, reference: pl.DataFrame, measures: list, tables: list, charts: list) -> None:
    ref = reference.group_by("province").agg(pl.col("population").sum()).sort("population", descending=True)
    names = ref["province"].to_list()
    counts = _counts(adults, ["province"])
    observed = np.array([counts.get((p,), 0) for p in names], dtype=float)
    fit = metrics.chi_square_gof(observed, ref["population"].to_numpy())
    measures.append({"dimension": "province", "metric": "mean |gap| (pp)", "value": fit.mean_abs_gap_pp,
                     "reading": f"χ² = {fit.statistic:.1f} on {fit.dof} df (p = {fit.p_value:.3g}); "
                                f"max |residual| {np.abs(fit.residuals).max():.1f}"})
    share = metrics.normalise(observed)
    ref_share = metrics.normalise(ref["population"].to_numpy())
    tables.append(table("Province shares (adults 20+)", ["province", "dataset", "MOIS 2024", "gap (pp)", "std. residual"],
                        [[n, round(s, 5), round(r, 5), round(g, 3), round(z, 2)]
                         for n, s, r, g, z in zip(names, share, ref_share, fit.gap_pp, fit.residuals, strict=True)]))
    charts.append(chart("bar", "Province shares (adults 20+)", names,
                        [series("dataset", share), series("MOIS 2024", ref_share)], x_label="province", y_label="share"))


def _education(frame: pl.DataFrame, measures: list, tables: list) -> None:
    reference = education_25plus()
    levels = list(reference)
    subset = frame.filter(pl.col("age") >= 25) if "age" in frame.columns else frame
    counts = _counts(subset, ["education_level"])
    p = metrics.normalise(np.array([counts.get((lvl,), 0) for lvl in levels], dtype=float))
    q = metrics.normalise(np.array([reference[lvl] for lvl in levels]))
    measures.append({"dimension": "education (25+)", "metric": "total variation", "value": metrics.total_variation(p, q),
                     "reading": f"4-year degree {100 * (p[5] - q[5]):+.1f} pp, graduate school {100 * (p[6] - q[6]):+.1f} pp "
                                "vs census 2020 (a 2024 population is expected to be slightly more educated)"})
    tables.append(table("Education, persons 25+", ["level", "dataset", "census 2020", "gap (pp)"],
                        [[lvl, round(a, 4), round(b, 4), round(100 * (a - b), 2)] for lvl, a, b in zip(levels, p, q, strict=True)]))


def _marital(frame: pl.DataFrame, reference: pl.DataFrame, measures: list, tables: list) -> None:
    shares = marital_shares()
    adults_by_sex = dict(reference.group_by("sex").agg(pl.col("population").sum()).iter_rows())
    total = sum(adults_by_sex.values())
    classes = MARITAL_CLASSES
    q = np.array([sum(shares[(s, c)] * adults_by_sex[s] / total for s in SEXES) for c in classes])
    subset = frame.filter(pl.col("age") >= 19) if "age" in frame.columns else frame
    counts = _counts(subset.with_columns(pl.col("marital_status").replace_strict(HARMONISE, default=None).alias("m")), ["m"])
    p = metrics.normalise(np.array([counts.get((c,), 0) for c in classes], dtype=float))
    measures.append({"dimension": "marital status (19+)", "metric": "total variation", "value": metrics.total_variation(p, q),
                     "reading": f"미혼 {100 * (p[0] - q[0]):+.1f} pp vs KOSIS DT_1MR2060"})
    tables.append(table("Marital status, adults 19+", ["status", "dataset", "KOSIS", "gap (pp)"],
                        [[c, round(a, 4), round(b, 4), round(100 * (a - b), 2)] for c, a, b in zip(classes, p, q, strict=True)]))


def _joint(adults: pl.DataFrame, reference: pl.DataFrame, measures: list, tables: list) -> None:
    data = adults.with_columns(_age_band(pl.col("age")).alias("age_band")).group_by("province", "sex", "age_band").len("n")
    joint = reference.join(data, on=["province", "sex", "age_band"], how="left").with_columns(pl.col("n").fill_null(0))
    n_total = float(joint["n"].sum())
    expected = joint["population"].to_numpy() / joint["population"].sum() * n_total
    observed = joint["n"].to_numpy().astype(float)
    kl = metrics.kl_divergence(observed, expected)
    # Records in cells the reference leaves empty would make KL infinite; report them separately.
    outside = adults.height - int(n_total)
    ratio = np.where(expected > 0, observed / np.maximum(expected, 1e-12), np.nan)
    joint = joint.with_columns(pl.Series("expected", expected), pl.Series("ratio", ratio))
    empty = joint.filter((pl.col("n") == 0) & (pl.col("expected") >= 5)).sort("expected", descending=True)
    over = joint.filter((pl.col("expected") >= 20) & (pl.col("ratio") > 1.5)).sort("ratio", descending=True)
    measures.append({"dimension": "province × sex × age (20+)", "metric": "KL (nats)", "value": kl,
                     "reading": f"{joint.height} cells; {empty.height} empty where ≥ 5 expected; {over.height} over-full "
                                f"(> 1.5 × expected); {outside} records outside the reference cells"})
    cols = ["province", "sex", "age band", "records", "expected", "ratio"]
    def rows(df: pl.DataFrame) -> list[list]:
        return [[r["province"], r["sex"], r["age_band"], r["n"], round(r["expected"], 1), round(r["ratio"], 2)]
                for r in df.head(20).iter_rows(named=True)]
    if empty.height:
        tables.append(table(f"Empty joint cells (≥ 5 expected; {empty.height} in all, top 20)", cols, rows(empty)))
    if over.height:
        tables.append(table(f"Over-full joint cells (> 1.5 × expected; {over.height} in all, top 20)", cols, rows(over)))
