"""The shipped region tables: vocabularies consistent with NPK's labels and MOIS's province totals."""

from __future__ import annotations

import polars as pl
import pytest

from ingu.reference import load_table, table_entry

# MOIS 주민등록 연령별 인구현황 (거주자), 2024-12, province rows as published — an independent target
# that the 252 district rows must add up to.
MOIS_2024_PROVINCE_TOTALS = {
    "서울": 9_261_703, "부산": 3_252_667, "대구": 2_355_509, "인천": 3_005_371, "광주": 1_403_862,
    "대전": 1_433_942, "울산": 1_094_850, "세종": 389_842, "경기": 13_629_700, "강원": 1_512_327,
    "충청북": 1_586_549, "충청남": 2_129_779, "전북": 1_733_542, "전라남": 1_784_575, "경상북": 2_524_150,
    "경상남": 3_218_754, "제주": 666_524,
}
KOSTAT_SIDO = ["11", "21", "22", "23", "24", "25", "26", "29", "31", "32", "33", "34", "35", "36", "37", "38", "39"]
REGION_TABLES = ["vocab_province", "vocab_district", "vocab_neighbourhood", "pop_mois_2024_district_sex_age5"]


@pytest.fixture(autouse=True)
def _empty_user_cache(tmp_path, monkeypatch):
    # A developer's own ~/.cache must not change what these tests see.
    monkeypatch.setenv("INGU_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def provinces() -> pl.DataFrame:
    return load_table("vocab_province")


@pytest.fixture
def districts() -> pl.DataFrame:
    return load_table("vocab_district")


@pytest.fixture
def with_province(districts, provinces) -> pl.DataFrame:
    return districts.join(
        provinces.select(pl.col("code").alias("province_code"), pl.col("npk_label").alias("province_label"),
                         "sido_code"),
        on="province_code", how="left",
    )


def test_provinces_are_the_17_sido_in_kostat_order(provinces):
    assert provinces.columns == ["code", "sido_code", "name", "npk_label", "name_en"]
    assert provinces["code"].to_list() == list(range(17))
    assert provinces["sido_code"].to_list() == KOSTAT_SIDO
    assert provinces["npk_label"].to_list() == list(MOIS_2024_PROVINCE_TOTALS)
    names = dict(zip(provinces["npk_label"], provinces["name"]))
    assert names["강원"] == "강원특별자치도" and names["전북"] == "전북특별자치도" and names["경상남"] == "경상남도"


def test_districts_are_npks_252_with_unique_labels_and_codes(districts):
    assert districts.columns == ["code", "adm_code10", "sgg_code5", "province_code", "name", "npk_label", "name_en"]
    assert districts.height == 252
    assert districts["code"].to_list() == list(range(252))
    for column in ("npk_label", "adm_code10", "sgg_code5"):
        assert districts[column].n_unique() == 252, column
    assert districts["adm_code10"].to_list() == sorted(districts["adm_code10"])
    assert districts["adm_code10"].str.contains(r"^\d{5}00000$").all()
    assert districts["sgg_code5"].str.contains(r"^\d{5}$").all()
    assert districts["name_en"].null_count() == 0


def test_each_district_label_starts_with_its_provinces_label(with_province):
    assert with_province["province_label"].null_count() == 0
    local = with_province["npk_label"].str.splitn("-", 2).struct.field("field_1")
    prefix = with_province["npk_label"].str.splitn("-", 2).struct.field("field_0")
    assert (prefix == with_province["province_label"]).all()
    assert local.null_count() == 0


def test_district_codes_agree_with_their_province(with_province):
    # KOSTAT 5-digit codes start with the KOSTAT 시도 code; MOIS 10-digit codes share one prefix per province.
    assert (with_province["sgg_code5"].str.slice(0, 2) == with_province["sido_code"]).all()
    heads = with_province.group_by("province_code").agg(pl.col("adm_code10").str.slice(0, 2).n_unique())
    assert heads["adm_code10"].to_list() == [1] * heads.height


def test_cities_are_split_into_their_gu_and_never_counted_twice(districts):
    labels = set(districts["npk_label"])
    assert {"경기-용인시 수지구", "경기-부천시 원미구", "경상남-창원시 마산합포구", "세종-세종시", "대구-군위군"} <= labels
    cities_with_gu = {label.split(" ")[0] for label in labels if " " in label}
    assert cities_with_gu.isdisjoint(labels), "a 시 appears both whole and split into 일반구"
    assert "경기-화성시" in labels and "경상북-군위군" not in labels


def test_neighbourhoods_belong_to_real_districts(districts):
    dongs = load_table("vocab_neighbourhood")
    assert dongs.columns == ["district_code", "adm_code10", "name"]
    assert dongs.height > 3_000
    assert dongs["adm_code10"].n_unique() == dongs.height
    joined = dongs.join(districts.select(pl.col("code").alias("district_code"),
                                         pl.col("adm_code10").alias("district_adm")), on="district_code")
    assert joined.height == dongs.height
    assert (joined["adm_code10"].str.slice(0, 5) == joined["district_adm"].str.slice(0, 5)).all()
    assert set(dongs["district_code"]) == set(districts["code"])
    jongno = dongs.filter(pl.col("district_code") == 0)["name"].to_list()
    assert "청운효자동" in jongno


def test_population_has_one_row_per_district_sex_band():
    pop = load_table("pop_mois_2024_district_sex_age5")
    assert pop.columns == ["district_code", "sex", "age_band", "age_lo", "age_hi", "population"]
    assert pop.height == 252 * 2 * 21
    assert pop.select("district_code", "sex", "age_band").is_duplicated().sum() == 0
    assert set(pop["sex"]) == {"M", "F"}
    bands = pop.filter(pl.col("district_code") == 0, pl.col("sex") == "M")
    assert bands["age_band"].to_list() == [f"{lo}-{lo + 4}" for lo in range(0, 100, 5)] + ["100+"]
    assert bands["age_lo"].to_list() == list(range(0, 101, 5))
    top = pop.filter(pl.col("age_band") == "100+")
    assert top["age_hi"].null_count() == top.height
    closed = pop.filter(pl.col("age_band") != "100+")
    assert (closed["age_hi"] == closed["age_lo"] + 4).all()
    assert (pop["population"] >= 0).all()


def test_districts_add_up_to_the_mois_province_totals(districts, provinces):
    pop = load_table("pop_mois_2024_district_sex_age5")
    totals = (
        pop.join(districts.select(pl.col("code").alias("district_code"), "province_code"), on="district_code")
        .join(provinces.select(pl.col("code").alias("province_code"), "npk_label"), on="province_code")
        .group_by("npk_label").agg(pl.col("population").sum())
    )
    assert totals.height == 17
    assert dict(totals.iter_rows()) == MOIS_2024_PROVINCE_TOTALS
    national = sum(MOIS_2024_PROVINCE_TOTALS.values())
    assert int(pop["population"].sum()) == national == table_entry("pop_mois_2024_district_sex_age5").extra(
        "national_total")


@pytest.mark.parametrize("table_id", REGION_TABLES)
def test_region_tables_carry_their_provenance(table_id):
    entry = table_entry(table_id)
    assert entry.year == 2024
    assert "@" in entry.upstream_path  # upstream repo@commit
    assert "공공누리" in entry.licence or "Open Government" in entry.licence
    assert entry.notes and entry.attribution and entry.universe
    assert entry.columns == load_table(table_id).columns
    assert entry.rows == load_table(table_id).height
