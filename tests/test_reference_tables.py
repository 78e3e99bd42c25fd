"""The shipped non-regional reference tables: vocabularies, census, labour, published cells, households.

The expected numbers are published figures (or cells copied from the source files), so each test
checks the shipped table against something outside our own build.
"""

from __future__ import annotations

import hashlib

import polars as pl
import pytest

from ingu.reference import load_table, table_entry
from ingu.reference.manifest import data_dir, load_manifest

MAJORS = [str(i) for i in range(1, 10)]
TABLES = [
    "vocab_ksco7", "vocab_education", "vocab_marital", "vocab_bachelors_field", "vocab_family_type",
    "vocab_housing_type", "vocab_military_service", "census2020_sex_province_age5_marital_education_partial",
    "lfs_sex_occupation_major_annual", "lafs_occupation_by_age", "lafs_occupation_by_education",
    "lafs_province_occupation_major", "lafs_sex_occupation_major", "lfs_labour_force_by_age_monthly",
    "paper_cells", "press_cells", "military_cells", "census_households_by_dwelling_type",
    "census_households_by_size", "census_household_composition",
]


@pytest.fixture(autouse=True)
def _empty_user_cache(tmp_path, monkeypatch):
    # A developer's own ~/.cache must not change what these tests see.
    monkeypatch.setenv("INGU_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def ksco() -> pl.DataFrame:
    return load_table("vocab_ksco7")


# --- manifest ------------------------------------------------------------------------------------------

def test_every_table_is_in_the_manifest_with_a_matching_sha256():
    entries = {e.id: e for e in load_manifest()}
    for table_id in TABLES:
        entry = entries[table_id]
        path = data_dir() / entry.file
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry.sha256, table_id
        assert entry.builder == "tables"
        assert entry.rows == load_table(table_id).height
        assert entry.columns == load_table(table_id).columns
        for field in ("agency", "table_id", "universe", "unit", "licence", "attribution", "upstream_path",
                      "notes"):
            assert getattr(entry, field), f"{table_id} has an empty {field}"


def test_transcribed_cells_say_so():
    for table_id, rows in (("paper_cells", 34), ("press_cells", 229), ("military_cells", 39)):
        assert "transcribed" in table_entry(table_id).notes
        assert table_entry(table_id).extra("provenance") == "transcribed"
        assert load_table(table_id).height == rows


def test_npk_vocabularies_carry_npks_licence():
    for table_id in ("vocab_education", "vocab_marital", "vocab_bachelors_field", "vocab_family_type",
                     "vocab_housing_type"):
        assert "CC BY 4.0" in table_entry(table_id).licence and "NVIDIA" in table_entry(table_id).licence


# --- KSCO-7 --------------------------------------------------------------------------------------------

def test_ksco7_has_the_published_counts_per_level(ksco):
    counts = dict(ksco.group_by("level").len().iter_rows())
    assert counts == {"major": 10, "sub_major": 52, "minor": 156, "unit": 450, "detailed": 1231}
    assert ksco["code"].dtype == pl.String and ksco["code"].is_unique().all()


def test_ksco7_tree_is_consistent(ksco):
    depth = {"major": 1, "sub_major": 2, "minor": 3, "unit": 4, "detailed": 5}
    level = dict(zip(ksco["code"], ksco["level"]))
    for code, lvl, parent, major in ksco.select("code", "level", "parent_code", "major_code").iter_rows():
        assert len(code) == depth[lvl]
        assert major == code[0]
        if lvl == "major":
            assert parent is None
        else:
            assert parent == code[:-1] and depth[level[parent]] == depth[lvl] - 1


def test_ksco7_is_the_7th_revision_with_the_armed_forces_branch(ksco):
    name = dict(zip(ksco["code"], ksco["name"]))
    assert name["A"] == "군인" and name["A01"] == "장교" and name["A02"] == "부사관"
    assert {"A0", "A09"} <= name.keys()
    assert name["42"] == "돌봄·보건 및 개인 생활 서비스직" and "45" not in name


# --- vocabularies --------------------------------------------------------------------------------------

@pytest.mark.parametrize("table_id, size", [
    ("vocab_education", 7), ("vocab_marital", 4), ("vocab_bachelors_field", 11), ("vocab_family_type", 39),
    ("vocab_housing_type", 6), ("vocab_military_service", 7),
])
def test_vocabulary_sizes_and_codes(table_id, size):
    df = load_table(table_id)
    assert df["code"].to_list() == list(range(size))
    assert df["label"].is_unique().all()


def test_vocabulary_orders_and_crosswalks():
    edu = load_table("vocab_education")
    assert edu["label"].to_list() == ["무학", "초등학교", "중학교", "고등학교", "2~3년제 전문대학", "4년제 대학교", "대학원"]
    assert dict(zip(edu["label"], edu["census_label"]))["대학원"] == "대학원(석사 과정)|대학원(박사 과정)"
    marital = load_table("vocab_marital")
    assert marital.rows() == [(0, "미혼", "미혼"), (1, "배우자있음", "유배우"), (2, "사별", "사별"), (3, "이혼", "이혼")]
    assert load_table("vocab_bachelors_field")["label"][0] == "해당없음"
    housing = load_table("vocab_housing_type")
    assert dict(zip(housing["label"], housing["census_class"])) == {
        "아파트": "apartment", "단독주택": "detached", "연립주택": "rowhouse", "다세대주택": "multiplex",
        "비주거용 건물 내 주택": "nonresidential", "주택 이외의 거처": "other"}
    military = load_table("vocab_military_service")
    assert military["label"].to_list() == ["현역병", "직업군인", "사회복무요원", "병역필", "면제", "미필", "해당없음"]
    assert set(military.filter(pl.col("npk_label") == "현역")["label"]) == {"현역병", "직업군인"}


# --- 2020 census (partial) -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def census() -> pl.DataFrame:
    return load_table("census2020_sex_province_age5_marital_education_partial")


def test_census_reproduces_the_published_never_married_30s(census):
    # 2020 census: never-married 30-39-year-olds = 2,815 thousand (newsis 2021-09-27); the drop's MANIFEST
    # validates the six education columns at 2,815,227.
    cells = census.filter((pl.col("marital") == "미혼") & pl.col("age_lo").is_in([30, 35]))
    assert cells["population"].sum() == 2_815_227


def test_census_labels_are_npks_and_the_gaps_are_explicit(census):
    assert set(census["marital"]) == {"미혼", "배우자있음"}
    assert set(census["education"]) == {"중학교", "고등학교", "2~3년제 전문대학", "4년제 대학교", "대학원"}
    assert set(census["province_code"]) == set(range(17))
    assert set(census["sex"]) == {"M", "F"}
    bands = census.select("age_band", "age_lo", "age_hi").unique().sort("age_lo")
    assert bands["age_band"].to_list() == [f"{lo}-{lo + 4}" for lo in range(15, 85, 5)] + ["85+"]
    assert bands["age_hi"][-1] is None
    assert census.select("sex", "province_code", "age_band", "marital", "education").is_unique().all()


def test_census_cells_copy_the_source_and_sum_graduate_degrees(census):
    def cell(sex, province, band, marital, education):
        return census.filter(
            (pl.col("sex") == sex) & (pl.col("province_code") == province) & (pl.col("age_band") == band)
            & (pl.col("marital") == marital) & (pl.col("education") == education))["population"].item()

    # 서울 women 20-24 never married (raw row: 622, 46477, 71361, 203500, 6719, 180)
    assert cell("F", 0, "20-24", "미혼", "2~3년제 전문대학") == 71_361
    assert cell("F", 0, "20-24", "미혼", "4년제 대학교") == 203_500
    assert cell("F", 0, "20-24", "미혼", "대학원") == 6_719 + 180
    # KOSIS printed '-' for both graduate columns: blank, not zero
    assert cell("F", 0, "15-19", "미혼", "대학원") is None
    # 세종 (7) women 20-24 married: 중학교 '-' stays blank, 고등학교 76
    assert cell("F", 7, "20-24", "배우자있음", "중학교") is None
    assert cell("F", 7, "20-24", "배우자있음", "고등학교") == 76


# --- labour --------------------------------------------------------------------------------------------

def test_lfs_2024_total_is_the_official_28576_thousand():
    lfs = load_table("lfs_sex_occupation_major_annual")
    t2024 = lfs.filter((pl.col("year") == 2024) & (pl.col("sex") == "T"))
    assert t2024["employed_total_thousand"].unique().to_list() == [28_576]
    assert sorted(t2024["ksco_major"]) == MAJORS
    assert abs(t2024["employed_thousand"].sum() - 28_576) <= 9 * 0.5  # rounded cells
    assert set(lfs["year"]) == set(range(2016, 2026))


def test_lfs_sexes_add_up_to_the_total_within_rounding():
    lfs = load_table("lfs_sex_occupation_major_annual")
    wide = lfs.pivot(on="sex", index=["year", "ksco_major"], values="employed_thousand")
    assert (wide["M"] + wide["F"] - wide["T"]).abs().max() <= 1


@pytest.mark.parametrize("table_id", ["lafs_occupation_by_age", "lafs_occupation_by_education"])
def test_every_lafs_occupation_maps_to_ksco7(table_id, ksco):
    lafs = load_table(table_id)
    civilian_subs = set(ksco.filter((pl.col("level") == "sub_major") & (pl.col("major_code") != "A"))["code"])
    assert len(civilian_subs) == 51
    assert set(lafs["ksco_code"]) == set(MAJORS) | civilian_subs
    level = dict(zip(ksco["code"], ksco["level"]))
    assert all(level[c] == lvl for c, lvl in lafs.select("ksco_code", "level").unique().iter_rows())


@pytest.mark.parametrize("table_id, band, known", [
    ("lafs_occupation_by_age", "age_band", []),
    # KOSIS's own figures: 관리자 대졸이상 2020.2/2 = 350 while its five sub-majors sum to 345
    ("lafs_occupation_by_education", "education_group", [(2020, 2, "1", "대졸이상")]),
])
def test_lafs_sub_majors_add_up_to_their_major_within_rounding(table_id, band, known):
    lafs = load_table(table_id)
    subs = (lafs.filter(pl.col("level") == "sub_major")
            .group_by("year", "half", pl.col("ksco_code").str.slice(0, 1).alias("major"), band)
            .agg(pl.col("employed_thousand").sum().alias("subs"), pl.len().alias("n")))
    majors = lafs.filter(pl.col("level") == "major").rename({"ksco_code": "major"})
    joined = majors.join(subs, on=["year", "half", "major", band], validate="1:1")
    assert joined.height == majors.height
    off = joined.filter((pl.col("subs") - pl.col("employed_thousand")).abs() > (pl.col("n") + 1) / 2)
    assert off.select("year", "half", "major", band).rows() == known
    for year, half, major, group in known:
        assert f"{year}.{half}/2 major {major} {group}" in table_entry(table_id).notes


def test_lafs_margins_are_complete():
    by_age = load_table("lafs_occupation_by_age")
    by_edu = load_table("lafs_occupation_by_education")
    periods = 21  # 2014.1/2 … 2024.1/2
    assert by_age.height == periods * 60 * 5 and by_edu.height == periods * 60 * 3
    assert set(by_age["age_band"]) == {"15-29", "30-39", "40-49", "50-59", "60+"}
    assert set(by_edu["education_group"]) == {"중졸이하", "고졸", "대졸이상"}
    # the two margins of one group describe the same employed persons
    a = by_age.group_by("year", "half", "ksco_code").agg(pl.col("employed_thousand").sum().alias("a"))
    e = by_edu.group_by("year", "half", "ksco_code").agg(pl.col("employed_thousand").sum().alias("e"))
    assert (a.join(e, on=["year", "half", "ksco_code"]).select((pl.col("a") - pl.col("e")).abs()).max().item()
            <= 4)


def test_lafs_provinces_add_up_to_the_national_sex_table():
    provinces = load_table("lafs_province_occupation_major")
    sexes = load_table("lafs_sex_occupation_major")
    assert set(provinces["province_code"]) == set(range(17))
    # 서울 (code 0), 2015 first half, major 2: 1,328 thousand as in the source row
    seoul = provinces.filter((pl.col("year") == 2015) & (pl.col("half") == 1) & (pl.col("province_code") == 0)
                             & (pl.col("ksco_major") == "2"))
    assert seoul["employed_thousand"].item() == 1_328
    national = provinces.group_by("year", "half", "ksco_major").agg(pl.col("employed_thousand").sum().alias("p"))
    total = sexes.filter(pl.col("sex") == "T").join(national, on=["year", "half", "ksco_major"], validate="1:1")
    assert total.height == national.height
    assert (total["p"] - total["employed_thousand"]).abs().max() <= 9


def test_lfs_monthly_labour_force_is_both_sexes_only():
    lf = load_table("lfs_labour_force_by_age_monthly")
    assert set(lf["sex"]) == {"T"}
    assert lf.select("year", "month").unique().height == 114  # 2016-01 … 2025-06
    jan = lf.filter((pl.col("year") == 2016) & (pl.col("month") == 1) & (pl.col("age_band") == "15+"))
    values = dict(zip(jan["measure"], jan["value"]))
    assert values["population"] == 43_439 and values["labour_force"] == 26_631 and values["employed"] == 25_646
    assert set(lf.filter(pl.col("unit") == "%")["measure"]) == {"participation_rate", "unemployment_rate",
                                                               "employment_rate"}


# --- census households -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dwelling() -> pl.DataFrame:
    return load_table("census_households_by_dwelling_type")


def test_dwelling_types_cover_every_district_with_the_vocab_classes(dwelling):
    districts = load_table("vocab_district")
    assert set(dwelling["district_code"]) == set(districts["code"])
    classes = set(load_table("vocab_housing_type")["census_class"])
    assert set(dwelling["dwelling_type"]) == classes | {"total"}
    assert dwelling.select("district_code", "dwelling_type").is_unique().all()


def test_dwelling_classes_bound_the_exact_total(dwelling):
    per = dwelling.group_by("district_code").agg(
        pl.col("households").filter(pl.col("dwelling_type") == "total").first().alias("total"),
        pl.col("households").filter(pl.col("dwelling_type") != "total").sum().alias("parts"),
        pl.col("n_suppressed").sum().alias("suppressed"))
    assert (per["parts"] <= per["total"]).all()
    assert (per.filter(pl.col("suppressed") == 0)["parts"] == per.filter(pl.col("suppressed") == 0)["total"]).all()
    # suppressed cells hold fewer than 5 households each
    assert ((per["total"] - per["parts"]) <= 4 * per["suppressed"]).all()


def test_household_tables_share_the_general_household_total(dwelling):
    sizes = load_table("census_households_by_size")
    composition = load_table("census_household_composition")
    totals = [
        dwelling.filter(pl.col("dwelling_type") == "total").select("district_code", pl.col("households").alias("a")),
        sizes.filter(pl.col("household_size") == "total").select("district_code", pl.col("households").alias("b")),
        composition.filter((pl.col("household_kind") == "general") & (pl.col("measure") == "households"))
        .select("district_code", pl.col("value").alias("c")),
    ]
    joined = totals[0].join(totals[1], on="district_code").join(totals[2], on="district_code")
    assert joined.height == 252
    assert (joined["a"] == joined["b"]).all() and (joined["a"] == joined["c"]).all()
    assert set(sizes["household_size"]) == {"1", "2", "3", "4", "5", "6+", "total"}
