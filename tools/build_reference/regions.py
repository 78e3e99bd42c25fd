"""Region vocabularies (시도, 시군구/일반구, 읍면동) and MOIS Dec-2024 population by district × sex × age.

Sources inside the data drop (``src``):

* ``population_mois_2022_2024/`` — 행정안전부 주민등록 연령별 인구현황 (거주자, 5-year bands), the tidy
  ``*_long.csv`` plus the original cp949 export it was derived from (used here as a cross-check);
* ``regions/tidycensuskr_adm_sgis_lookup_2024.csv`` — 10-digit 행정기관코드 ↔ KOSTAT/SGIS codes, English names;
* ``npk_aggregates/marginals/{province,district}.csv`` — NPK's exact region labels.

The district universe is MOIS's own 2024 rows at the finest level that carries population: autonomous
시군구 plus the 일반구 of cities that have them (NPK uses the 일반구 level wherever it exists). Every
check below raises, so a drop that changed silently fails the build instead of shipping wrong tables.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import polars as pl

from tools.build_reference.common import KOGL, write_table

YEAR = 2024

MOIS_LONG = Path("population_mois_2022_2024/mois_resident_pop_sgg_sex_age5_2022_2024_long.csv")
MOIS_RAW = Path("population_mois_2022_2024/202212_202412_연령별인구현황_연간.csv")
SGIS_LOOKUP = Path("regions/tidycensuskr_adm_sgis_lookup_2024.csv")
NPK_PROVINCE = Path("npk_aggregates/marginals/province.csv")
NPK_DISTRICT = Path("npk_aggregates/marginals/district.csv")

MOIS_UPSTREAM = (
    "iju298/REFrame@3d474bbf925702b32940cea38da2839f5d3b3380:"
    "dataset/PopulationStatistics/202212_202412_연령별인구현황_연간.csv"
)
SGIS_UPSTREAM = "sigmafelix/tidycensuskr@c0c27a1:tools/adm_sgis_lookup_2024.csv"
NPK_REPO = "eopchang/nemotron-personas-korea-audit@99b064bcffc3e0cb9cbb538890bf694484067e0e"


def _npk_upstream(path: Path) -> str:
    """The audit repo keeps NPK's marginals under ``data/processed/marginals/``."""
    return f"{NPK_REPO}:data/processed/marginals/{path.name}"

MOIS_ATTRIBUTION = "행정안전부, 주민등록 인구통계 (jumin.mois.go.kr, 연령별 인구현황), 2024-12"
MIT_TIDYCENSUSKR = "MIT (sigmafelix/tidycensuskr crosswalk)"
NPK_LICENCE = "CC BY 4.0 (NPK labels: Nemotron-Personas-Korea, NVIDIA)"

# The crosswalk still romanises the two provinces renamed into 특별자치도 (2023, 2024) the old way;
# their official English names changed with them.
PROVINCE_EN_OVERRIDES = {"강원특별자치도": "Gangwon State", "전북특별자치도": "Jeonbuk State"}

# NPK shortens a province by dropping its administrative suffix (서울특별시 → 서울, 충청남도 → 충청남,
# 전북특별자치도 → 전북); longest suffixes first so 특별자치도 is not read as …특별자치 + 도.
PROVINCE_SUFFIX = re.compile(r"(특별자치시|특별자치도|특별시|광역시|도)$")

# 세종 has no level below the province in MOIS (the district row repeats the province name);
# NPK writes it 세종-세종시.
NPK_LOCAL_ALIASES = {"3611000000": "세종시"}

AGE_BAND = re.compile(r"^(\d+)~(\d+)세$")
AGE_TOP = "100세 이상"


# --------------------------------------------------------------------------------------------- readers


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_mois(src: Path) -> pl.DataFrame:
    """MOIS long table for ``YEAR``: adm_code10, region_name, sex (T/M/F), age_band, population."""
    df = pl.read_csv(src / MOIS_LONG, schema_overrides={"adm_code10": pl.Utf8}, infer_schema_length=None)
    df = df.filter(pl.col("year") == YEAR).drop("year")
    _check_against_raw(src, df)
    return df


