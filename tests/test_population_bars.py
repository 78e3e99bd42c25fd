"""The generator's bars, measured on 1,000,000 sampled records (seed 20241231).

Tolerances are the issue's bars; with n = 1M the sampling standard error of any share used here is at
most 0.05 pp (0.15 pp for the smallest subgroup, employed 4-year graduates aged 25–34), so a failure
means the model misses the reference, not bad luck.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from ingu.reference import load_table

N = 1_000_000
SEED = 20241231


@pytest.fixture(scope="module")
def model():
    from ingu.model.build import load_model

    return load_model()


@pytest.fixture(scope="module")
def records(model) -> pl.DataFrame:
    from ingu.sample.sampler import generate, plan, to_frame

    df = to_frame(generate(plan(model), N, SEED))
    return df.with_columns(pl.col(pl.Categorical).cast(pl.Utf8))


def _shares(df: pl.DataFrame, by: list[str], within: list[str] | None = None) -> pl.DataFrame:
    counts = df.group_by(by).len()
    if within:
        return counts.with_columns((pl.col("len") / pl.col("len").sum().over(within)).alias("share"))
    return counts.with_columns((pl.col("len") / pl.col("len").sum()).alias("share"))


def test_province_shares_match_registration(records: pl.DataFrame) -> None:
    pop = load_table("pop_mois_2024_district_sex_age5").filter(pl.col("age_lo") >= 20)
    districts = load_table("vocab_district").select(pl.col("code").alias("district_code"), "province_code")
    provinces = load_table("vocab_province").select(pl.col("code").alias("province_code"), pl.col("npk_label").alias("province"))
    ref = (pop.join(districts, on="district_code").join(provinces, on="province_code")
           .group_by("province").agg(pl.col("population").sum())
           .with_columns((pl.col("population") / pl.col("population").sum()).alias("ref")))
    got = _shares(records.filter(pl.col("age") >= 20), ["province"]).join(ref, on="province")
    assert got.height == 17
    assert (got["share"] - got["ref"]).abs().max() * 100 < 0.2


def test_sex_by_five_year_age_matches_registration(records: pl.DataFrame) -> None:
    pop = load_table("pop_mois_2024_district_sex_age5").filter(pl.col("age_lo") >= 20)
    ref = (pop.with_columns(pl.col("age_lo").cast(pl.Int64).clip(upper_bound=100).alias("band"))
           .group_by("sex", "band").agg(pl.col("population").sum())
           .with_columns((pl.col("population") / pl.col("population").sum()).alias("ref"),
                         pl.col("sex").replace_strict({"M": "남자", "F": "여자"})))
    got = _shares(records.filter(pl.col("age") >= 20).with_columns(
        (pl.col("age") // 5 * 5).clip(upper_bound=100).alias("band")), ["sex", "band"])
    joined = got.join(ref, on=["sex", "band"])
    assert joined.height == ref.height
    assert (joined["share"] - joined["ref"]).abs().max() * 100 < 0.2


def test_single_year_ages_are_smooth(model) -> None:
    ages = model.network.marginal(["age"])
    labels = np.array([int(a) for a in model.network["age"].labels])
    p = ages[(labels >= 19) & (labels <= 91)]
    neighbours = (p[:-2] + p[2:]) / 2
    assert np.abs(p[1:-1] / neighbours - 1).max() < 0.15
    # No pile-up at the oldest ages (NPK's excess of 99-year-old men).
    men = model.network.marginal(["sex", "age"])[0]
    assert np.all(np.diff(men[labels >= 90]) <= 0)


def test_female_share_by_major_matches_lfs(records: pl.DataFrame) -> None:
    lfs = load_table("lfs_sex_occupation_major_annual").filter(pl.col("year") == 2024)
    ref = (lfs.pivot(on="sex", index="ksco_major", values="employed_thousand")
           .with_columns((pl.col("F") / (pl.col("F") + pl.col("M"))).alias("ref")))
    civ = records.filter(pl.col("employment_status") == "취업자", pl.col("military_status") == "비현역")
    got = (civ.group_by("occupation_major").agg((pl.col("sex") == "여자").mean().alias("female"))
           .join(ref, left_on="occupation_major", right_on="ksco_major"))
    assert got.height == 9
    assert (got["female"] - got["ref"]).abs().max() * 100 < 2.0


def _lafs(table: str, key: str) -> pl.DataFrame:
    df = (load_table(table).filter(pl.col("year") == 2024, pl.col("level") == "major")
          .group_by("ksco_code", key).agg(pl.col("employed_thousand").mean()))
    return df.with_columns((pl.col("employed_thousand") / pl.col("employed_thousand").sum().over(key)).alias("ref"))


def test_major_mix_within_age_bands_matches_lafs(records: pl.DataFrame) -> None:
    ref = _lafs("lafs_occupation_by_age", "age_band")
    civ = records.filter(pl.col("employment_status") == "취업자", pl.col("military_status") == "비현역")
    civ = civ.with_columns(pl.when(pl.col("age") < 30).then(pl.lit("15-29"))
                           .when(pl.col("age") >= 60).then(pl.lit("60+"))
                           .otherwise((pl.col("age") // 10 * 10).cast(pl.Utf8) + "-" + (pl.col("age") // 10 * 10 + 9).cast(pl.Utf8))
                           .alias("age_band"))
    got = _shares(civ, ["age_band", "occupation_major"], ["age_band"]).join(
        ref, left_on=["age_band", "occupation_major"], right_on=["age_band", "ksco_code"], how="full", coalesce=True)
    tv = got.fill_null(0).group_by("age_band").agg(((pl.col("share") - pl.col("ref")).abs().sum() / 2).alias("tv"))
    assert tv.height == 5
    assert tv["tv"].max() <= 0.04


def test_major_mix_within_education_groups_matches_lafs(records: pl.DataFrame) -> None:
    ref = _lafs("lafs_occupation_by_education", "education_group")
    groups = {"무학": "중졸이하", "초등학교": "중졸이하", "중학교": "중졸이하", "고등학교": "고졸",
              "2~3년제 전문대학": "대졸이상", "4년제 대학교": "대졸이상", "대학원": "대졸이상"}
    civ = records.filter(pl.col("employment_status") == "취업자", pl.col("military_status") == "비현역")
    civ = civ.with_columns(pl.col("education_level").replace_strict(groups).alias("education_group"))
    got = _shares(civ, ["education_group", "occupation_major"], ["education_group"]).join(
        ref, left_on=["education_group", "occupation_major"], right_on=["education_group", "ksco_code"],
        how="full", coalesce=True)
    tv = got.fill_null(0).group_by("education_group").agg(((pl.col("share") - pl.col("ref")).abs().sum() / 2).alias("tv"))
    assert tv.height == 3
    assert tv["tv"].max() <= 0.04


def test_labour_force_participation_matches_table5(records: pl.DataFrame) -> None:
    t5 = load_table("paper_cells").filter(pl.col("table") == "T5")
    civ = records.filter(pl.col("military_status") == "비현역").with_columns(
        pl.when(pl.col("age") < 30).then(pl.lit("19-29")).when(pl.col("age") >= 60).then(pl.lit("60+"))
        .otherwise((pl.col("age") // 10 * 10).cast(pl.Utf8) + "-" + (pl.col("age") // 10 * 10 + 9).cast(pl.Utf8))
        .alias("age_band"),
        pl.col("sex").replace_strict({"남자": "M", "여자": "F"}).alias("sex_code"))
    got = civ.group_by("sex_code", "age_band").agg(
        (pl.col("employment_status") != "비경제활동인구").mean().alias("lfp"))
    joined = got.join(t5, left_on=["sex_code", "age_band"], right_on=["sex", "age_band"])
    assert joined.height == 10
    assert (joined["lfp"] - joined["value"]).abs().max() * 100 < 3.0


def test_graduates_field_to_occupation_matches_table7(records: pl.DataFrame) -> None:
    t7 = load_table("paper_cells").filter(pl.col("table") == "T7").with_columns(
        pl.col("category").str.extract(r"field=(.+) -> KSCO").alias("field"),
        pl.col("category").str.extract(r"KSCO (\w)$").alias("major"))
    grads = records.filter(pl.col("education_level") == "4년제 대학교", pl.col("age").is_between(25, 34),
                           pl.col("employment_status") == "취업자", pl.col("military_status") == "비현역")
    for row in t7.iter_rows(named=True):
        sub = grads.filter(pl.col("bachelors_field") == row["field"])
        share = (sub["occupation_major"] == row["major"]).mean() * 100
        se = 100 * np.sqrt(row["value"] / 100 * (1 - row["value"] / 100) / max(sub.height, 1))
        assert abs(share - row["value"]) < 6.0, (row["category"], share, se)


def test_marital_status_by_sex_matches_table8(records: pl.DataFrame) -> None:
    t8 = load_table("paper_cells").filter(pl.col("table") == "T8")
    for sex, label in (("M", "남자"), ("F", "여자")):
        sub = records.filter(pl.col("sex") == label)["marital_status"]
        got = {"미혼": (sub == "미혼").mean(), "유배우": (sub == "배우자있음").mean(),
               "사별·이혼": sub.is_in(["사별", "이혼"]).mean()}
        for row in t8.filter(pl.col("sex") == sex).iter_rows(named=True):
            assert abs(100 * got[row["category"]] - row["value"]) < 1.5, (sex, row["category"])


def test_top_surnames_match_2015_census(records: pl.DataFrame) -> None:
    ref = load_table("surnames_2015").sort("count", descending=True).head(10)
    total = load_table("surnames_2015").filter(pl.col("surname") != "기타")["count"].sum()
    shares = records["surname"].value_counts(normalize=True)
    for row in ref.iter_rows(named=True):
        got = shares.filter(pl.col("surname") == row["surname"])["proportion"][0]
        assert abs(got - row["count"] / total) * 100 < 0.3, row["surname"]


def test_military_service_is_concentrated_in_young_men(model, records: pl.DataFrame) -> None:
    labels = [int(a) for a in model.network["age"].labels]
    cpt = model.network["military_service"].cpt  # sex, age, 7
    active = cpt[..., :2].sum(axis=-1)
    men = dict(zip(labels, active[0]))
    pop = model.network.marginal(["sex", "age"])
    young = sum(men[a] * pop[0, labels.index(a)] for a in (20, 21, 22)) / sum(pop[0, labels.index(a)] for a in (20, 21, 22))
    assert 0.25 <= young <= 0.60
    assert max(men[a] for a in (27, 28, 29)) < young / 4
    assert active[1].max() <= 0.003
    overall = (active * pop).sum()
    assert 0.008 <= overall <= 0.013
    # And in the sample: active-duty share of all records in the same range.
    share = (records["military_status"] == "현역").mean()
    assert 0.008 <= share <= 0.013


def test_record_level_rules_hold(records: pl.DataFrame) -> None:
    below = ["무학", "초등학교", "중학교", "고등학교", "2~3년제 전문대학"]
    assert ((records["education_level"].is_in(below)) != (records["bachelors_field"] == "해당없음")).sum() == 0
    active = records["military_service"].is_in(["현역병", "직업군인"])
    assert (active != (records["military_status"] == "현역")).sum() == 0
    assert (active != (records["occupation_major"] == "A")).sum() == 0
    assert ((records["employment_status"] == "취업자") != records["occupation_major"].is_not_null()).sum() == 0
    assert (records["district"].str.split("-").list.first() != records["province"]).sum() == 0
    assert (records["birth_year"] != 2024 - records["age"]).sum() == 0
    assert ((records["sex"] == "여자") & records["military_service"].is_in(["현역병", "사회복무요원", "병역필", "면제", "미필"])).sum() == 0
    if "family_type" in records.columns and records["family_type"].n_unique() > 1:
        spouse = records["family_type"].str.contains("배우자")
        assert (spouse & (records["marital_status"] == "미혼")).sum() == 0
    assert records["uuid"].str.contains(r"^[0-9a-f]{32}$").all()
    assert records["uuid"].n_unique() == records.height
