"""Block ``education_marital``: demographic sanity of the cells the partial census does not have.

The 2020 census partial file lacks 무학/초등 and 사별/이혼, and no shipped table gives them by age, so the
block shapes them structurally and lets the tables fix the levels. These tests hold the shapes to what
Korean demography makes certain, with bounds far from the fitted values (they are not regression pins):
the cohorts born before the 1960s married almost universally, widowhood dominates old age and rises
with it, compulsory schooling leaves almost no young adult with elementary schooling or less, and
nobody is widowed at 19.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from ingu.model.blocks import education_marital, geography
from ingu.model.context import AGES, FitContext

MEN, WOMEN = 0, 1
SINGLE, MARRIED, WIDOWED, DIVORCED = 0, 1, 2, 3
NONE, ELEMENTARY = 0, 1


@pytest.fixture(scope="module")
def ctx() -> FitContext:
    c = FitContext()
    geography.fit(c)
    education_marital.fit(c)
    return c


@pytest.fixture(scope="module")
def joint(ctx: FitContext) -> np.ndarray:
    """P(sex, age, education, marital) of the fitted model."""
    return ctx.marginal(["sex", "age", "education", "marital"])


def band(lo: int, hi: int = 200) -> np.ndarray:
    return (AGES >= lo) & (AGES <= hi)


def marital(joint: np.ndarray, sex: int, ages: np.ndarray) -> np.ndarray:
    """Marital-status shares (미혼, 배우자있음, 사별, 이혼) of one sex within an age range."""
    x = joint[sex, ages].sum(axis=(0, 1))
    return x / x.sum()


def low_education(joint: np.ndarray, ages: np.ndarray) -> float:
    x = joint[:, ages].sum(axis=(0, 1, 3))
    return float(x[[NONE, ELEMENTARY]].sum() / x.sum())


def test_labels_are_in_the_expected_order(ctx: FitContext) -> None:
    assert ctx["marital"].labels == ("미혼", "배우자있음", "사별", "이혼")
    assert ctx["education"].labels[:2] == ("무학", "초등학교")


def test_old_women_are_almost_never_never_married(joint: np.ndarray) -> None:
    # Korean women born before 1935 married almost universally (~1 % never married).
    assert marital(joint, WOMEN, band(90))[SINGLE] < 0.05
    for sex in (MEN, WOMEN):
        assert marital(joint, sex, band(70))[SINGLE] < 0.05


def test_widowhood_dominates_divorce_in_old_age(joint: np.ndarray) -> None:
    for sex in (MEN, WOMEN):
        for lo in (75, 80, 90):
            shares = marital(joint, sex, band(lo))
            assert shares[WIDOWED] > shares[DIVORCED], (sex, lo, shares)
    # Most women aged 85+ are widows; women are widowed far more often than men.
    assert marital(joint, WOMEN, band(85))[WIDOWED] > 0.5
    assert marital(joint, WOMEN, band(70))[WIDOWED] > 2 * marital(joint, MEN, band(70))[WIDOWED]


def test_widowed_share_rises_with_age_from_60(joint: np.ndarray) -> None:
    for sex in (MEN, WOMEN):
        widowed = [marital(joint, sex, band(lo, lo + 4))[WIDOWED] for lo in range(60, 100, 5)]
        widowed.append(marital(joint, sex, band(100))[WIDOWED])
        assert np.all(np.diff(widowed) > 0), (sex, np.round(widowed, 3))


def test_divorce_peaks_in_mid_life(joint: np.ndarray) -> None:
    for sex in (MEN, WOMEN):
        mid = marital(joint, sex, band(45, 64))[DIVORCED]
        assert mid > 2 * marital(joint, sex, band(19, 29))[DIVORCED]
        assert mid > 2 * marital(joint, sex, band(85))[DIVORCED]


def test_no_widows_among_the_young(joint: np.ndarray) -> None:
    for sex in (MEN, WOMEN):
        assert marital(joint, sex, band(19, 24))[WIDOWED] < 0.001
    assert marital(joint, WOMEN, band(19, 19))[WIDOWED] < 0.0001


def test_young_adults_have_at_least_middle_school(joint: np.ndarray) -> None:
    # Compulsory schooling: 무학/초등 well under 1 % at 19–34 (the census totals leave ~0.3 % at 20–29).
    assert low_education(joint, band(19, 34)) < 0.01
    assert low_education(joint, band(19, 29)) < 0.01
    # … and it rises with age among the old (cohorts schooled before and after liberation).
    low = [low_education(joint, band(lo, lo + 9)) for lo in (60, 70, 80)] + [low_education(joint, band(90))]
    assert np.all(np.diff(low) > 0), np.round(low, 3)


def test_marital_tables_are_met_and_reported(ctx: FitContext) -> None:
    report = ctx.reports["education_marital"]["ipf"]
    fits = {m["name"]: m for m in report["margins"]}
    t8 = next(m for name, m in fits.items() if "Table 8" in name)
    assert t8["met"] and t8["max_abs_pp"] < 0.5
    divorced = next(m for name, m in fits.items() if "divorced share of the 30+" in name)
    assert divorced["met"]
    seed = ctx.reports["education_marital"]["seed"]
    assert seed["widow_level"][WOMEN] > seed["widow_level"][MEN]  # the solved levels, per sex
    assert seed["low_education_never_married_2020"] > 0


def test_structural_widowhood_and_divorce_fit_in_the_2020_unknown_mass(ctx: FitContext) -> None:
    # Published 2020 decade totals (미혼 ÷ 미혼 share) minus the partial file's cells are what is left for
    # 무학/초등 + 사별/이혼; the structural 사별/이혼 share cannot exceed it by more than the rounding of
    # the published shares (≤ 0.7 pp for 50–59).
    decades = ctx.reports["education_marital"]["seed"]["decades_2020"]
    assert set(decades) == {"20-29", "30-39", "40-49", "50-59"}
    for name, d in decades.items():
        assert 0 < d["unknown_share"] < 0.3, name
        assert d["structural_widowed_divorced_share"] < d["unknown_share"] + 0.01, name
    # Below 30 the remainder is the 무학/초등 share: well under 1 %.
    assert ctx.reports["education_marital"]["seed"]["low_education_below_30_2020"] < 0.01


def test_marital_matches_table8_exactly_in_the_model(ctx: FitContext) -> None:
    from ingu.reference import load_table

    t8 = load_table("paper_cells").filter(pl.col("table") == "T8")
    p = ctx.marginal(["sex", "marital"])
    p = p / p.sum(axis=1, keepdims=True)
    for s, sex in enumerate("MF"):
        ref = {r["category"]: r["value"] / 100 for r in t8.filter(pl.col("sex") == sex).iter_rows(named=True)}
        assert abs(p[s, SINGLE] - ref["미혼"]) < 0.005
        assert abs(p[s, MARRIED] - ref["유배우"]) < 0.005
        assert abs(p[s, WIDOWED] + p[s, DIVORCED] - ref["사별·이혼"]) < 0.005


def test_structural_shape_functions() -> None:
    ages = AGES.astype(float)
    widowed, divorced = education_marital.marital_shape(ages, 3e-4, 0.12)
    assert widowed[ages <= education_marital.WIDOW_FROM].max() == 0.0
    assert np.all(np.diff(widowed[ages >= 60]) > 0)
    assert ages[np.argmax(divorced)] == education_marital.DIVORCE_PEAK
    assert np.all(widowed + divorced < 1)
    # σ = r (1 − ω) / (1 − r ω) reproduces the census ratio r = 미혼 / (미혼 + 유배우).
    r = np.linspace(0.01, 0.99, 50)
    shares = education_marital.marital_shares(r, np.full(50, 0.3), np.full(50, 0.1))
    assert np.allclose(shares.sum(axis=-1), 1.0)
    assert np.allclose(shares[:, SINGLE] / (shares[:, SINGLE] + shares[:, MARRIED]), r)