def _check_against_raw(src: Path, long: pl.DataFrame) -> None:
    """The long file was derived by a helper, not by MOIS: re-read the original export and compare."""
    text = (src / MOIS_RAW).read_bytes().decode("cp949")
    raw = pl.read_csv(io.StringIO(text), infer_schema_length=0)
    region = raw.columns[0]
    prefixes = {"T": f"{YEAR}년_거주자_", "M": f"{YEAR}년_남_거주자_", "F": f"{YEAR}년_여_거주자_"}
    frames = []
    for sex, prefix in prefixes.items():
        cols = [c for c in raw.columns if c.startswith(prefix) and not c.endswith("연령구간인구수")]
        part = raw.select(
            pl.col(region).str.extract(r"\((\d{10})\)").alias("adm_code10"),
            *[pl.col(c).alias(c.removeprefix(prefix).replace("총인구수", "total")) for c in cols],
        ).unpivot(index="adm_code10", variable_name="age_band", value_name="population")
        frames.append(part.with_columns(sex=pl.lit(sex)))
    raw_long = (
        pl.concat(frames)
        .filter(pl.col("population").is_not_null() & (pl.col("population") != ""))
        .with_columns(pl.col("population").str.replace_all(",", "").cast(pl.Int64))
    )
    key = ["adm_code10", "sex", "age_band"]
    joined = raw_long.join(long.select(*key, "population"), on=key, how="full", suffix="_long", coalesce=True)
    bad = joined.filter(pl.col("population").ne_missing(pl.col("population_long")))
    if bad.height:
        raise ValueError(f"MOIS long file disagrees with the original export in {bad.height} cells:\n{bad.head()}")


def _read_lookup(src: Path) -> pl.DataFrame:
    """Crosswalk rows that exist in 2024 (SGIS 2024 code present); every column as text (codes)."""
    df = pl.read_csv(src / SGIS_LOOKUP, infer_schema_length=0)
    return df.filter(pl.col("sgis_2024").is_not_null())


def _read_npk_labels(src: Path, path: Path, column: str) -> list[str]:
    return pl.read_csv(src / path)[column].to_list()


# --------------------------------------------------------------------------------------------- provinces


def build_provinces(mois: pl.DataFrame, lookup: pl.DataFrame, npk_labels: list[str]) -> pl.DataFrame:
    """17 시도 in KOSTAT order with their MOIS prefix (kept privately as ``mois_prefix`` for joins)."""
    names = (
        mois.filter(pl.col("adm_code10").str.ends_with("00000000"), pl.col("sex") == "T", pl.col("age_band") == "total")
        .select(pl.col("adm_code10").str.slice(0, 2).alias("mois_prefix"), pl.col("region_name").alias("name"))
    )
    if names.height != 17:
        raise ValueError(f"expected 17 province rows in MOIS {YEAR}, got {names.height}: {names['name'].to_list()}")
    # KOSTAT's 2-digit 시도 code is the head of the SGIS code (서울 11, 부산 21 … 제주 39).
    kostat = lookup.filter(pl.col("level") == "Province").select(
        pl.col("adm10_2024").str.slice(0, 2).alias("mois_prefix"),
        pl.col("sgis_2024").str.slice(0, 2).alias("sido_code"),
        pl.col("name_sido").alias("name_en"),
    )
    df = names.join(kostat, on="mois_prefix", how="left")
    missing = df.filter(pl.col("sido_code").is_null())
    if missing.height:
        raise ValueError(f"provinces without a KOSTAT code in the crosswalk: {missing['name'].to_list()}")
    df = df.with_columns(
        npk_label=pl.col("name").str.replace(PROVINCE_SUFFIX.pattern, ""),
        name_en=pl.col("name").replace_strict(PROVINCE_EN_OVERRIDES, default=pl.col("name_en")),
    ).sort("sido_code")
    if set(df["npk_label"]) != set(npk_labels):
        raise ValueError(f"NPK province labels differ: ours-only {set(df['npk_label']) - set(npk_labels)}, "
                         f"NPK-only {set(npk_labels) - set(df['npk_label'])}")
    return df.with_row_index("code").with_columns(pl.col("code").cast(pl.Int64)).select(
        "code", "sido_code", "name", "npk_label", "name_en", "mois_prefix"
    )


