"""``sex_x_age_x_military``: the institutional check of active duty by sex × age (paper §6.4).

No public table crosses military service with age, so the reference is rule-implied from
institutional counts (:func:`ingu.audit.references.military_expectation`): conscripts in service
(enlistments a year × 18 months) over men aged 19–25, the standing force over all adults, female
service members over adult women. Four checks, all must hold:

1. men 19–25 on active duty within [low, high] × the implied conscript rate;
2. conscription is concentrated in youth: the men 19–25 rate ≥ ``military_concentration_min`` × the rate
   at 31–40 (career soldiers only) — NPK's profile is flat, the reverse of Korea's;
3. women at most ``women_active_max_per_1000`` per thousand in every band;
4. all active duty, as a share of adults, within the force-size range ± ``force_share_tolerance``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ingu.audit import metrics
from ingu.audit.axes.base import AxisResult, chart, missing_fields, series, skipped, table
from ingu.audit.axes.lfp import band_expression
from ingu.audit.references import SEXES, military_expectation
from ingu.audit.thresholds import Thresholds

AXIS = "sex_x_age_x_military"
TITLE = "Sex × age × military service"
BANDS: tuple[tuple[str, int, int], ...] = (
    ("19-25", 19, 25), ("26-30", 26, 30), ("31-35", 31, 35), ("36-40", 36, 40),
    ("41-50", 41, 50), ("51-65", 51, 65), ("66+", 66, 200),
)


def sex_x_age_x_military(frame: pl.DataFrame, thresholds: Thresholds) -> AxisResult:
    """Compute the axis (needs ``sex``, ``age``, ``active_duty``)."""
    ref_ids = ["military_cells", "pop_mois_2024_district_sex_age5"]
    lacking = missing_fields(frame.columns, ["sex", "age", "active_duty"])
    if lacking:
        return skipped(AXIS, TITLE, f"dataset lacks {', '.join(lacking)} (needs military_status or military_service)", ref_ids)
    expected = military_expectation()
    adults = frame.filter((pl.col("age") >= 19) & pl.col("active_duty").is_not_null())
    by_band = (
        adults.with_columns(band_expression(BANDS).alias("band"))
        .group_by("sex", "band").agg(pl.col("active_duty").sum().alias("active"), pl.len().alias("n"))
    )
    cells = {(s, b): (a, n) for s, b, a, n in by_band.iter_rows()}

    def rate(sex: str, bands: tuple[str, ...]) -> tuple[float, int]:
        active = sum(cells.get((sex, b), (0, 0))[0] for b in bands)
        n = sum(cells.get((sex, b), (0, 0))[1] for b in bands)
        return (active / n if n else float("nan")), n

    young, n_young = rate("남자", ("19-25",))
    career, n_career = rate("남자", ("31-35", "36-40"))
    overall = float(adults["active_duty"].mean()) if adults.height else float("nan")
    if n_young < thresholds.min_cell or adults.height < thresholds.min_cell:
        return skipped(AXIS, TITLE, "too few men aged 19–25", ref_ids)

    problems = []
    ratio = young / expected.conscript_rate_19_25
    if not thresholds.conscript_ratio_low <= ratio <= thresholds.conscript_ratio_high:
        problems.append(f"men 19–25 active {100 * young:.1f} % vs rule-implied {100 * expected.conscript_rate_19_25:.1f} % "
                        f"(×{ratio:.2f}, allowed ×{thresholds.conscript_ratio_low:g}–×{thresholds.conscript_ratio_high:g})")
    concentration = young / career if career > 0 else float("inf")
    if concentration < thresholds.military_concentration_min:
        problems.append(f"no youth concentration: men 19–25 rate is ×{concentration:.2f} the rate at 31–40 "
                        f"(needs ≥ ×{thresholds.military_concentration_min:g})")
    women = [(b, *cells.get(("여자", b), (0, 0))) for b, _, _ in BANDS]
    women_rates = [(b, a / n) for b, a, n in women if n >= thresholds.min_cell]
    worst_women = max(women_rates, key=lambda x: x[1]) if women_rates else (None, 0.0)
    if 1000 * worst_women[1] > thresholds.women_active_max_per_1000:
        problems.append(f"women {worst_women[0]} on active duty {1000 * worst_women[1]:.2f} per 1,000 "
                        f"(max {thresholds.women_active_max_per_1000:g})")
    low, high = expected.force_share
    tolerance = thresholds.force_share_tolerance
    if not low * (1 - tolerance) <= overall <= high * (1 + tolerance):
        problems.append(f"all active duty {100 * overall:.2f} % of adults vs force-size range "
                        f"{100 * low:.2f}–{100 * high:.2f} % (± {100 * tolerance:.0f} %)")
    verdict = "flag" if problems else "pass"
    reason = "; ".join(problems) if problems else (
        f"men 19–25 {100 * young:.1f} % (rule-implied {100 * expected.conscript_rate_19_25:.1f} %), ×{concentration:.1f} "
        f"the 31–40 rate; women ≤ {1000 * worst_women[1]:.2f}/1,000; all {100 * overall:.2f} % of adults")

    rows, values = [], {s: ([], [], []) for s in SEXES}
    for band, _, _ in BANDS:
        row = [band]
        for sex in SEXES:
            active, n = cells.get((sex, band), (0, 0))
            lo, hi = metrics.binomial_interval(np.array([active]), np.array([n]))
            r = active / n if n else None
            row += [int(n), None if r is None else round(100 * r, 3)]
            values[sex][0].append(r)
            values[sex][1].append(None if r is None else float(lo[0]))
            values[sex][2].append(None if r is None else float(hi[0]))
        row.append(f"{100 * expected.conscript_rate_19_25:.1f} (conscripts)" if band == "19-25" else None)
        rows.append(row)
    implied_series = [expected.conscript_rate_19_25 if b == "19-25" else None for b, _, _ in BANDS]
    return AxisResult(
        AXIS, TITLE, verdict, reason,
        headline=f"men 19–25 {100 * young:.1f} % vs implied {100 * expected.conscript_rate_19_25:.1f} %; "
                 f"31–40 {100 * career:.2f} %",
        reference=ref_ids,
        statistics={
            "men_19_25_active_rate": young, "implied_conscript_rate_19_25": expected.conscript_rate_19_25,
            "ratio_to_implied": ratio, "men_31_40_active_rate": career, "youth_concentration": concentration,
            "women_max_rate_per_1000": 1000 * worst_women[1], "all_adults_active_share": overall,
            "implied_force_share_low": low, "implied_force_share_high": high,
            "derivation": expected.derivation,
        },
        tables=[table("Active duty by sex and age band (%)",
                      ["band", "men", "men active %", "women", "women active %", "rule-implied %"], rows,
                      note="Rule-implied: conscripts in service = mean active-duty enlistments "
                           f"{expected.derivation['enlistment_years']} × {expected.derivation['service_years']} years, "
                           "over registered men aged 19–25 (MOIS 2024; single ages 19 and 25 as one fifth of their "
                           "5-year bands). Career soldiers, who dominate later bands, have no age table offline.")],
        charts=[chart("line", "Active duty by age", [b for b, _, _ in BANDS],
                      [series("men (dataset)", *values["남자"]), series("women (dataset)", *values["여자"]),
                       series("rule-implied (conscripts)", implied_series)],
                      x_label="age band", y_label="share on active duty", unit="share")],
    )
