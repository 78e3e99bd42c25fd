"""The name model: shipped surname / given-name tables and the cohort-aware given-name distribution."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ingu.model.names import (
    NameModel,
    NameModelError,
    cohort_sizes_from_census,
    fit_name_model,
    surname_distribution,
)

# 2015 census (KOSIS DT_1IN15SD), share of the national total, in percent, rounded to 0.1.
CENSUS_2015_TOP10 = {"김": 21.5, "이": 14.7, "박": 8.4, "정": 4.8, "최": 4.7,
                     "조": 2.9, "강": 2.6, "장": 2.1, "윤": 2.1, "임": 2.0}


def _table(table_id: str) -> pl.DataFrame:
    try:
        from ingu.reference import load_table
    except ImportError:  # reference package not there yet: read the shipped CSV directly
        path = Path(str(resources.files("ingu.reference").joinpath("data", f"{table_id}.csv")))
        return pl.read_csv(path, infer_schema_length=None)
    return load_table(table_id)


def _tv(p: np.ndarray, q: np.ndarray) -> float:
    return 0.5 * float(np.abs(p - q).sum())


@pytest.fixture(scope="module")
def given() -> pl.DataFrame:
    return _table("given_names_by_cohort")


@pytest.fixture(scope="module")
def sizes() -> pl.DataFrame:
    return cohort_sizes_from_census(_table("census2010_pop_national_sex_age5"), 2010)


@pytest.fixture(scope="module")
def model(given: pl.DataFrame, sizes: pl.DataFrame) -> NameModel:
    return fit_name_model(given, sizes)


def _published(given: pl.DataFrame) -> pl.DataFrame:
    return given.filter(pl.col("cohort_type") == "birth_year").with_columns(pl.col("cohort").cast(pl.Int64))


# ------------------------------------------------------------------------------------------- surnames


def test_surname_table_matches_census_top10() -> None:
    df = _table("surnames_2015")
    assert df.height == 192
    assert df["count"].sum() == 49_705_663  # the census national total, 기타 included
    top = df.head(10)
    assert top["surname"].to_list() == list(CENSUS_2015_TOP10)
    for name, share in zip(top["surname"], top["share"]):
        assert share * 100 == pytest.approx(CENSUS_2015_TOP10[name], abs=0.05)


def test_surname_distribution_drops_other_and_normalises() -> None:
    vocab, probs = surname_distribution(_table("surnames_2015"))
    assert "기타" not in vocab and len(vocab) == 191
    assert probs.sum() == pytest.approx(1.0) and (np.diff(probs) <= 0).all()
    for name, share in CENSUS_2015_TOP10.items():
        assert probs[vocab.index(name)] * 100 == pytest.approx(share, abs=0.1)


# ----------------------------------------------------------------------------------------- the tables


def test_given_name_table_is_as_published(given: pl.DataFrame) -> None:
    assert given.height == 179
    assert given["source_url"].str.starts_with("https://").all()
    row = given.filter((pl.col("cohort") == "1945") & (pl.col("sex") == "F") & (pl.col("rank") == 1))
    assert row["name"].item() == "영자" and row["count"].item() == 9298


def test_census_cohort_sizes_keep_band_totals(sizes: pl.DataFrame) -> None:
    census = _table("census2010_pop_national_sex_age5")
    band = census.filter((pl.col("sex") == "F") & (pl.col("age_lo") == 60))["population"].item()
    born = sizes.filter((pl.col("sex") == "F") & pl.col("birth_year").is_between(1946, 1950))
    assert born["persons"].sum() == pytest.approx(band)  # ages 60-64 in 2010
    assert (sizes["persons"] > 0).all()


# ------------------------------------------------------------------------------------------ the model


def test_rows_are_distributions(model: NameModel) -> None:
    assert model.probs.shape == (2, 107, len(model.vocabulary))
    assert model.cohorts[0] == (1900, 1900) and model.cohorts[-1] == (2006, 2006)
    assert (model.probs >= 0).all()
    np.testing.assert_allclose(model.probs.sum(axis=-1), 1.0, atol=1e-12)


def test_old_and_young_women_draw_from_disjoint_pools(model: NameModel) -> None:
    p48, p95 = model.distribution("F", 1948), model.distribution("F", 1995)
    assert _tv(p48, p95) > 0.9
    ends = np.array([n[-1] for n in model.vocabulary])
    old_type = np.isin(ends, list("자순숙희"))
    assert p48[old_type].sum() > 0.5
    assert p95[old_type].sum() < 0.01


def test_published_names_are_each_cohorts_most_likely(model: NameModel, given: pl.DataFrame) -> None:
    for (year, sex), rows in _published(given).group_by(["cohort", "sex"]):
        p = model.distribution(sex, year)
        idx = [model.vocabulary.index(n) for n in rows["name"]]
        others = np.delete(p, idx)
        assert p[idx].min() > others.max(), (year, sex)
        top = rows.sort("rank")["name"][0]
        assert model.top_names(sex, year, 1)[0][0] == top, (year, sex)


def test_printed_counts_become_shares_of_the_cohort(model: NameModel, sizes: pl.DataFrame) -> None:
    size = sizes.filter((pl.col("sex") == "F") & (pl.col("birth_year") == 1945))["persons"].item()
    assert model.distribution("F", 1945)[model.vocabulary.index("영자")] == pytest.approx(9298 / size, rel=1e-9)
    record = next(r for r in model.provenance["anchors"] if r["sex"] == "F" and r["cohort"] == "1945")
    sources = [h["source"] for h in record["head"]]
    assert sources[:3] == ["published"] * 3 and set(sources[3:]) == {"derived: rank-size"}
    assert record["tail_share"] == pytest.approx(1 - record["head_coverage_estimated"], abs=1e-6)


def test_sexes_are_separated(model: NameModel, given: pl.DataFrame) -> None:
    names = {s: set(given.filter(pl.col("sex") == s)["name"]) for s in ("M", "F")}
    only_f = [model.vocabulary.index(n) for n in names["F"] - names["M"] if n in model.vocabulary]
    only_m = [model.vocabulary.index(n) for n in names["M"] - names["F"] if n in model.vocabulary]
    assert only_f and only_m
    assert model.probs[0][:, only_f].max() == 0.0
    assert model.probs[1][:, only_m].max() == 0.0


def test_years_between_published_cohorts_are_interpolated(model: NameModel) -> None:
    v = model.vocabulary.index("미경")  # F 1968 rank 1; not published for 1958
    p = model.probs[1, :, v]
    y = np.arange(1900, 2007)
    assert p[y == 1963] == pytest.approx((p[y == 1958] + p[y == 1968]) / 2)
    assert p[y == 1930] == p[y == 1945]  # constant before the first published cohort


def test_cohort_of_birth_year_is_vectorised(model: NameModel) -> None:
    years = np.array([[1919, 1948], [1995, 2005]])
    np.testing.assert_array_equal(model.cohort_of_birth_year(years), years - 1900)
    with pytest.raises(ValueError, match="outside"):
        model.cohort_of_birth_year(np.array([1899]))


def test_cohort_ranges_average_their_years(given: pl.DataFrame, sizes: pl.DataFrame, model: NameModel) -> None:
    ranges = [(1900, 1939)] + [(a, a + 9) for a in range(1940, 2000, 10)] + [(2000, 2006)]
    coarse = fit_name_model(given, sizes, cohorts=ranges)
    assert coarse.probs.shape[1] == len(ranges)
    index = {n: i for i, n in enumerate(model.vocabulary)}
    cols = [index[n] for n in coarse.vocabulary]
    np.testing.assert_allclose(coarse.probs[1, 6], model.probs[1, 90:100][:, cols].mean(axis=0))  # 1990s
    assert coarse.cohort_of_birth_year(np.array([1925, 1940, 1999, 2006])).tolist() == [0, 1, 6, 7]


def test_npz_round_trip(model: NameModel, tmp_path: Path) -> None:
    path = tmp_path / "names.npz"
    model.to_npz(path)
    with np.load(path, allow_pickle=False) as z:
        assert z["probs"].dtype == np.float64
    back = NameModel.from_npz(path)
    assert back.vocabulary == model.vocabulary and back.cohorts == model.cohorts
    np.testing.assert_array_equal(back.probs, model.probs)
    assert back.provenance == model.provenance


# ------------------------------------------------------------------------------- parameters and input


def test_fixed_tail_share(given: pl.DataFrame) -> None:
    m = fit_name_model(given, tail_share=0.4)
    for r in m.provenance["anchors"]:
        assert r["tail_share_derived"] is None
        assert sum(h["share"] for h in r["head"]) == pytest.approx(0.6 if not r["capacity_limited"]
                                                                   else 1 - r["tail_share"], abs=1e-5)


def test_a_complete_user_table_is_reproduced() -> None:
    table = pl.DataFrame({
        "cohort": ["1960"] * 3 + ["1960"] * 3 + ["1990"] * 3 + ["1990"] * 3,
        "sex": ["M"] * 3 + ["F"] * 3 + ["M"] * 3 + ["F"] * 3,
        "name": ["영수", "영호", "철수", "영희", "순자", "미숙", "지훈", "동현", "민수", "지은", "유진", "수진"],
        "count": [50, 30, 20, 60, 30, 10, 40, 40, 20, 70, 20, 10],
    })
    sizes = pl.DataFrame({"birth_year": [1960, 1960, 1990, 1990], "sex": ["M", "F", "M", "F"],
                          "persons": [100.0, 100.0, 100.0, 100.0]})
    m = fit_name_model(table, sizes, years=(1950, 2000))
    p = m.distribution("M", 1960)
    assert p[m.vocabulary.index("영수")] == pytest.approx(0.5)
    assert p[m.vocabulary.index("철수")] == pytest.approx(0.2)
    assert m.distribution("F", 1990)[m.vocabulary.index("지은")] == pytest.approx(0.7)
    assert all(r["tail_share"] == 0 for r in m.provenance["anchors"])
    ranks = {h["name"]: h["rank"] for r in m.provenance["anchors"] if r["cohort"] == "1990" and r["sex"] == "M"
             for h in r["head"]}
    assert ranks == {"지훈": 1, "동현": 1, "민수": 3}  # ranks derived from counts, ties share a rank


def test_input_validation(given: pl.DataFrame, sizes: pl.DataFrame) -> None:
    with pytest.raises(NameModelError, match="missing columns"):
        fit_name_model(given.drop("name"), sizes)
    with pytest.raises(NameModelError, match="cohort_sizes"):
        fit_name_model(given)
    with pytest.raises(NameModelError, match="sex"):
        fit_name_model(given.with_columns(sex=pl.lit("X")), sizes)
    with pytest.raises(NameModelError, match="cover"):
        fit_name_model(given, sizes, cohorts=[(1900, 1999)])
    with pytest.raises(NameModelError, match="sum to 1"):
        NameModel(["가나"], [(2000, 2000)], np.full((2, 1, 1), 0.5))
    with pytest.raises(NameModelError, match="contiguous"):
        NameModel(["가나"], [(2000, 2000), (2002, 2003)], np.ones((2, 2, 1)))