# --------------------------------------------------------------------------------------------- districts


def _mois_totals(mois: pl.DataFrame) -> pl.DataFrame:
    return mois.filter(pl.col("sex") == "T", pl.col("age_band") == "total").select(
        "adm_code10", "region_name", "population"
    )


def _sub_province_rows(mois: pl.DataFrame) -> pl.DataFrame:
    """MOIS rows below the province that hold people (출장소, branch offices, are listed with none)."""
    rows = _mois_totals(mois).filter(~pl.col("adm_code10").str.ends_with("00000000"))
    empty = rows.filter(pl.col("population") == 0)
    if not empty["region_name"].str.contains("출장소").all():
        raise ValueError(f"zero-population MOIS rows that are not 출장소: {empty['region_name'].to_list()}")
    return rows.filter(pl.col("population") > 0)


def _cities_with_gu(rows: pl.DataFrame) -> list[str]:
    """MOIS names of the 시 rows that are repeated by their 일반구 rows ("경기도 수원시" …).

    Matched on names, not code digits, because codes like 영동군 43740 / 증평군 43745 look like parent/child.
    """
    names = rows["region_name"].to_list()
    return [n for n in names if any(m.startswith(n + " ") for m in names)]


def _leaf_districts(mois: pl.DataFrame) -> pl.DataFrame:
    """MOIS sub-province rows at NPK's level: a 시 with 일반구 is its own row *and* the sum of its 구 rows;
    keep the 구 (NPK's level)."""
    rows = _sub_province_rows(mois)
    parents = _cities_with_gu(rows)
    _check_parents_sum(mois, rows.filter(pl.col("region_name").is_in(parents)), rows["region_name"].to_list())
    return rows.filter(~pl.col("region_name").is_in(parents))


def _check_parents_sum(mois: pl.DataFrame, parents: pl.DataFrame, names: list[str]) -> None:
    """Each 시 row must equal the sum of its 일반구 rows in every sex × age cell (else we would lose people)."""
    for parent_code, parent_name in parents.select("adm_code10", "region_name").iter_rows():
        children = [n for n in names if n.startswith(parent_name + " ")]
        child_cells = (
            mois.filter(pl.col("region_name").is_in(children))
            .group_by("sex", "age_band").agg(pl.col("population").sum())
        )
        parent_cells = mois.filter(pl.col("adm_code10") == parent_code).select("sex", "age_band", "population")
        diff = parent_cells.join(child_cells, on=["sex", "age_band"], how="full", suffix="_kids")
        if diff.filter(pl.col("population").ne_missing(pl.col("population_kids"))).height:
            raise ValueError(f"{parent_name}: city row differs from the sum of its 일반구 {children}")


def build_districts(
    mois: pl.DataFrame, lookup: pl.DataFrame, provinces: pl.DataFrame, npk_labels: list[str]
) -> pl.DataFrame:
    """The 252 NPK districts: codes, names and NPK labels, ``code`` 0..251 in adm_code10 order."""
    leaves = _leaf_districts(mois).with_columns(mois_prefix=pl.col("adm_code10").str.slice(0, 2))
    df = leaves.join(provinces.select("code", "name", "npk_label", "mois_prefix"), on="mois_prefix",
                     how="left", suffix="_province")
    if df["code"].null_count():
        raise ValueError(f"districts outside the 17 provinces: {df.filter(pl.col('code').is_null())}")
    df = df.with_columns(
        # MOIS writes "<province full name> <local name>"; the local part is the district's own name.
        local=pl.struct("region_name", "name").map_elements(
            lambda r: r["region_name"].removeprefix(r["name"]).strip(), return_dtype=pl.Utf8
        ),
    ).with_columns(
        name=pl.when(pl.col("local") == "").then(pl.col("region_name")).otherwise(pl.col("local")),
        npk_local=pl.col("adm_code10").replace_strict(NPK_LOCAL_ALIASES, default=pl.col("local")),
    ).with_columns(npk_label=pl.col("npk_label") + "-" + pl.col("npk_local"))
    df = _attach_codes_and_english(df, lookup)
    _check_npk_districts(df, npk_labels)
    return (
        df.sort("adm_code10").with_row_index("district").select(
            pl.col("district").cast(pl.Int64).alias("code"), "adm_code10", "sgg_code5",
            pl.col("code").alias("province_code"), "name", "npk_label", "name_en",
        )
    )


