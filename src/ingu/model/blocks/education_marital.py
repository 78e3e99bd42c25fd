"""Block ``education_marital``: education | sex, age, province; marital | sex, age, province, education.

One joint over sex × single-year age × province × education (7) × marital status (4) is raked to:

* ``census_partial`` — 2020 census (20 % sample) cells for 미혼/유배우 × 5 upper education levels by
  sex × province × 5-year age. Education composition is carried forward **by birth cohort** for
  ages ≥ 30 in 2024 (a 2024 age ``a`` reads the 2020 band of ``a − 4``: education is complete by then);
  younger ages and the 미혼:유배우 split use the **same age** in 2020 (both still change with age).
* ``press_cells`` — the 2020 census 30+ attainment (초등 8.2 %, 중 9.1 %, 고 36.1 %, 대학 이상 43.1 %;
  무학 = the 3.5 % remainder), carried forward to ages ≥ 34 in 2024, and the mean years of schooling by
  sex × age band, which — given the upper levels' composition — solves the share with at most
  elementary schooling per sex and band (the 무학/초등 cells missing from the partial file).
* ``paper_cells`` Table 8 — marital status by sex among adults 19+ (KOSIS DT_1MR2060, Dec 2024),
  with 사별·이혼 split by the 2020 census divorced share of the 30+ population by sex.

The cells the partial file lacks (무학/초등 for everyone, every education level for 사별/이혼) are not
guessed: they are seeded by each cell's residual — the 2024 population of the cohort minus the 2020
known cells — and their totals are then solved by the margins above.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ingu.model.context import AGES, FitContext, conditional
from ingu.model.ipf import Margin, fit as ipf_fit
from ingu.model.network import Variable

CENSUS = "census2020_sex_province_age5_marital_education_partial"
PRESS = "press_cells"
PAPER = "paper_cells"
# Years of schooling per level, KOSTAT's convention for 평균 교육년수 (graduate school as 18).
YEARS = np.array([0.0, 6.0, 9.0, 12.0, 14.0, 16.0, 18.0])
COHORT_SHIFT = 4  # 2020 census → 2024 reference year


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
    """Add ``education`` and ``marital`` to the model."""
    edu_labels = ctx.labels("education")
    mar_labels = ctx.labels("marital")
    n_edu, n_mar = len(edu_labels), len(mar_labels)
    parent = ctx.marginal(["sex", "age", "province"])  # P(sex, age, province), 2024
    n_prov = parent.shape[2]
    grid, bands = _census_grid(ctx, n_prov, n_edu)
    period = _band_of(AGES, bands)
    cohort = np.where(AGES >= 30, _band_of(AGES - COHORT_SHIFT, bands), period)
    dims = ("sex", "age", "province", "education", "marital")
    known_edu = np.array([-1, -1, 0, 1, 2, 3, 4])  # the five levels the partial file has

    seed = _seed(ctx, parent, grid, cohort, n_edu, n_mar)
    margins: list[Margin] = []
    # Education composition of the upper levels, by cohort (all marital statuses share it).
    upper = grid.sum(axis=4)[:, :, :, 2:]  # sex, band, province, 5 levels
    margins.append(Margin(
        f"{CENSUS}: education (upper 5 levels) | sex, cohort, province",
        ("sex", "age", "province", "education"), upper,
        groups={"age": cohort, "education": known_edu}, given=("sex", "age", "province"),
    ))
    # 미혼 : 배우자있음 by same age, within each upper education level.
    margins.append(Margin(
        f"{CENSUS}: 미혼 vs 배우자있음 | sex, age, province, education",
        ("sex", "age", "province", "education", "marital"), grid[:, :, :, 2:, :],
        groups={"age": period, "education": known_edu, "marital": np.array([0, 1, -1, -1])},
        given=("sex", "age", "province", "education"),
    ))
    # 30+ attainment (2020), carried forward to ages ≥ 34.
    press = ctx.table(PRESS).filter(pl.col("topic") == "education", pl.col("age_band") == "30+",
                                    pl.col("measure") == "share")
    shares = {r["category"]: r["value"] for r in press.iter_rows(named=True)}
    target = np.array([
        100 - shares["초등학교 졸업"] - shares["중학교 졸업"] - shares["고등학교 졸업"] - shares["대학 이상 졸업"],
        shares["초등학교 졸업"], shares["중학교 졸업"], shares["고등학교 졸업"], shares["대학 이상 졸업"],
    ])
    margins.append(Margin(
        f"{PRESS}: 2020 census attainment of the 30+ (cohort, ages ≥ 34 in 2024)",
        ("age", "education"), target[None, :],
        groups={"age": np.where(AGES >= 30 + COHORT_SHIFT, 0, -1), "education": np.array([0, 1, 2, 3, 4, 4, 4])},
    ))
    # 무학+초등 share by sex × age band from the mean years of schooling (cohort-shifted).
    low = low_education_shares(ctx, grid, bands)
    band_edges = [20, 30, 40, 50]
    mean_band = np.searchsorted(band_edges, AGES - COHORT_SHIFT, side="right") - 1
    # Not 20-29: there the census counts students at the level they attend while the mean years
    # exclude students, so the solved share is not meaningful (the seed decides below 30).
    mean_band = np.where(mean_band >= 1, mean_band - 1, -1)
    low_target = np.array([[[low[(s, b)], 1 - low[(s, b)]] for b in ("30-39", "40-49", "50+")] for s in (0, 1)])
    margins.append(Margin(
        f"{PRESS}: share with ≤ elementary schooling | sex, band (from mean years of schooling, 2020)",
        ("sex", "age", "education"), low_target,
        groups={"age": mean_band, "education": np.array([0, 0, 1, 1, 1, 1, 1])}, given=("sex", "age"),
    ))
    # Divorced share of the 30+ by sex (2020), then Table 8 marital by sex (2024) — the bar.
    mpress = ctx.table(PRESS).filter(pl.col("topic") == "marital", pl.col("age_band") == "30+",
                                     pl.col("category") == "이혼")
    divorced = {r["sex"]: r["value"] / 100 for r in mpress.iter_rows(named=True) if r["sex"] in "MF"}
    paper = ctx.table(PAPER).filter(pl.col("table") == "T8")
    t8 = {(r["sex"], r["category"]): r["value"] for r in paper.iter_rows(named=True)}
    margins.append(Margin(
        f"{PRESS}: divorced share of the 30+ by sex (2020 census)",
        ("sex", "age", "marital"), np.array([[[divorced[s], 1 - divorced[s]]] for s in "MF"]),
        groups={"age": np.where(AGES >= 30, 0, -1), "marital": np.array([1, 1, 1, 0])}, given=("sex",),
    ))
    # Table 8 gives 사별·이혼 together; split it so that the divorced share above is kept.
    t8_target = np.array([[t8[(s, "미혼")], t8[(s, "유배우")], t8[(s, "사별·이혼")]] for s in "MF"])
    margins.append(Margin(
        f"{PAPER}: Table 8 marital status by sex, adults 19+ (KOSIS DT_1MR2060, 2024)",
        ("sex", "marital"), t8_target, groups={"marital": np.array([0, 1, 2, 2])}, given=("sex",),
    ))
    margins.append(Margin("parent: sex × age × province (2024 registration)",
                          ("sex", "age", "province"), parent))
    joint, report = ipf_fit(seed, dims, margins, max_sweeps=300, tol=1e-9)
    ctx.record("education_marital", "ipf", report)

    tables = (CENSUS, PRESS, PAPER)
    edu_joint = joint.sum(axis=4)
    ctx.add(Variable(
        "education", edu_labels, ("sex", "age", "province"), conditional(edu_joint), tables,
        assumptions=(
            "the education mix of 사별/이혼 equals that of 미혼/유배우 in the same sex × age × province cell",
            "2020 census education carried forward by birth cohort for ages ≥ 30 (4 years); same age below 30",
            "no interaction of education with province beyond the census cells; mortality 2020–24 "
            "not differentiated by education",
        ),
    ))
    ctx.add(Variable(
        "marital", mar_labels, ("sex", "age", "province", "education"), conditional(joint), tables,
        assumptions=(
            "미혼:유배우 ratios by age are 2020's (period), rescaled to the 2024 totals of Table 8",
            "사별 vs 이혼 by age follows the residual cohort mass (no age-specific official table "
            "shipped; fetch DT_1MR2060 to refine)",
        ),
    ))


def _seed(ctx: FitContext, parent: np.ndarray, grid: np.ndarray, cohort: np.ndarray,
          n_edu: int, n_mar: int) -> np.ndarray:
    """Seed joint: known 2020 cells by cohort; unknown cells get the cohort's residual mass.

    The residual of a (sex, 2020 band, province) cell is the share of the same cohort's 2024
    population (2020 ages + 4) that the 2020 known cells do not cover — the 무학/초등 and the
    사별/이혼 — so the unknown cells start where the census says people are missing (mostly old
    cohorts), and the margins then fix their totals. Within the unknown cells, low-education people
    keep their cell's 미혼:유배우 ratio, and 사별/이혼 its education mix.
    """
    from ingu.model.blocks.geography import adult_population

    pop = adult_population(ctx).sum(axis=0)  # sex, age (counts, 2024)
    bands = sorted(ctx.table(CENSUS)["age_lo"].unique().to_list())
    known = grid.sum(axis=(3, 4))  # sex, band, province
    prov_share = parent / np.maximum(parent.sum(axis=2, keepdims=True), 1e-300)
    counts = pop[..., None] * prov_share  # sex, age, province
    cohort_of_age = _band_of(AGES - COHORT_SHIFT, bands)
    cohort_pop = np.stack([counts[:, cohort_of_age == b].sum(axis=1) for b in range(len(bands))], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        coverage = np.where(cohort_pop > 0, known / cohort_pop, 1.0)
        upper = np.nan_to_num(grid[:, cohort] / known[:, cohort][..., None, None])  # share in cell
    residual = np.clip(1.0 - coverage, 1e-3, 1.0)[:, cohort]  # sex, age, province
    split = upper.sum(axis=3)  # 미혼 vs 유배우 among the known: (sex, age, province, 2)
    mix = upper.sum(axis=4)  # education mix among the known: (sex, age, province, 7)
    seed = np.zeros((2, len(AGES), parent.shape[2], n_edu, n_mar))
    seed[:, :, :, 2:, :2] = (1 - residual)[..., None, None] * upper[:, :, :, 2:, :]
    seed[:, :, :, :2, :2] = 0.25 * residual[..., None, None] * split[:, :, :, None, :]
    widowed_divorced = 0.25 * residual[..., None] * np.concatenate(
        [np.full(mix.shape[:3] + (2,), 0.25), 0.5 * mix[..., 2:]], axis=-1)
    seed[..., 2] = widowed_divorced
    seed[..., 3] = widowed_divorced
    return (seed + 1e-12) * parent[..., None, None]
