"""Block ``education_marital``: education | sex, age, province; marital | sex, age, province, education.

One joint over sex × single-year age × province × education (7) × marital status (4) is raked to:

* ``census_partial`` — 2020 census (20 % sample) cells for 미혼/유배우 × 5 upper education levels by
  sex × province × 5-year age. Education composition is carried forward **by birth cohort** for
  ages ≥ 30 in 2024 (a 2024 age ``a`` reads the 2020 band of ``a − 4``: education is complete by then);
  younger ages use the **same age** in 2020. The 미혼:유배우 split is carried by cohort from 40 (first
  marriages are rare by then) and read at the same age below 40, where the 2020 → 2024 rise of the
  never married is one odds factor per sex solved from Table 8 (see :func:`calibrate_marital`).
* ``press_cells`` — the 2020 census 30+ attainment (초등 8.2 %, 중 9.1 %, 고 36.1 %, 대학 이상 43.1 %;
  무학 = the 3.5 % remainder), carried forward to ages ≥ 34 in 2024; the mean years of schooling by
  sex × age band, which — given the upper levels' composition — solves the share with at most
  elementary schooling per sex and band (the 무학/초등 cells missing from the partial file); the 15+
  미혼 and 유배우 totals, which minus the partial file's cells give 미혼 : 유배우 among the 무학/초등; and
  the divorced share of the 30+ by sex.
* ``paper_cells`` Table 8 — marital status by sex among adults 19+ (KOSIS DT_1MR2060, Dec 2024),
  with 사별·이혼 split by the 2020 census divorced share of the 30+ population by sex.
* ``census2010_pop_national_sex_age5`` — with the 2024 registration, the 2020 population of each
  cohort (:func:`population_2020`), whose coverage by the partial file solves the 무학/초등 of the old.

The cells the partial file lacks (무학/초등 for everyone, every education level for 사별/이혼) are not
guessed: the seeds (:func:`_education_seed`, :func:`_marital_seed`) give them a demographic shape —
widowhood from Gompertz spouse mortality, divorce peaking in mid-life, never-married from the census
ratio, low education solved from the census coverage of each cohort — and every level is fixed by a
table above. The fit runs in two stages (education, then marital status given education; see
:func:`fit`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ingu.model.context import AGES, FitContext, conditional
from ingu.model.ipf import FitReport, Margin, fit as ipf_fit
from ingu.model.network import Variable

CENSUS = "census2020_sex_province_age5_marital_education_partial"
CENSUS2010 = "census2010_pop_national_sex_age5"
PRESS = "press_cells"
PAPER = "paper_cells"
# Years of schooling per level, KOSTAT's convention for 평균 교육년수 (graduate school as 18).
YEARS = np.array([0.0, 6.0, 9.0, 12.0, 14.0, 16.0, 18.0])
COHORT_SHIFT = 4  # 2020 census → 2024 reference year
CENSUS_YEAR, REGISTER_YEAR, OLD_CENSUS_YEAR = 2020, 2024, 2010

# --- structural assumptions of the seed (shapes only; every level is solved from a table) ----------
# The partial census lacks 사별/이혼 and 무학/초등, and no shipped table gives either by age, so:
#
# * widowhood — the widowed share of the ever-married is the spouse's cumulative mortality, Gompertz in
#   age (the force of adult mortality doubles every ``GOMPERTZ_DOUBLING`` years) from ``WIDOW_FROM``;
# * divorce — the divorced share of the ever-married is a hump in age (peak ``DIVORCE_PEAK``, spread
#   ``DIVORCE_SPREAD``): it accumulates with marriage duration and is lower in the cohorts that married
#   before divorce became common;
# * never married — never-married status is a cohort's from ``MARITAL_COHORT_FROM`` (2020 ratio of the
#   same people); below it 2020's at the same age with one odds factor per sex for the 2020 → 2024 rise;
# * low education — the census coverage for the 50+ (2020), flat within the mean-years bands at 30–49,
#   below 30 only what the published 2020 decade totals leave; see _education_seed.
GOMPERTZ_DOUBLING = 7.5  # years; adult mortality doubles every ~7–8 years (Gompertz law)
WIDOW_FROM = 20  # no widowhood before this age (structural zero; marriage age is 18, few marry < 20)
DIVORCE_PEAK, DIVORCE_SPREAD = 58.0, 15.0  # years; see the decade check in _education_seed
MARITAL_COHORT_FROM = 40  # 2024 age from which 미혼 : 유배우 is read by cohort
EDU_SWEEPS = 2000  # the education tables disagree: IPF stops here (see fit)
LOW_FLOOR = 1e-4  # share of 무학/초등 where the totals leave nothing (a negligible floor, not zero)


def _census_grid(ctx: FitContext, n_prov: int, n_edu: int) -> tuple[np.ndarray, list[int]]:
    """2020 known cells as an array (sex, band, province, education, marital[미혼, 배우자있음])."""
    df = ctx.table(CENSUS)
    edu = {label: i for i, label in enumerate(ctx.labels("education"))}
    bands = sorted(df["age_lo"].unique().to_list())
    grid = np.zeros((2, len(bands), n_prov, n_edu, 2))
    grid[
        (df["sex"] == "F").cast(pl.Int64).to_numpy(),
        np.searchsorted(bands, df["age_lo"].to_numpy()),
        df["province_code"].cast(pl.Int64).to_numpy(),
        df["education"].replace_strict(edu).to_numpy(),
        (df["marital"] == "배우자있음").cast(pl.Int64).to_numpy(),
    ] = df["population"].fill_null(0).to_numpy()
    return grid, bands


def _band_of(ages: np.ndarray, bands: list[int]) -> np.ndarray:
    idx = np.searchsorted(np.asarray(bands), ages, side="right") - 1
    return np.where(ages < bands[0], -1, idx)


def _press_value(press: pl.DataFrame, **match: str) -> float:
    row = press.filter(*[pl.col(k) == v for k, v in match.items()])
    if row.height != 1:
        raise ValueError(f"{PRESS}: expected one cell for {match}, found {row.height}")
    return float(row["value"][0])


def low_education_shares(ctx: FitContext, grid: np.ndarray, bands: list[int]) -> dict[tuple[int, str], float]:
    """Share of 무학+초등 per (sex, 2020 band) solved from mean years of schooling.

    With ``m_k`` the mean years of the upper five levels (the partial census), ``m_l`` the mean years
    of the two lowest (from the national 30+ split 무학 3.5 % : 초등 8.2 %) and ``M`` the published
    mean, the low-education share is ``(m_k − M) / (m_k − m_l)``, clipped to [0, 0.95].
    """
    press = ctx.table(PRESS).filter(pl.col("topic") == "education")
    elem = _press_value(press, age_band="30+", category="초등학교 졸업", measure="share")
    upper = sum(
        _press_value(press, age_band="30+", category=c, measure="share")
        for c in ("중학교 졸업", "고등학교 졸업", "대학 이상 졸업")
    )
    none = 100.0 - elem - upper
    m_low = (YEARS[0] * none + YEARS[1] * elem) / (none + elem)
    out = {}
    spans = {"20-29": (20, 29), "30-39": (30, 39), "40-49": (40, 49), "50+": (50, 200)}
    for s, sex in enumerate("MF"):
        for band, (lo, hi) in spans.items():
            idx = [i for i, b in enumerate(bands) if lo <= b <= hi]
            known = grid[s, idx].sum(axis=(0, 1, 3))  # by education
            m_known = float((known * YEARS).sum() / known.sum())
            mean = _press_value(press, sex=sex, age_band=band, measure="years")
            out[(s, band)] = float(np.clip((m_known - mean) / (m_known - m_low), 0.0, 0.95))
    return out


def fit(ctx: FitContext) -> None:
    """Add ``education`` and ``marital`` to the model.

    Two IPF stages: education | sex, age, province to the education tables (which disagree; the report
    names them), then marital status | education and the cell to the marital tables with that education
    joint held fixed. In one joint fit the education tables' disagreement never settles, and each sweep
    pushes the 사별/이혼 mass — which no table places by age — a little further from the young cells;
    with the education fixed the marital tables agree and converge. The report evaluates every table
    on the final joint.
    """
    edu_labels = ctx.labels("education")
    mar_labels = ctx.labels("marital")
    n_edu = len(edu_labels)
    parent = ctx.marginal(["sex", "age", "province"])  # P(sex, age, province), 2024
    n_prov = parent.shape[2]
    grid, bands = _census_grid(ctx, n_prov, n_edu)
    period = _band_of(AGES, bands)
    cohort = np.where(AGES >= 30, _band_of(AGES - COHORT_SHIFT, bands), period)
    young = AGES < MARITAL_COHORT_FROM
    marital_band = np.where(young, period, _band_of(AGES - COHORT_SHIFT, bands))
    dims = ("sex", "age", "province", "education", "marital")
    known_edu = np.array([-1, -1, 0, 1, 2, 3, 4])  # the five levels the partial file has
    low = low_education_shares(ctx, grid, bands)

    # --- stage 1: education | sex, age, province -------------------------------------------------
    edu_seed, derivation = _education_seed(ctx, parent, grid, bands, period, cohort, marital_band, low)
    edu_margins: list[Margin] = []
    # Education composition of the upper levels, by cohort (all marital statuses share it).
    upper = grid.sum(axis=4)[:, :, :, 2:]  # sex, band, province, 5 levels
    edu_margins.append(Margin(
        f"{CENSUS}: education (upper 5 levels) | sex, cohort, province",
        ("sex", "age", "province", "education"), upper,
        groups={"age": cohort, "education": known_edu}, given=("sex", "age", "province"),
    ))
    # 30+ attainment (2020), carried forward to ages ≥ 34.
    press = ctx.table(PRESS).filter(pl.col("topic") == "education", pl.col("age_band") == "30+",
                                    pl.col("measure") == "share")
    shares = {r["category"]: r["value"] for r in press.iter_rows(named=True)}
    target = np.array([
        100 - shares["초등학교 졸업"] - shares["중학교 졸업"] - shares["고등학교 졸업"] - shares["대학 이상 졸업"],
        shares["초등학교 졸업"], shares["중학교 졸업"], shares["고등학교 졸업"], shares["대학 이상 졸업"],
    ])
    edu_margins.append(Margin(
        f"{PRESS}: 2020 census attainment of the 30+ (cohort, ages ≥ 34 in 2024)",
        ("age", "education"), target[None, :],
        groups={"age": np.where(AGES >= 30 + COHORT_SHIFT, 0, -1), "education": np.array([0, 1, 2, 3, 4, 4, 4])},
    ))
    # 무학+초등 share by sex × age band from the mean years of schooling (cohort-shifted).
    band_edges = [20, 30, 40, 50]
    mean_band = np.searchsorted(band_edges, AGES - COHORT_SHIFT, side="right") - 1
    # Not 20-29: there the census counts students at the level they attend while the mean years
    # exclude students, so the solved share is not meaningful (the seed decides below 30).
    mean_band = np.where(mean_band >= 1, mean_band - 1, -1)
    low_target = np.array([[[low[(s, b)], 1 - low[(s, b)]] for b in ("30-39", "40-49", "50+")] for s in (0, 1)])
    edu_margins.append(Margin(
        f"{PRESS}: share with ≤ elementary schooling | sex, band (from mean years of schooling, 2020)",
        ("sex", "age", "education"), low_target,
        groups={"age": mean_band, "education": np.array([0, 0, 1, 1, 1, 1, 1])}, given=("sex", "age"),
    ))
    # How the 무학/초등 spread over the 5-year cohorts within 30–49 and within 50+ (2020), per sex: the
    # seed's shape (50+: the census coverage, population − known cells − 사별/이혼; 30–49: flat within
    # each mean-years band). The mean-years margin sets the levels; without these shapes the education
    # tables' disagreement drains low education from some cohorts into others as the sweeps go on
    # (men 65–69 with ~0 %, 55–59 with ~18 %).
    for lo, hi, name in (
        (30, 50, "assumption: 무학/초등 over the 5-year cohorts of the 30–49 (2020) | sex — flat within the "
                 "mean-years bands"),
        (50, 999, f"{CENSUS} (derived): 무학/초등 over the 5-year cohorts of the 50+ (2020) | sex — census "
                  "coverage: population − known cells − structural 사별/이혼"),
    ):
        in_span = (AGES >= lo + COHORT_SHIFT) & (AGES < hi + COHORT_SHIFT)
        span_band = np.where(in_span, cohort, -1)
        low_by_band = np.zeros((2, len(bands), 1))
        for i in range(len(bands)):
            low_by_band[:, i, 0] = edu_seed[:, span_band == i, :, :2].sum(axis=(1, 2, 3))
        edu_margins.append(Margin(
            name, ("sex", "age", "education"), low_by_band,
            groups={"age": span_band, "education": np.array([0, 0, -1, -1, -1, -1, -1])}, given=("sex",),
        ))
    parent_margin = Margin("parent: sex × age × province (2024 registration)",
                           ("sex", "age", "province"), parent)
    edu_joint, edu_report = ipf_fit(edu_seed, dims[:4], edu_margins + [parent_margin],
                                    max_sweeps=EDU_SWEEPS, tol=1e-9)

    # --- stage 2: marital | education, sex, age, province ----------------------------------------
    low_marital = low_education_marital_2020(ctx, grid)
    mar_seed, levels, low_factor = _marital_seed(ctx, edu_joint, grid, marital_band, young, low_marital)
    trend = levels[:, 2]
    derivation.update({
        "widow_level": levels[:, 0].tolist(), "divorce_level": levels[:, 1].tolist(),
        "never_married_odds_trend_below_cohort_age": trend.tolist(),
        "low_education_never_married_odds_factor": low_factor,
        "low_education_never_married_2020": low_marital[0], "low_education_married_2020": low_marital[1],
    })
    mar_margins: list[Margin] = []
    # 미혼 : 배우자있음 within each upper education level: by cohort from 40; below 40 the same age in
    # 2020 with the never-married odds raised by the 2020 → 2024 trend factor (one per sex).
    n_bands = len(bands)
    ratio_grid = np.concatenate([grid[:, :, :, 2:, :], grid[:, :, :, 2:, :]], axis=1)
    ratio_grid[:, n_bands:, ..., 0] *= trend[:, None, None, None]
    mar_margins.append(Margin(
        f"{CENSUS}: 미혼 vs 배우자있음 | sex, age, province, education "
        f"(by cohort from {MARITAL_COHORT_FROM}; same age below, never-married odds × 2020→2024 trend "
        "from Table 8)",
        ("sex", "age", "province", "education", "marital"), ratio_grid,
        groups={"age": np.where(young, n_bands + period, marital_band), "education": known_edu,
                "marital": np.array([0, 1, -1, -1])},
        given=("sex", "age", "province", "education"),
    ))
    # 미혼 : 유배우 among the 무학/초등 (2020 census 15+, carried by cohort to the 2024 19+): the
    # published 15+ totals minus the partial file's cells, which cover every other education level.
    mar_margins.append(Margin(
        f"{PRESS}: 미혼 vs 유배우 among 무학/초등 (2020 census 15+ totals − partial cells, by cohort)",
        ("education", "marital"), np.array([list(low_marital)]),
        groups={"education": np.array([0, 0, -1, -1, -1, -1, -1]), "marital": np.array([0, 1, -1, -1])},
    ))
    # Divorced share of the 30+ by sex (2020), then Table 8 marital by sex (2024) — the bar.
    mpress = ctx.table(PRESS).filter(pl.col("topic") == "marital", pl.col("age_band") == "30+",
                                     pl.col("category") == "이혼", pl.col("measure") == "share")
    divorced = {r["sex"]: r["value"] / 100 for r in mpress.iter_rows(named=True) if r["sex"] in "MF"}
    paper = ctx.table(PAPER).filter(pl.col("table") == "T8")
    t8 = {(r["sex"], r["category"]): r["value"] for r in paper.iter_rows(named=True)}
    mar_margins.append(Margin(
        f"{PRESS}: divorced share of the 30+ by sex (2020 census)",
        ("sex", "age", "marital"), np.array([[[divorced[s], 1 - divorced[s]]] for s in "MF"]),
        groups={"age": np.where(AGES >= 30, 0, -1), "marital": np.array([1, 1, 1, 0])}, given=("sex",),
    ))
    # Table 8 gives 사별·이혼 together; split it so that the divorced share above is kept.
    t8_target = np.array([[t8[(s, "미혼")], t8[(s, "유배우")], t8[(s, "사별·이혼")]] for s in "MF"])
    mar_margins.append(Margin(
        f"{PAPER}: Table 8 marital status by sex, adults 19+ (KOSIS DT_1MR2060, 2024)",
        ("sex", "marital"), t8_target, groups={"marital": np.array([0, 1, 2, 2])}, given=("sex",),
    ))
    held = Margin("stage 1: education | sex, age, province (held)", dims[:4], edu_joint)
    joint, mar_report = ipf_fit(mar_seed, dims, mar_margins + [held], max_sweeps=300, tol=1e-9)

    # Every table, evaluated on the final joint (zero sweeps: nothing is changed).
    _, final = ipf_fit(joint, dims, edu_margins + mar_margins + [parent_margin], max_sweeps=0)
    converged = edu_report.converged and mar_report.converged
    report = FitReport(converged, edu_report.sweeps + mar_report.sweeps, final.margins,
                       [] if converged else final.conflicts)
    ctx.record("education_marital", "ipf", report)
    # How far the result is from the raw 2020 ratios at the same age (what the trend and the cohort
    # reading change), for the record.
    raw = Margin("2020 미혼 vs 배우자있음 at the same age, no trend", dims, grid[:, :, :, 2:, :],
                 groups={"age": period, "education": known_edu, "marital": np.array([0, 1, -1, -1])},
                 given=("sex", "age", "province", "education"))
    raw_fit = ipf_fit(joint, dims, [raw], max_sweeps=0)[1].margins[0]
    derivation["raw_2020_same_age_ratio_gap"] = {"total_variation": raw_fit.total_variation,
                                                 "max_abs_pp": raw_fit.max_abs_pp}
    derivation["stages"] = {"education": {"converged": edu_report.converged, "sweeps": edu_report.sweeps},
                            "marital": {"converged": mar_report.converged, "sweeps": mar_report.sweeps}}
    ctx.record("education_marital", "seed", derivation)

    tables = (CENSUS, PRESS, PAPER, CENSUS2010)
    ctx.add(Variable(
        "education", edu_labels, ("sex", "age", "province"), conditional(joint.sum(axis=4)), tables,
        assumptions=(
            "the education mix of 사별/이혼 equals that of 미혼/유배우 in the same sex × age × province cell",
            "2020 census education carried forward by birth cohort for ages ≥ 30 (4 years); same age below 30",
            "무학/초등 of cohorts aged 50+ in 2020 shaped by the census coverage: population(2020) − known "
            "cells − upper-level widowed/divorced, per sex × band × province; 2020 population between the "
            "2010 census and 2024 registration under Gompertz mortality; migration 2020–24 ignored",
            "무학/초등 below 30 (2020): the 20–29 decade total (미혼 ÷ 미혼 share) − known cells − the "
            "structural widowed/divorced share, the same at every age 19–33 in 2024 and in every province",
            "무학/초등 at 30–49 (2020): flat within the mean-years bands 30–39 and 40–49, no province variation",
            "무학 : 초등 is the national 30+ ratio at every age (no age split shipped)",
            "no interaction of education with province beyond the census cells; mortality 2020–24 "
            "not differentiated by education",
        ),
    ))
    ctx.add(Variable(
        "marital", mar_labels, ("sex", "age", "province", "education"), conditional(joint), tables,
        assumptions=(
            f"미혼:유배우 ratios by cohort from age {MARITAL_COHORT_FROM} (the 2020 band of age − 4); below "
            "it 2020's at the same age with the never-married odds × one 2020→2024 factor per sex, solved "
            "so that Table 8 holds",
            f"widowed share of the ever-married = 1 − exp(−Gompertz cumulative hazard from age {WIDOW_FROM}, "
            f"doubling every {GOMPERTZ_DOUBLING:g} years), one level per sex solved from Table 8 사별·이혼 "
            "minus the divorced; no widowhood before 20 (structural zero)",
            f"divorced share of the ever-married ∝ exp(−½((age − {DIVORCE_PEAK:g})/{DIVORCE_SPREAD:g})²), one "
            "level per sex solved from the 2020 divorced share of the 30+; peak and spread chosen so that the "
            "2020 사별/이혼 share of each decade 20–59 stays within what the published decade totals leave "
            "unknown (no age-specific official table shipped; fetch DT_1MR2060 to refine)",
            "widowhood and divorce do not depend on education or province; the never-married share does "
            "(census ratio per cell; one odds factor for the 무학/초등 from the 2020 15+ totals)",
        ),
    ))


# --- the seed --------------------------------------------------------------------------------------


def marital_shape(ages: np.ndarray, widow_level: float, divorce_level: float) -> tuple[np.ndarray, np.ndarray]:
    """Widowed and divorced shares *of the ever-married* at ``ages`` (structural shape, given levels).

    Widowed: ``1 − exp(−H)``, ``H`` the Gompertz cumulative hazard from ``WIDOW_FROM`` with initial
    level ``widow_level``. Divorced: a Gaussian hump in age scaled by ``divorce_level``. Widowhood
    applies to those not divorced, so the two never sum above one.
    """
    beta = np.log(2.0) / GOMPERTZ_DOUBLING
    t = np.clip(np.asarray(ages, dtype=float) - WIDOW_FROM, 0.0, None)
    hazard = widow_level * np.expm1(beta * t) / beta
    divorced = np.clip(divorce_level * np.exp(-0.5 * ((ages - DIVORCE_PEAK) / DIVORCE_SPREAD) ** 2), 0.0, 0.95)
    widowed = (1.0 - divorced) * -np.expm1(-hazard)
    return widowed, divorced


def marital_shares(ratio: np.ndarray, widowed: np.ndarray, divorced: np.ndarray) -> np.ndarray:
    """(미혼, 유배우, 사별, 이혼) shares (last axis) from the census ratio ``r = 미혼 / (미혼 + 유배우)``.

    With ``ω`` the widowed + divorced share of the ever-married, ``미혼 = σ`` and
    ``유배우 = (1 − σ)(1 − ω)``, so ``σ = r (1 − ω) / (1 − r ω)``: the never married can be neither
    widowed nor divorced.
    """
    omega = widowed + divorced
    sigma = ratio * (1.0 - omega) / np.maximum(1.0 - ratio * omega, 1e-12)
    ever = 1.0 - sigma
    return np.stack([sigma, ever * (1.0 - omega), ever * widowed, ever * divorced], axis=-1)


def _with_odds(ratio: np.ndarray, factor: float | np.ndarray) -> np.ndarray:
    """``ratio`` with its odds multiplied by ``factor``."""
    return factor * ratio / np.maximum(1.0 - ratio + factor * ratio, 1e-300)


def calibrate_marital(ctx: FitContext, mass: np.ndarray, ages: np.ndarray, ratio: np.ndarray, young: np.ndarray,
                      low: np.ndarray | None = None, low_target: tuple[float, float] = (1.0, 1.0),
                      ) -> tuple[np.ndarray, float]:
    """Levels that make the seed meet the official marital totals.

    ``mass``, ``ratio``, ``young``, ``low`` are arrays over (sex, cells…) — 2024 population mass, census
    미혼 share of 미혼 + 유배우 (by cohort from ``MARITAL_COHORT_FROM``, same age below it), whether the cell
    is below ``MARITAL_COHORT_FROM`` and whether it is 무학/초등 — and ``ages`` the 2024 age of each cell.
    Solved per sex: the divorce level from the 2020 divorced share of the 30+; the widowhood level from
    Table 8 사별·이혼; ``trend``, the factor on the never-married odds below ``MARITAL_COHORT_FROM`` (the
    2020 → 2024 rise of the never married, which 2020 ratios cannot know), from Table 8 미혼. With
    ``low``, also one factor on the never-married odds of the 무학/초등 (both sexes) so that their
    미혼 : 유배우 is ``low_target`` (the 2020 census's: :func:`low_education_marital_2020`).
    Returns ``(levels, low_factor)``, ``levels[s] = (widow_level, divorce_level, trend)``.
    """
    paper = ctx.table(PAPER).filter(pl.col("table") == "T8")
    press = ctx.table(PRESS).filter(pl.col("topic") == "marital", pl.col("age_band") == "30+",
                                    pl.col("category") == "이혼", pl.col("measure") == "share")
    single_low, married_low = low_target
    levels = np.array([[1e-4, 0.1, 1.0], [1e-4, 0.1, 1.0]])
    low_factor = 1.0
    low = np.zeros(mass.shape, dtype=bool) if low is None else low

    def shares(s: int, widow: float, divorce: float, trend: float, low_factor: float) -> np.ndarray:
        r = np.where(young[s], _with_odds(ratio[s], trend), ratio[s])
        r = np.where(low[s], _with_odds(r, low_factor), r)
        return marital_shares(r, *marital_shape(ages[s], widow, divorce)) * mass[s][..., None]

    for _ in range(40):
        for s, sex in enumerate("MF"):
            rows = paper.filter(pl.col("sex") == sex).iter_rows(named=True)
            t8 = {r["category"]: r["value"] / 100 for r in rows}
            div = _press_value(press, sex=sex) / 100
            n, over30, yg = mass[s] / mass[s].sum(), ages[s] >= 30, young[s]
            widow, divorce, trend = levels[s]
            x = shares(s, widow, divorce, trend, low_factor) / mass[s].sum()
            divorce *= div / (x[over30][:, 3].sum() / n[over30].sum())
            target = t8["사별·이혼"] - shares(s, widow, divorce, trend, low_factor)[..., 3].sum() / mass[s].sum()
            lo, hi = np.log(1e-9), 0.0
            for _ in range(50):  # the widowed share rises with the level: bisect on its log
                mid = 0.5 * (lo + hi)
                got = shares(s, np.exp(mid), divorce, trend, low_factor)[..., 2].sum() / mass[s].sum()
                lo, hi = (mid, hi) if got < target else (lo, mid)
            widow = float(np.exp(0.5 * (lo + hi)))
            x = shares(s, widow, divorce, trend, low_factor) / mass[s].sum()
            # Raise the young never-married odds by what Table 8 still lacks.
            have = x[yg][:, 0].sum()
            want = have + t8["미혼"] - x[..., 0].sum()
            trend *= (want / max(n[yg].sum() - want, 1e-12)) / (have / max(n[yg].sum() - have, 1e-12))
            levels[s] = widow, divorce, trend
        if low.any():
            x = [shares(s, *levels[s], low_factor) for s in range(2)]
            have_single = sum(xs[low[s]][:, 0].sum() for s, xs in enumerate(x))
            have_married = sum(xs[low[s]][:, 1].sum() for s, xs in enumerate(x))
            low_factor *= (single_low / married_low) / (have_single / have_married)
    return levels, low_factor


def low_education_marital_2020(ctx: FitContext, grid: np.ndarray) -> tuple[float, float]:
    """(미혼, 유배우) among the 무학/초등, 2020 census 15+: published totals minus the partial file's cells."""
    m15 = ctx.table(PRESS).filter(pl.col("topic") == "marital", pl.col("year") == str(CENSUS_YEAR),
                                  pl.col("age_band") == "15+", pl.col("measure") == "population")
    single = _press_value(m15, category="미혼") * 1000 - grid[..., 0].sum()
    married = _press_value(m15, category="유배우") * 1000 - grid[..., 1].sum()
    if single <= 0 or married <= 0:
        raise ValueError(f"{PRESS}: 15+ 미혼/유배우 totals do not exceed the partial census cells")
    return float(single), float(married)


def census_ratio(upper_grid: np.ndarray, band: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Census 미혼 share of 미혼 + 유배우 per (sex, age, province, upper level), and per (sex, age).

    ``band`` maps each 2024 age to the 2020 band it reads. Cells without known people fall back to the
    national ratio of the level, then to the national ratio of all five levels.
    """
    by_cell = upper_grid[:, band]  # sex, age, province, 5, 2
    pooled_prov = upper_grid.sum(axis=2)[:, band][:, :, None]  # sex, age, 1, 5, 2
    pooled_edu = upper_grid.sum(axis=(2, 3))[:, band][:, :, None, None]  # sex, age, 1, 1, 2
    with np.errstate(invalid="ignore", divide="ignore"):
        r_cell = by_cell[..., 0] / by_cell.sum(axis=-1)
        r_prov = pooled_prov[..., 0] / pooled_prov.sum(axis=-1)
        r_all = pooled_edu[..., 0] / pooled_edu.sum(axis=-1)
    ratio = np.where(np.isfinite(r_cell), r_cell, np.where(np.isfinite(r_prov), r_prov, r_all))
    return ratio, r_all[:, :, 0, 0]


def population_2020(ctx: FitContext, cohort_pop: np.ndarray, bands: list[int]) -> np.ndarray:
    """National 2020 population by sex × 2020 band, between the 2010 census and 2024 registration.

    Each 2020 band is a cohort ten years younger in 2010 and four years older in 2024. Under the
    Gompertz law a cohort's log-survival over ``t`` years is proportional to ``exp(βt) − 1`` whatever its
    age, so ``N2020 = N2010 · (N2024 / N2010) ** k`` with ``k = (e^{10β} − 1) / (e^{14β} − 1)``.
    ``cohort_pop`` is the 2024 population by sex × 2020 band (its ages + 4); the open 2020 band reads
    the 2010 bands from its lower edge − 10 up.
    """
    c10 = ctx.table(CENSUS2010)
    beta = np.log(2.0) / GOMPERTZ_DOUBLING
    k = np.expm1(beta * (CENSUS_YEAR - OLD_CENSUS_YEAR)) / np.expm1(beta * (REGISTER_YEAR - OLD_CENSUS_YEAR))
    out = np.array(cohort_pop, dtype=float)
    for s, sex in enumerate("MF"):
        rows = c10.filter(pl.col("sex") == sex)
        for i, b in enumerate(bands):
            lo = b - (CENSUS_YEAR - OLD_CENSUS_YEAR)
            top = i == len(bands) - 1
            sel = rows.filter(pl.col("age_lo") >= lo) if top else rows.filter(pl.col("age_lo") == lo)
            n10 = float(sel["population"].sum())
            if n10 > 0 and cohort_pop[s, i] > 0:
                out[s, i] = n10 * (cohort_pop[s, i] / n10) ** k
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _education_seed(ctx: FitContext, parent: np.ndarray, grid: np.ndarray, bands: list[int],
                    period: np.ndarray, cohort: np.ndarray, marital_band: np.ndarray,
                    low: dict[tuple[int, str], float]) -> tuple[np.ndarray, dict]:
    """Seed of (sex, age, province, education) and its derivation (kept in the card).

    The upper five levels take the census cohort's composition. The 무학/초등 share is solved for
    cohorts aged 50+ in 2020 from ``known = N2020 · (1 − low) · (1 − wd)`` per sex × band × province
    (``wd`` the structural widowed + divorced share at the 2020 ages, ``N2020`` from
    :func:`population_2020` spread over provinces as the cohort is in 2024); at 30–49 it is the share
    solved from the mean years of schooling; below 30 it is what the 2020 decade total 20–29 leaves after
    the known cells and ``wd``. Single ages are logit-linear between band midpoints from 34 (2024).
    """
    from ingu.model.blocks.geography import adult_population

    n_prov = parent.shape[2]
    pop = adult_population(ctx).sum(axis=0)  # sex, age (2024 counts)
    prov_share = parent / np.maximum(parent.sum(axis=2, keepdims=True), 1e-300)
    counts = pop[..., None] * prov_share  # sex, age, province (2024)
    young = AGES < MARITAL_COHORT_FROM
    upper_grid = grid[:, :, :, 2:]  # the five levels the partial file has

    # Structural widowed + divorced share at each age, levels from the national totals (a first pass
    # on the sex × age ratios; the marital stage solves them again on the cells).
    _, r_national = census_ratio(upper_grid, marital_band)
    _, r_period = census_ratio(upper_grid, period)
    ages2 = np.broadcast_to(AGES, pop.shape)
    levels, _ = calibrate_marital(ctx, pop, ages2, r_national, np.broadcast_to(young, pop.shape))
    wd2020 = np.zeros((2, len(bands)))
    for s in range(2):
        full = marital_shares(r_period[s], *marital_shape(AGES, levels[s, 0], levels[s, 1]))
        wd_age = full[:, 2] + full[:, 3]  # the 2020 profile: 2020 ratios at the same ages, no trend
        for i in range(len(bands)):
            sel = period == i
            if sel.any():
                wd2020[s, i] = np.average(wd_age[sel], weights=pop[s, sel])

    # 2020 population by sex × band × province: national interpolation, the cohort's 2024 province mix.
    known = grid.sum(axis=(3, 4))  # sex, band, province (2020)
    cohort_of_age = _band_of(AGES - COHORT_SHIFT, bands)
    cohort_counts = np.stack([counts[:, cohort_of_age == b].sum(axis=1) for b in range(len(bands))], axis=1)
    n2020_nat = population_2020(ctx, cohort_counts.sum(axis=2), bands)
    n2020 = cohort_counts * (n2020_nat / np.maximum(cohort_counts.sum(axis=2), 1e-300))[..., None]

    # The published 2020 decade totals (미혼 population ÷ 미혼 share) minus the known cells leave the
    # unknown mass (무학/초등 + 사별/이혼) of each decade: below 30 it solves the 무학/초등 share; at
    # 30–59 it bounds the structural 사별/이혼 share (kept in the derivation as a check).
    decades = {}
    for lo in (20, 30, 40, 50):
        press = ctx.table(PRESS).filter(pl.col("topic") == "marital", pl.col("year") == str(CENSUS_YEAR),
                                        pl.col("age_band") == f"{lo}-{lo + 9}", pl.col("category") == "미혼",
                                        pl.col("sex") == "T")
        total = _press_value(press, measure="population") * 1000 / (
            _press_value(press, measure="share_of_age_group") / 100)
        idx = [i for i, b in enumerate(bands) if lo <= b < lo + 10]
        decades[f"{lo}-{lo + 9}"] = {
            "unknown_share": float(1.0 - known[:, idx].sum() / total),
            "structural_widowed_divorced_share": float(np.average(wd2020[:, idx], weights=n2020_nat[:, idx])),
        }
    unknown_20s = decades["20-29"]["unknown_share"]
    wd_20s = decades["20-29"]["structural_widowed_divorced_share"]
    low_young = max((unknown_20s - wd_20s) / (1.0 - wd_20s), LOW_FLOOR)

    low_band = np.zeros((2, len(bands), n_prov))
    for i, b in enumerate(bands):
        if b < 30:
            low_band[:, i] = low_young
        elif b < 50:
            for s in range(2):
                low_band[s, i] = low[(s, "30-39" if b < 40 else "40-49")]
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                coverage = np.where(n2020[:, i] > 0, known[:, i] / n2020[:, i], 1.0)
            low_band[:, i] = np.clip(1.0 - coverage / (1.0 - wd2020[:, i, None]), LOW_FLOOR, 0.98)
    mids = np.array([b + 2 + COHORT_SHIFT for b in bands], dtype=float)
    from_30 = np.array([b >= 30 for b in bands])
    low_share = np.full((2, len(AGES), n_prov), low_young)
    older = AGES >= 30 + COHORT_SHIFT
    for s in range(2):
        for p in range(n_prov):
            curve = np.interp(AGES[older], mids[from_30], _logit(low_band[s, from_30, p]))
            low_share[s, older, p] = 1.0 / (1.0 + np.exp(-curve))

    # 무학 : 초등 as in the 30+ attainment; the upper five as the census cohort's composition.
    press_edu = ctx.table(PRESS).filter(pl.col("topic") == "education", pl.col("age_band") == "30+",
                                        pl.col("measure") == "share")
    elem = _press_value(press_edu, category="초등학교 졸업")
    none = 100.0 - elem - sum(_press_value(press_edu, category=c)
                              for c in ("중학교 졸업", "고등학교 졸업", "대학 이상 졸업"))
    upper = upper_grid.sum(axis=4)[:, cohort]  # sex, age, province, 5
    upper_all = upper_grid.sum(axis=(2, 4))[:, cohort][:, :, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        mix = upper / upper.sum(axis=-1, keepdims=True)
        mix_all = upper_all / upper_all.sum(axis=-1, keepdims=True)
    mix = np.where(np.isfinite(mix), mix, mix_all)
    edu = np.concatenate([
        (low_share * none / (none + elem))[..., None], (low_share * elem / (none + elem))[..., None],
        (1.0 - low_share)[..., None] * mix,
    ], axis=-1)  # sex, age, province, 7

    derivation = {
        "gompertz_doubling_years": GOMPERTZ_DOUBLING, "widow_from_age": WIDOW_FROM,
        "divorce_peak": DIVORCE_PEAK, "divorce_spread": DIVORCE_SPREAD,
        "marital_cohort_from": MARITAL_COHORT_FROM,
        "decades_2020": decades,
        "low_education_below_30_2020": float(low_young),
        "population_2020_by_sex_band": {f"{sex}{b}": round(float(n2020_nat[s, i]))
                                        for s, sex in enumerate("MF") for i, b in enumerate(bands)},
        "low_education_seed_by_sex_band_2020": {
            f"{sex}{b}": round(float(np.average(low_band[s, i], weights=np.maximum(n2020[s, i], 1e-9))), 4)
            for s, sex in enumerate("MF") for i, b in enumerate(bands)},
    }
    return (edu + 1e-12) * parent[..., None], derivation


def _marital_seed(ctx: FitContext, edu_joint: np.ndarray, grid: np.ndarray, marital_band: np.ndarray,
                  young: np.ndarray, low_marital: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, float]:
    """Seed of the full joint: the fitted education joint × P(marital | education, sex, age, province).

    :func:`marital_shares` of each cell's census ratio (the upper levels; the 무학/초등 take their
    sex × age ratio) and the structural widowed/divorced shares at the 2024 age, with the levels,
    the young never-married trend and the 무학/초등 factor solved on these very cells
    (:func:`calibrate_marital`). Returns ``(seed, levels, low_factor)``.
    """
    n_prov, n_edu = edu_joint.shape[2], edu_joint.shape[3]
    upper_grid = grid[:, :, :, 2:]
    ratio, r_national = census_ratio(upper_grid, marital_band)  # (2, A, P, 5), (2, A)
    ratio_all = np.concatenate([np.broadcast_to(r_national[:, :, None, None], (2, len(AGES), n_prov, 2)), ratio],
                               axis=-1)  # sex, age, province, 7
    shape = ratio_all.shape
    ages = np.broadcast_to(AGES[None, :, None, None], shape)
    young_cells = np.broadcast_to(young[None, :, None, None], shape)
    low_cells = np.broadcast_to((np.arange(n_edu) < 2)[None, None, None, :], shape)
    levels, low_factor = calibrate_marital(ctx, edu_joint, ages, ratio_all, young_cells, low_cells, low_marital)
    r = np.where(young_cells, _with_odds(ratio_all, levels[:, 2, None, None, None]), ratio_all)
    r = np.where(low_cells, _with_odds(r, low_factor), r)
    widowed = np.zeros((2, len(AGES)))
    divorced = np.zeros((2, len(AGES)))
    for s in range(2):
        widowed[s], divorced[s] = marital_shape(AGES, levels[s, 0], levels[s, 1])
    mar = marital_shares(r, widowed[:, :, None, None], divorced[:, :, None, None])
    return edu_joint[..., None] * (mar + 1e-12), levels, low_factor