def _attach_codes_and_english(df: pl.DataFrame, lookup: pl.DataFrame) -> pl.DataFrame:
    """KOSTAT 5-digit code and English name from the crosswalk; 일반구 get their city's name in front."""
    xw = lookup.filter(pl.col("level").is_in(["District", "District_Nonauto"])).select(
        pl.col("adm10_2024").alias("adm_code10"), "sgis_2024", "name_eng", "level"
    )
    df = df.join(xw, on="adm_code10", how="left")
    if df["sgis_2024"].null_count():
        raise ValueError(f"MOIS districts missing from the 2024 crosswalk: {df.filter(pl.col('sgis_2024').is_null())}")
    # 일반구 romanisations in the crosswalk are bare ("Jangan-gu"); prefix the city's ("Suwon-si Jangan-gu")
    # so that e.g. 포항시 남구 and 부산 남구 do not share an English name.
    city_en = dict(lookup.filter(pl.col("level") == "District").select(
        pl.col("adm10_2024").str.slice(0, 4), "name_eng").iter_rows())
    df = df.with_columns(
        sgg_code5=pl.col("sgis_2024").str.slice(0, 5),
        name_en=pl.when(pl.col("level") == "District_Nonauto")
        .then(pl.col("adm_code10").str.slice(0, 4).replace_strict(city_en, default=None) + " " + pl.col("name_eng"))
        .otherwise(pl.col("name_eng")),
    )
    if df["name_en"].null_count():
        raise ValueError(f"districts without an English name: {df.filter(pl.col('name_en').is_null())['name']}")
    return df


def _check_npk_districts(df: pl.DataFrame, npk_labels: list[str]) -> None:
    ours = df["npk_label"].to_list()
    if len(ours) != len(set(ours)):
        raise ValueError(f"duplicate district labels: {sorted({x for x in ours if ours.count(x) > 1})}")
    if set(ours) != set(npk_labels):
        raise ValueError(
            f"district labels differ from NPK: ours-only {sorted(set(ours) - set(npk_labels))}, "
            f"NPK-only {sorted(set(npk_labels) - set(ours))}"
        )
    if df["sgg_code5"].n_unique() != df.height:
        raise ValueError("KOSTAT 5-digit district codes are not unique")


# --------------------------------------------------------------------------------------------- neighbourhoods


def build_neighbourhoods(lookup: pl.DataFrame, districts: pl.DataFrame) -> pl.DataFrame:
    """읍면동 of 2024 per district, matched on the 10-digit code's 5-digit head (checked against KOSTAT's)."""
    dongs = lookup.filter(pl.col("level") == "Neighborhood").select(
        pl.col("adm10_2024").alias("adm_code10"), "name", "sgis_2024"
    )
    heads = districts.select(pl.col("adm_code10").str.slice(0, 5).alias("head"), "code", "sgg_code5")
    df = dongs.with_columns(head=pl.col("adm_code10").str.slice(0, 5)).join(heads, on="head", how="left")
    orphans = df.filter(pl.col("code").is_null())
    if orphans.height:
        raise ValueError(f"{orphans.height} 읍면동 fall outside the 252 districts: {orphans.head()}")
    # Two independent code systems (MOIS 행정기관코드, KOSTAT/SGIS) must agree on the parent district.
    clash = df.filter(pl.col("sgis_2024").str.slice(0, 5) != pl.col("sgg_code5"))
    if clash.height:
        raise ValueError(f"MOIS and SGIS codes disagree on the district of {clash.height} 읍면동: {clash.head()}")
    empty = set(districts["code"]) - set(df["code"])
    if empty:
        raise ValueError(f"districts without any 읍면동: {sorted(empty)}")
    return df.select(pl.col("code").alias("district_code"), "adm_code10", "name").sort("district_code", "adm_code10")


# --------------------------------------------------------------------------------------------- population


