"""Block ``household``: family_type | sex, age, marital and housing_type | district, family_type.

The official cells are recomputed here from the shipped tables, independently of the block's code, and
the fitted model is held to them within the tolerance that the printed rounding of those cells allows.
Every test runs twice: on the project's marital block and on a stand-in marital variable (Table 8
shares only), so the household block is checked whatever state the marital block is in.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from ingu.model.blocks import geography, household
from ingu.model.context import AGES, FitContext
from ingu.model.network import Network, Variable
from ingu.reference import load_table, table_entry

MARITAL = ("미혼", "배우자있음", "사별", "이혼")


def stand_in_marital(ctx: FitContext) -> None:
    """TEST STAND-IN, not a model: marital | sex, age from Table 8 shares by sex (age-independent)."""
    t8 = load_table("paper_cells").filter(pl.col("table") == "T8")
    v = {(r["sex"], r["category"]): float(r["value"]) for r in t8.iter_rows(named=True)}
    rows = np.array([[v[(s, "미혼")], v[(s, "유배우")], v[(s, "사별·이혼")] / 2, v[(s, "사별·이혼")] / 2]
                     for s in "MF"])
    cpt = np.broadcast_to((rows / rows.sum(axis=1, keepdims=True))[:, None, :], (2, len(AGES), 4)).copy()
    ctx.add(Variable("marital", MARITAL, ("sex", "age"), cpt, ("paper_cells",),
                     assumptions=("TEST STAND-IN: Table 8 shares by sex, no age dependence",)))


@pytest.fixture(scope="module", params=["project marital", "stand-in marital"])
def ctx(request: pytest.FixtureRequest) -> FitContext:
    c = FitContext()
    geography.fit(c)
    if request.param == "project marital":
        try:
            from ingu.model.blocks import education_marital
        except ImportError:
            pytest.skip("no marital block in this checkout")
        education_marital.fit(c)
    else:
        stand_in_marital(c)
    household.fit(c)
    return c


@pytest.fixture(scope="module")
def family(ctx: FitContext) -> Variable:
    return ctx["family_type"]


@pytest.fixture(scope="module")
def housing(ctx: FitContext) -> Variable:
    return ctx["housing_type"]


def _press(**match: str) -> float:
    df = load_table("press_cells").with_columns(pl.col("year").cast(pl.Utf8))
    row = df.filter(*[pl.col(k) == v for k, v in match.items()])
    assert row.height == 1, match
    return float(row["value"][0])


# ------------------------------------------------------------------------------------------ shape


def test_variables_fit_the_network(ctx: FitContext, family: Variable, housing: Variable) -> None:
    assert family.labels == tuple(load_table("vocab_family_type").sort("code")["label"])
    assert housing.labels == tuple(load_table("vocab_housing_type").sort("code")["label"])
    assert family.parents == ("sex", "age", "marital")
    assert housing.parents == ("district", "family_type")
    assert family.cpt.shape == (2, len(AGES), 4, 39)
    assert housing.cpt.shape == (252, 39, 6)
    Network(list(ctx.variables))  # shapes, parent order, normalisation


def test_rows_sum_to_one(family: Variable, housing: Variable) -> None:
    for v in (family, housing):
        assert (v.cpt >= 0).all()
        np.testing.assert_allclose(v.cpt.sum(axis=-1), 1.0, atol=1e-9)


# ------------------------------------------------------------------------------ structural zeros


def test_never_married_never_lives_with_a_spouse(family: Variable) -> None:
    # Read from the labels themselves, not from the block's rules.
    spouse = [i for i, f in enumerate(family.labels) if "배우자" in f]
    assert len(spouse) == 14  # incl. 혼자 거주 (배우자 별거) and 자녀와 거주 (배우자 별거)
    for status in ("미혼", "사별", "이혼"):
        assert (family.cpt[:, :, MARITAL.index(status)][..., spouse] == 0.0).all(), status


def test_married_people_are_not_single_parents_or_alone_without_the_label(family: Variable) -> None:
    married = family.cpt[:, :, MARITAL.index("배우자있음")]
    for f in ("혼자 거주", "자녀와 거주 (한부모)", "부모와 동거", "어머니와 동거"):
        assert (married[..., family.labels.index(f)] == 0.0).all(), f
    # … and every married person lives with the spouse or is labelled as living apart from them.
    spouse = [i for i, f in enumerate(family.labels) if "배우자" in f]
    generic_prefixes = ("기타", "4세대", "친인척", "비친족", "가구주")
    generic = [i for i, f in enumerate(family.labels) if f.startswith(generic_prefixes)]
    np.testing.assert_allclose(married[..., spouse + generic].sum(axis=-1), 1.0, atol=1e-9)


def test_generations_bound_ages(family: Variable) -> None:
    age = {a: i for i, a in enumerate(AGES)}
    grandchildren = [i for i, f in enumerate(family.labels) if "손자녀" in f]
    grandparents = [i for i, f in enumerate(family.labels) if "조부" in f or "조모" in f]
    assert grandchildren and grandparents
    assert (family.cpt[:, : age[household.GRANDCHILD]][..., grandchildren] == 0.0).all()
    assert (family.cpt[:, age[19]][..., grandchildren] == 0.0).all()
    assert (family.cpt[:, age[household.GRANDPARENT_ALIVE] + 1:][..., grandparents] == 0.0).all()
    parents = [family.labels.index(f) for f in ("부모와 동거", "어머니와 동거", "아버지와 동거")]
    assert (family.cpt[:, age[household.PARENT_ALIVE] + 1:][..., parents] == 0.0).all()


def test_unknown_family_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="structural rule"):
        household.structural_masks(("혼자 거주", "우주정거장 거주"), MARITAL)


def test_block_needs_marital() -> None:
    c = FitContext()
    geography.fit(c)
    with pytest.raises(ValueError, match="marital"):
        household.fit(c)


# ------------------------------------------------------------------------------- official cells


def official_alone_shares() -> tuple[list[tuple[int, int]], np.ndarray, np.ndarray]:
    """Persons living alone / adults by sex × band, recomputed from press_cells, with a tolerance.

    Conversion (docs/model_household.md): persons alone = one-person households (one person each, of
    the householder's sex and age); 2023 distributions by age per sex × the 2024 count × the sex split
    ``w`` solved from the 2023 both-sexes bands; the official <20 band joins 20–29 (the model's 19–29).
    Tolerance: the printed rounding — ±0.05 pp on each share, ±0.5 thousand on the count, and the
    resulting uncertainty of ``w`` from its best-conditioned band (70+, where F and M differ most).
    """
    df = load_table("press_cells").with_columns(pl.col("year").cast(pl.Utf8)).filter(
        pl.col("topic") == "household", pl.col("year") == "2023",
        pl.col("category") == "1인 가구 (age of householder)")
    cell = {(r["sex"], r["age_band"]): float(r["value"]) for r in df.iter_rows(named=True)}
    bands = ["<20", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80+"]
    f = np.array([cell[("F", b)] for b in bands])
    m = np.array([cell[("M", b)] for b in bands])
    fold = {"<=29": [0, 1], "30-39": [2], "60-69": [5], "70+": [6, 7]}
    t = np.array([cell[("T", b)] for b in fold])
    ff = np.array([f[i].sum() for i in fold.values()])
    mm = np.array([m[i].sum() for i in fold.values()])
    w = ((ff - mm) * (t - mm)).sum() / ((ff - mm) ** 2).sum()
    dw = 0.05 * 3 / np.abs(ff - mm).max()  # T, F, M of the best band each off by half a printed unit
    count = _press(topic="household", year="2024", category="1인 가구", measure="count")
    model_bands = [(19, 29), (30, 39), (40, 49), (50, 59), (60, 69), (70, 79), (80, 104)]
    share = np.zeros((2, 7))
    rel = np.zeros((2, 7))
    for s, (shares, ws) in enumerate(((m, 1 - w), (f, w))):
        shares = np.concatenate([[shares[0] + shares[1]], shares[2:]])
        share[s] = count * 1e3 * ws * shares / shares.sum()
        rel[s] = 0.05 * np.r_[2, np.ones(6)] / shares + 0.5 / count + dw / ws
    return model_bands, share, rel


def test_share_living_alone_matches_official_cells(ctx: FitContext, family: Variable) -> None:
    bands, persons, rel = official_alone_shares()
    pop = geography.adult_population(ctx).sum(axis=0)  # registered adults 2024, sex × age
    joint = ctx.marginal(["sex", "age", "family_type"])
    alone = [family.labels.index("혼자 거주"), family.labels.index("혼자 거주 (배우자 별거)")]
    for s in range(2):
        for b, (lo, hi) in enumerate(bands):
            ages = (AGES >= lo) & (AGES <= hi)
            official = persons[s, b] / pop[s, ages].sum()
            model = joint[s, ages][:, alone].sum() / joint[s, ages].sum()
            tol = rel[s, b] * official
            assert abs(model - official) <= tol, (s, lo, model, official, tol)
            assert tol < 0.01  # the printed rounding pins every cell to better than 1 pp


def test_alone_shares_are_in_a_plausible_range(ctx: FitContext, family: Variable) -> None:
    # Sanity on the conversion itself: between 5 % and 40 % of each sex × band lives alone.
    _, persons, _ = official_alone_shares()
    pop = geography.adult_population(ctx).sum(axis=0)
    edges = [19, 30, 40, 50, 60, 70, 80]
    band = np.searchsorted(edges, AGES, side="right") - 1
    shares = persons / np.stack([np.bincount(band, weights=pop[s]) for s in range(2)])
    assert ((shares > 0.05) & (shares < 0.40)).all()


def test_couple_only_share_matches_household_projection(ctx: FitContext, family: Variable) -> None:
    # 2 adults per couple-only household; 2022 share of households × 2024 general households.
    couple = _press(topic="household", year="2022", category="부부 가구", measure="share") / 100
    ones = _press(topic="household", year="2024", category="1인 가구", measure="count") * 1e3
    households = ones / (_press(topic="household", year="2024", category="1인 가구", measure="share") / 100)
    adults = geography.adult_population(ctx).sum()
    official = 2 * couple * households / adults
    model = ctx.marginal(["family_type"])[family.labels.index("배우자와 거주")]
    # printed to 0.1 pp (share), 1 thousand (count) and 0.1 pp (the 1-person share behind the total)
    tol = official * (0.05 / 17.3 + 0.5 / 8045 + 0.05 / 36.1)
    assert abs(model - official) <= tol


# ------------------------------------------------------------------------------------------ housing


def test_conversion_keeps_every_census_total(ctx: FitContext) -> None:
    conv = household.adults_by_dwelling(ctx)
    classes = load_table("vocab_housing_type").sort("code")["census_class"].to_list()
    dw = load_table("census_households_by_dwelling_type")
    comp = load_table("census_household_composition").filter(pl.col("household_kind") == "general")
    total = comp.filter(pl.col("measure") == "households").sort("district_code")["value"].to_numpy()
    members = comp.filter(pl.col("measure") == "members").sort("district_code")["value"].to_numpy()
    np.testing.assert_allclose(conv.households.sum(axis=(1, 2)), total, rtol=1e-9)
    # Σ size × households = the district's members (the 6+ mean size is what members leave for it)
    np.testing.assert_allclose(conv.members_by_dwelling.sum(axis=1), members, rtol=1e-6)
    # each district's dwelling mix is the census's (suppressed cells spread proportionally)
    by_type = np.zeros((252, 6))
    rows = dw.filter(pl.col("dwelling_type").is_in(classes))
    by_type[rows["district_code"].to_numpy(),
            rows["dwelling_type"].replace_strict({c: i for i, c in enumerate(classes)}).to_numpy()] = rows["households"]
    np.testing.assert_allclose(conv.households.sum(axis=1) / total[:, None],
                               by_type / by_type.sum(axis=1, keepdims=True), atol=1e-6)
    assert (conv.adults >= -1e-9).all() and (conv.adults <= conv.households * conv.sizes[:, :, None] + 1e-6).all()
    # P(size | dwelling group) rows are distributions
    np.testing.assert_allclose(conv.size_given_group.sum(axis=1), 1.0)


def test_housing_by_province_matches_census_persons(ctx: FitContext) -> None:
    conv = household.adults_by_dwelling(ctx)
    province = load_table("vocab_district").sort("code")["province_code"].to_numpy()
    target = np.zeros((17, 6))
    np.add.at(target, province, conv.adults_by_dwelling)  # census adults, census district weights
    target /= target.sum(axis=1, keepdims=True)
    model = ctx.marginal(["province", "housing_type"])
    model /= model.sum(axis=1, keepdims=True)
    assert np.abs(model - target).max() < 0.005
    # With the model's own district weights the census shares hold exactly (the fit's margin).
    weights = ctx.marginal(["district"])
    district_target = conv.adults_by_dwelling / conv.adults_by_dwelling.sum(axis=1, keepdims=True)
    expected = np.zeros((17, 6))
    np.add.at(expected, province, weights[:, None] * district_target)
    np.testing.assert_allclose(model, expected / expected.sum(axis=1, keepdims=True), atol=1e-6)


def test_people_living_alone_are_housed_like_one_person_households(ctx: FitContext, family: Variable) -> None:
    conv = household.adults_by_dwelling(ctx)
    one_person = conv.households[:, 0].sum(axis=0) / conv.households[:, 0].sum()
    joint = ctx.marginal(["family_type", "housing_type"])
    alone = joint[family.labels.index("혼자 거주")] / joint[family.labels.index("혼자 거주")].sum()
    assert np.abs(alone - one_person).max() < 0.03
    # … and they live in 주택 이외의 거처 (officetels, goshiwon …) more often than couples with children.
    other = family.labels.index("배우자·자녀와 거주")
    assert alone[5] > 2 * joint[other, 5] / joint[other].sum()


# ------------------------------------------------------------------------------------- provenance


def test_npk_prior_is_labelled_not_official(family: Variable) -> None:
    for table in (household.PRIOR_JOINT, household.PRIOR_TYPES):
        assert table in family.fitted_to
        entry = table_entry(table).model_dump()
        assert entry.get("provenance") == "NPK aggregate, CC BY 4.0, NVIDIA — not an official statistic"
    assert any("not an official statistic" in a for a in family.assumptions)


def test_fit_reports_are_recorded(ctx: FitContext) -> None:
    reports = ctx.reports["household"]
    for name in ("family_type", "housing_type", "households_size_x_dwelling", "family_type_prior_completion"):
        assert reports[name]["converged"], name
        assert all(m["met"] for m in reports[name]["margins"]), name
    assert "alone_share_adults" in reports["family_type_checks"]
