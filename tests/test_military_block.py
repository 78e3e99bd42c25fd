"""Block ``military``: the institutional age profile of military service, from shipped tables only."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from ingu.model.blocks import geography, military
from ingu.model.context import AGES, FitContext
from ingu.model.network import Network

MEN, WOMEN = 0, 1
L = {label: i for i, label in enumerate(military.LABELS)}


@pytest.fixture(scope="module")
def ctx() -> FitContext:
    c = FitContext()
    geography.fit(c)
    military.fit(c)
    return c


@pytest.fixture(scope="module")
def cpt(ctx: FitContext) -> np.ndarray:
    return ctx["military_service"].cpt


@pytest.fixture(scope="module")
def pop(ctx: FitContext) -> np.ndarray:
    """Adults by sex × age (persons), from the fitted model."""
    return ctx.marginal(["sex", "age"]) * geography.adult_population(ctx).sum()


def band(lo: int, hi: int) -> np.ndarray:
    return (AGES >= lo) & (AGES <= hi)


def share(cpt: np.ndarray, pop: np.ndarray, sex: int, ages: np.ndarray, labels: list[str]) -> float:
    w = pop[sex, ages]
    return float((cpt[sex, ages][:, [L[x] for x in labels]].sum(axis=1) * w).sum() / w.sum())


def test_variable_shape_labels_and_network(ctx: FitContext, cpt: np.ndarray) -> None:
    v = ctx["military_service"]
    assert v.labels == ("현역병", "직업군인", "사회복무요원", "병역필", "면제", "미필", "해당없음")
    assert v.parents == ("sex", "age")
    assert cpt.shape == (2, len(AGES), 7)
    assert "military_cells" in v.fitted_to and v.assumptions
    Network(list(ctx.variables))  # validates shapes and normalisation


def test_rows_sum_to_one(cpt: np.ndarray) -> None:
    np.testing.assert_allclose(cpt.sum(axis=-1), 1.0, atol=1e-12)
    assert (cpt >= 0).all()


def test_women_are_volunteer_career_soldiers_only(cpt: np.ndarray) -> None:
    for label in ("현역병", "사회복무요원", "병역필", "면제", "미필"):
        assert (cpt[WOMEN, :, L[label]] == 0).all(), label
    assert cpt[WOMEN, :, L["직업군인"]].max() <= 0.003
    assert cpt[WOMEN, :, L["직업군인"]].max() > 0
    assert (cpt[MEN, :, L["해당없음"]] == 0).all()


def test_young_men_are_on_active_duty(cpt: np.ndarray, pop: np.ndarray) -> None:
    active = share(cpt, pop, MEN, band(20, 22), ["현역병", "직업군인"])
    assert 0.25 <= active <= 0.60


def test_active_duty_falls_steeply_after_the_mid_twenties(cpt: np.ndarray, pop: np.ndarray) -> None:
    young = share(cpt, pop, MEN, band(20, 22), ["현역병", "직업군인"])
    late = share(cpt, pop, MEN, band(27, 29), ["현역병", "직업군인"])
    assert late < young / 4


def test_total_active_duty_share_of_adults(cpt: np.ndarray, pop: np.ndarray) -> None:
    active = (cpt[..., [L["현역병"], L["직업군인"]]].sum(axis=-1) * pop).sum() / pop.sum()
    assert 0.008 <= active <= 0.013


def test_no_conscripts_from_35(cpt: np.ndarray) -> None:
    assert cpt[MEN, band(35, 104), L["현역병"]].max() < 1e-9
    assert cpt[MEN, band(35, 104), L["사회복무요원"]].max() < 1e-9
    assert cpt[MEN, band(57, 104), L["직업군인"]].max() == 0


def test_life_course_is_coherent_for_men(cpt: np.ndarray, pop: np.ndarray) -> None:
    men19 = cpt[MEN, 0]
    assert men19[L["미필"]] > 0.7 and men19[L["병역필"]] < 0.01
    at30 = cpt[MEN, AGES == 30][0]
    assert at30[L["병역필"]] + at30[L["면제"]] + at30[L["직업군인"]] > 0.99
    # 미필 only falls with age; 병역필 only rises until career service thins out.
    not_yet = cpt[MEN, band(19, 40), L["미필"]]
    assert (np.diff(not_yet) <= 1e-12).all()
    served = cpt[MEN, band(19, 30), L["병역필"]]
    assert (np.diff(served) >= 0).all()
    # The exempt share is a cohort constant.
    assert np.ptp(cpt[MEN, :, L["면제"]]) < 1e-12


def test_service_phases_are_probabilities_and_conserve_time() -> None:
    weights = ((20, 0.5), (22, 0.5))
    before, serving, after = military.service_phases(weights, 1.5)
    np.testing.assert_allclose(before + serving + after, 1.0)
    assert serving.sum() == pytest.approx(1.5)  # years in uniform per person who serves
    assert (serving >= 0).all() and (np.diff(after) >= -1e-15).all()


def test_derivation_is_recorded_and_quotes_the_numbers(
    ctx: FitContext, cpt: np.ndarray, pop: np.ndarray
) -> None:
    d = ctx.reports["military"]["derivation"]
    json.dumps(d, ensure_ascii=False)  # card-ready
    assert d["conscript_stock"] + d["career_soldiers"] == pytest.approx(d["force_reference_year"], abs=1)
    conscripts = (cpt[MEN, :, L["현역병"]] * pop[MEN]).sum()
    assert conscripts == pytest.approx(d["conscript_stock"], rel=1e-3)
    assert 0 < d["cohort_enlistment_share"] < 1
    assert d["mean_conscript_term_months"] == pytest.approx(18.0, abs=1.0)
    assert set(d["men_by_band"]) >= {"19", "20-22", "27-29", "57+"}


def test_rates_are_a_pure_function_of_tables_and_assumptions(ctx: FitContext) -> None:
    a = military.military_rates(ctx)
    b = military.military_rates(ctx)
    np.testing.assert_array_equal(a["cpt"], b["cpt"])
    # A later age at enlistment moves the conscript peak later.
    later = replace(military.DEFAULT, enlistment_age_weights=((22, 0.5), (23, 0.5)))
    c = military.military_rates(ctx, later)
    peak = lambda r: AGES[np.argmax(r["cpt"][MEN, :, L["현역병"]])]  # noqa: E731
    assert peak(c) > peak(a)
    # The 2016 female share (5.5% of 간부) gives fewer women than the 2020 one (7.4%).
    old = military.military_rates(ctx, replace(military.DEFAULT, female_share_year=2016))
    assert old["derivation"]["career_women"] < a["derivation"]["career_women"]


def test_fit_requires_geography() -> None:
    with pytest.raises(KeyError):
        military.fit(FitContext())