def _age_columns(band: pl.Expr) -> list[pl.Expr]:
    """MOIS's ``0~4세`` / ``100세 이상`` → ``0-4`` / ``100+`` with numeric bounds (100+ open-ended)."""
    lo = band.str.extract(r"^(\d+)", 1).cast(pl.Int64)
    hi = band.str.extract(AGE_BAND.pattern, 2).cast(pl.Int64)
    label = pl.when(band == AGE_TOP).then(pl.lit("100+")).otherwise(lo.cast(pl.Utf8) + "-" + hi.cast(pl.Utf8))
    return [label.alias("age_band"), lo.alias("age_lo"), hi.alias("age_hi")]


def build_population(mois: pl.DataFrame, districts: pl.DataFrame, provinces: pl.DataFrame) -> pl.DataFrame:
    """District × sex (M/F) × 5-year age band counts; checked to add up to MOIS's 17 province rows."""
    cells = mois.filter(pl.col("sex").is_in(["M", "F"]), pl.col("age_band") != "total")
    unknown = set(cells["age_band"]) - {AGE_TOP} - {b for b in cells["age_band"] if AGE_BAND.match(b)}
    if unknown:
        raise ValueError(f"unexpected MOIS age bands: {unknown}")
    df = (
        cells.join(districts.select(pl.col("code").alias("district_code"), "adm_code10"), on="adm_code10")
        .select("district_code", "sex", *_age_columns(pl.col("age_band")), "population")
        .sort("district_code", pl.col("sex").replace_strict({"M": 0, "F": 1}), "age_lo")
    )
    expected = districts.height * 2 * 21
    if df.height != expected:
        raise ValueError(f"population table has {df.height} rows, expected {expected}")
    _check_province_sums(mois, df, districts, provinces)
    return df


def _check_province_sums(
    mois: pl.DataFrame, pop: pl.DataFrame, districts: pl.DataFrame, provinces: pl.DataFrame
) -> None:
    """Districts must add up to MOIS's own province rows in every sex × band cell (no double counting)."""
    ours = (
        pop.join(districts.select(pl.col("code").alias("district_code"), "province_code"), on="district_code")
        .group_by("province_code", "sex", "age_lo").agg(pl.col("population").sum())
    )
    official = (
        mois.filter(pl.col("adm_code10").str.ends_with("00000000"), pl.col("sex").is_in(["M", "F"]),
                    pl.col("age_band") != "total")
        .with_columns(
            mois_prefix=pl.col("adm_code10").str.slice(0, 2),
            age_lo=pl.col("age_band").str.extract(r"^(\d+)", 1).cast(pl.Int64),
        )
        .join(provinces.select(pl.col("code").alias("province_code"), "mois_prefix"), on="mois_prefix")
        .select("province_code", "sex", "age_lo", pl.col("population").alias("official"))
    )
    diff = official.join(ours, on=["province_code", "sex", "age_lo"], how="full")
    bad = diff.filter(pl.col("official").ne_missing(pl.col("population")))
    if bad.height:
        raise ValueError(f"district sums differ from MOIS province rows in {bad.height} cells:\n{bad.head()}")


def summary(pop: pl.DataFrame) -> dict[str, int]:
    """National totals used in the build log: all ages, 20+ (exact) and 15–19 (holds the 19-year-olds)."""
    total = int(pop["population"].sum())
    adults20 = int(pop.filter(pl.col("age_lo") >= 20)["population"].sum())
    band15 = int(pop.filter(pl.col("age_lo") == 15)["population"].sum())
    return {"total": total, "age_20_plus": adults20, "age_15_19": band15}


# --------------------------------------------------------------------------------------------- manifest


def _pick(sha: dict[str, str], *paths: Path) -> dict[str, str]:
    return {p.as_posix(): sha[p.as_posix()] for p in paths}


def _entries(src: Path, s: dict[str, int], cities_with_gu: list[str]) -> dict[str, dict]:
    sha = {p.as_posix(): _sha256(src / p) for p in (MOIS_LONG, MOIS_RAW, SGIS_LOOKUP, NPK_PROVINCE, NPK_DISTRICT)}
    cities = ", ".join(name.split(" ", 1)[1] for name in cities_with_gu)
    crosswalk = {
        "agency": "행정안전부 (행정기관코드), 통계청 (KOSTAT/SGIS 행정구역코드)",
        "year": YEAR,
        "unit": "category",
    }
    return {
        "vocab_province": {
            **crosswalk,
            "id": "vocab_province",
            "title": "시도 (17 provinces): KOSTAT code, name, NPK label",
            "table_id": "행정구역 시도 코드 (MOIS 2024 names, KOSTAT/SGIS 2024 codes)",
            "universe": "17 시도 as of December 2024",
            "licence": f"{KOGL}; {MIT_TIDYCENSUSKR}; {NPK_LICENCE}",
            "attribution": f"{MOIS_ATTRIBUTION}; 통계청 SGIS codes via sigmafelix/tidycensuskr; "
                           "labels from Nemotron-Personas-Korea, NVIDIA",
            "upstream_path": f"{MOIS_LONG} ({MOIS_UPSTREAM}); {SGIS_LOOKUP} ({SGIS_UPSTREAM}); "
                             f"{NPK_PROVINCE} ({_npk_upstream(NPK_PROVINCE)})",
            "upstream_sha256": _pick(sha, MOIS_LONG, SGIS_LOOKUP, NPK_PROVINCE),
            "notes": "name = MOIS 2024 province row (new names 강원특별자치도 2023-06, 전북특별자치도 2024-01). "
                     "sido_code = first two digits of the SGIS 2024 code (KOSTAT 시도 code: 서울 11, 부산 21 … "
                     "제주 39; differs from the 10-digit MOIS prefix, e.g. 부산 26, 강원 51). code = 0..16 in "
                     "sido_code order. npk_label = name without its suffix (특별시/광역시/특별자치시/특별자치도/도), "
                     "verified equal to NPK's 17 province labels. name_en from the crosswalk, except Gangwon "
                     "State / Jeonbuk State (official English names after the renames).",
        },
        "vocab_district": {
            **crosswalk,
            "id": "vocab_district",
            "title": "시군구 / 일반구 (NPK's 252 districts): codes, names, NPK labels",
            "table_id": "행정구역 시군구 코드 (MOIS 2024 rows, KOSTAT/SGIS 2024 codes)",
            "universe": "252 districts as of December 2024: autonomous 시군구, with cities that have 일반구 "
                        "split into their 일반구",
            "licence": f"{KOGL}; {MIT_TIDYCENSUSKR}; {NPK_LICENCE}",
            "attribution": f"{MOIS_ATTRIBUTION}; 통계청 SGIS codes and English names via "
                           "sigmafelix/tidycensuskr; labels from Nemotron-Personas-Korea, NVIDIA",
            "upstream_path": f"{MOIS_LONG} ({MOIS_UPSTREAM}); {SGIS_LOOKUP} ({SGIS_UPSTREAM}); "
                             f"{NPK_DISTRICT} ({_npk_upstream(NPK_DISTRICT)})",
            "upstream_sha256": _pick(sha, MOIS_LONG, SGIS_LOOKUP, NPK_DISTRICT),
            "notes": "Rows = MOIS 2024 sub-province rows with population > 0, dropping 출장소 (branch offices, "
                     f"always 0) and the 시 rows of {cities}, which repeat the sum of their 일반구 (checked "
                     "cell by cell). 부천 has 일반구 again from "
                     "2024-01 (원미/소사/오정; NPK uses them); 화성 is still one 시 in 2024; 군위군 is in 대구 "
                     "since 2023-07; 인천 중구/동구/서구 unchanged (the 2026 reorganisation is not in 2024 data). "
                     "adm_code10 = MOIS 행정기관코드 (강원 51…, 전북 52… new codes). sgg_code5 = KOSTAT/SGIS "
                     "5-digit code (first five digits of the SGIS 2024 code, e.g. 종로구 11010), not the head of "
                     "adm_code10. province_code = vocab_province.code. name = MOIS name without the province "
                     "(세종: 세종특별자치시). npk_label = '<province npk_label>-<name>' (세종 → 세종-세종시), "
                     "verified equal to NPK's 252 labels. name_en from the crosswalk, 일반구 prefixed by their "
                     "city's ('Suwon-si Jangan-gu'). code = 0..251 in adm_code10 order.",
        },
        "vocab_neighbourhood": {
            **crosswalk,
            "id": "vocab_neighbourhood",
            "title": "읍면동 per district (names for narratives)",
            "table_id": "행정동 코드 (tidycensuskr adm_sgis_lookup_2024, level Neighborhood)",
            "universe": "읍면동 (administrative 동, 읍, 면) existing in the SGIS 2024 boundaries",
            "licence": f"{MIT_TIDYCENSUSKR}; codes and names: {KOGL}",
            "attribution": "통계청 SGIS / 행정안전부 행정기관코드, via sigmafelix/tidycensuskr",
            "upstream_path": f"{SGIS_LOOKUP} ({SGIS_UPSTREAM})",
            "upstream_sha256": _pick(sha, SGIS_LOOKUP),
            "notes": "Rows of level Neighborhood with a non-empty sgis_2024 code. adm_code10 = adm10_2024. "
                     "district_code = vocab_district.code whose adm_code10 shares the first five digits "
                     "(일반구 level where it exists); checked against the SGIS code's district part. Names as "
                     "given (e.g. 청운효자동).",
        },
        "pop_mois_2024_district_sex_age5": {
            "id": "pop_mois_2024_district_sex_age5",
            "title": "Resident population by district × sex × 5-year age, December 2024",
            "agency": "행정안전부",
            "table_id": "MOIS 주민등록 연령별 인구현황 (연간, 거주자, 5세 단위)",
            "year": YEAR,
            "universe": "Korean nationals registered as residents (주민등록 거주자), 2024-12-31; excludes "
                        "거주불명자, 재외국민 and foreigners",
            "unit": "persons",
            "licence": KOGL,
            "attribution": MOIS_ATTRIBUTION,
            "upstream_path": f"{MOIS_LONG} (derived from {MOIS_RAW}: {MOIS_UPSTREAM})",
            "upstream_sha256": _pick(sha, MOIS_LONG, MOIS_RAW),
            "national_total": s["total"],
            "national_age_20_plus": s["age_20_plus"],
            "notes": f"Year 2024, sexes M/F (T dropped), 21 bands (MOIS '0~4세' → '0-4', '100세 이상' → '100+', "
                     f"age_hi blank). Districts = vocab_district (일반구 level; 시 rows of cities with 일반구 "
                     f"and 0-population 출장소 rows dropped). district_code = vocab_district.code. Checked: the "
                     f"long file equals the original cp949 export in every 2024 cell; bands add up to MOIS's "
                     f"총인구수; districts add up to MOIS's 17 province rows in every sex × band cell. National "
                     f"total {s['total']:,} (sum of the 17 provinces; the file has no national row), 20+ "
                     f"{s['age_20_plus']:,}. 19+ is not exact from 5-year bands (19-year-olds sit in 15-19).",
        },
    }


def build(src: Path, out: Path) -> list[dict]:
    """Build the four region tables into ``out`` and return their manifest entries.

    Parameters
    ----------
    src : Path
        The data drop (folder holding ``population_mois_2022_2024/``, ``regions/``, ``npk_aggregates/``).
    out : Path
        The package's ``reference/data`` folder.
    """
    mois = _read_mois(src)
    lookup = _read_lookup(src)
    provinces = build_provinces(mois, lookup, _read_npk_labels(src, NPK_PROVINCE, "province"))
    districts = build_districts(mois, lookup, provinces, _read_npk_labels(src, NPK_DISTRICT, "district"))
    neighbourhoods = build_neighbourhoods(lookup, districts)
    pop = build_population(mois, districts, provinces)
    s = summary(pop)
    print(f"regions: {districts.height} districts, {neighbourhoods.height} 읍면동; MOIS {YEAR} total "
          f"{s['total']:,}, 20+ {s['age_20_plus']:,}, 15-19 {s['age_15_19']:,}")
    entries = _entries(src, s, _cities_with_gu(_sub_province_rows(mois)))
    tables = {
        "vocab_province": provinces.drop("mois_prefix"),
        "vocab_district": districts,
        "vocab_neighbourhood": neighbourhoods,
        "pop_mois_2024_district_sex_age5": pop,
    }
    return [write_table(df, out, entries[table_id]) for table_id, df in tables.items()]
