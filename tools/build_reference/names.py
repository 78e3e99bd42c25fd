"""Build the name tables: 2015 census surnames, published top given names by birth cohort, and the
2010 census population by sex × 5-year age (the denominator that turns printed name counts into shares).

Tables written (see ``docs/names.md``):

``surnames_2015``
    surname, count, share — KOSIS DT_1IN15SD (2015 census, 성씨·본관), hanja variants summed per hangul
    reading. Checked row by row against the drop's own hangul aggregation.
``given_names_by_cohort``
    cohort, cohort_type, sex, rank, name, count, source_url, source_published, note — the Supreme Court's
    top names by birth year / decade as quoted in news, copied as printed (blank count = not printed).
``census2010_pop_national_sex_age5``
    sex, age_band, age_lo, age_hi, population — 2010 census, national, Korean nationals.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from pathlib import Path

import polars as pl

from tools.build_reference.common import KOGL, write_table

SURNAME_DIR = "names_surnames"
GIVEN_NAMES = "official_2/tidy/given_names_by_birth_cohort_court_pressreleases.csv"
CENSUS2010 = "population_census2010/provinces_2010_utf8.csv"

SURNAME_REPO = "cshnican/names@480f26953230d91fb92d0c903fba0572f2ed514f, Data/Korea/ (removed from HEAD later)"
CENSUS2010_REPO = "southkorea/southkorea-population@5e1388ee2b9a95957b7d5f2d22401ce6aeb6e21a (Team POPONG)"


def build(src: Path, out: Path) -> list[dict]:
    """Write the three name tables into ``out`` and return their manifest entries."""
    src = Path(src)
    return [_surnames(src, out), _given_names(src, out), _census2010(src, out)]


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _surnames(src: Path, out: Path) -> dict:
    path = src / SURNAME_DIR / "korea_2015_hanja.csv"
    rows = list(csv.reader(path.open(encoding="utf-8")))
    if rows[1][0] != "전국":
        raise ValueError(f"{path}: expected the national total on line 2, got {rows[1]}")
    total = int(rows[1][1])
    counts: Counter[str] = Counter()
    for label, value in rows[2:]:
        # "김(金)" -> 김 ; "기타(기타)" -> 기타 (persons whose surname is not listed)
        counts[label.split("(")[0]] += int(value)
    if sum(counts.values()) != total:
        raise ValueError(f"{path}: hanja rows sum to {sum(counts.values())}, national total is {total}")

    df = (
        pl.DataFrame({"surname": list(counts), "count": list(counts.values())})
        .with_columns(share=(pl.col("count") / total).round(6))
        .sort(["count", "surname"], descending=[True, False])
    )
    _check_against_aggregate(df, src / SURNAME_DIR / "surnames_2015_hangul_aggregated.csv")
    return write_table(df, out, {
        "id": "surnames_2015",
        "title": "Surnames (hangul reading, hanja variants summed), persons, 2015 census",
        "agency": "Statistics Korea (KOSTAT), 인구주택총조사 성씨·본관",
        "table_id": "DT_1IN15SD",
        "year": 2015,
        "universe": "Korean nationals enumerated in the 2015 census (49,705,663 persons)",
        "unit": "persons; share = count / national total (6 decimals)",
        "licence": KOGL,
        "attribution": "출처: 통계청, 「인구주택총조사」 성씨·본관 (KOSIS DT_1IN15SD)",
        "upstream_path": f"{SURNAME_DIR}/korea_2015_hanja.csv ({SURNAME_REPO}; repo has no licence, README credits KOSIS)",
        "upstream_sha256": _file_sha256(path),
        "string_columns": ["surname"],
        "notes": (
            "533 surname(hanja) rows summed by hangul reading into 192 surnames; identical, row by row, to the "
            "drop's surnames_2015_hangul_aggregated.csv. The 2015 table lists surnames held by 5+ persons; "
            "'기타' (91,107 persons, 0.18%) is everyone else and is kept as published. Shares use the "
            "national total including 기타."
        ),
    })


def _check_against_aggregate(df: pl.DataFrame, path: Path) -> None:
    ref = pl.read_csv(path)
    mine = dict(zip(df["surname"], df["count"]))
    theirs = dict(zip(ref["surname_hangul"], ref["population_2015"]))
    if mine != theirs:
        diff = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
        raise ValueError(f"surname aggregation disagrees with {path.name} for {diff[:10]}")


def _given_names(src: Path, out: Path) -> dict:
    path = src / GIVEN_NAMES
    df = pl.read_csv(path, infer_schema_length=0)  # cohort mixes "1945" and "1940s": read as text
    df = df.select(
        "cohort",
        "cohort_type",
        "sex",
        pl.col("rank").cast(pl.Int64),
        "name",
        pl.col("count").cast(pl.Int64),
        "source_url",
        "source_published",
        "note",
    )
    if df["sex"].is_in(["M", "F"]).not_().any():
        raise ValueError(f"{path}: sex outside M/F")
    return write_table(df, out, {
        "id": "given_names_by_cohort",
        "title": "Most frequent given names by birth year / decade and sex, as published",
        "agency": "Supreme Court of Korea (대법원 가족관계등록 / 호적 statistics), as quoted in news reports",
        "table_id": "none (press releases; each row cites its article)",
        "year": "1945-2006 birth cohorts; decade lists 1940s-2010s; published 2007-2016",
        "universe": "persons registered with that birth year and sex, as of the publication date",
        "unit": "rank; count = persons, only where the article prints it (blank = not printed)",
        "licence": ("Statistics published by the Supreme Court of Korea (facts, quoted with attribution); "
                    "transcribed by hand from the cited articles"),
        "attribution": "출처: 대법원 (법원행정처) 가족관계등록 통계, 각 행의 source_url 기사 인용",
        "upstream_path": GIVEN_NAMES + " (hand transcription of the articles in source_url)",
        "upstream_sha256": _file_sha256(path),
        "string_columns": ["cohort", "cohort_type", "sex", "name", "source_url", "source_published", "note"],
        "notes": (
            "Copied as printed. Birth years 1945/1948/1958/1968 top 10, 1975 top 4 with counts, "
            "1978/1988/1998 top 4-5, 1995 top 10 (5 counts), 2005 top 1, 2006 top 5; decade 'representative' "
            "names; an all-time top 5 (cohort_type=all_time). Outlet discrepancies are kept in note. "
            "publisher_of_figures (always 대법원) dropped."
        ),
    })


def _census2010(src: Path, out: Path) -> dict:
    path = src / CENSUS2010
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header = next(i for i, r in enumerate(rows) if r and r[0] == "C행정구역별")
    records = []
    band_codes = {f"'{k:02d}" for k in range(5, 95, 5)}  # '05 = 0-4세 … '90 = 85세이상; others are totals
    for r in rows[header + 1:]:
        if len(r) < 8 or r[1] != "전국" or r[2] not in band_codes:
            continue
        label = r[3].replace(" ", "")
        if label.endswith("세이상"):
            lo, hi = int(label[:-3]), None
        else:
            lo, hi = (int(x) for x in label[:-1].split("-"))
        band = f"{lo}+" if hi is None else f"{lo}-{hi}"
        records.append({"sex": "M", "age_band": band, "age_lo": lo, "age_hi": hi, "population": int(r[6])})
        records.append({"sex": "F", "age_band": band, "age_lo": lo, "age_hi": hi, "population": int(r[7])})
    df = pl.DataFrame(records, schema={"sex": pl.Utf8, "age_band": pl.Utf8, "age_lo": pl.Int64,
                                       "age_hi": pl.Int64, "population": pl.Int64})
    df = df.sort(["sex", "age_lo"], descending=[True, False])
    if df.height != 36 or df["population"].sum() != 47_990_761:
        raise ValueError(f"{path}: expected 18 bands x 2 sexes summing to 47,990,761, got {df.height} rows")
    return write_table(df, out, {
        "id": "census2010_pop_national_sex_age5",
        "title": "Population by sex and 5-year age band, national, 2010 census",
        "agency": "Statistics Korea (KOSTAT), 인구주택총조사 「총조사인구 총괄(시도/성/5세연령별)」",
        "table_id": "KOSIS 총조사인구 총괄 (시도/성/5세연령별); table id not printed in the file",
        "year": 2010,
        "universe": "Korean nationals enumerated in the 2010 census (reference date 2010-11-01)",
        "unit": "persons",
        "licence": f"{KOGL}; upstream repository CC BY 3.0 (Team POPONG)",
        "attribution": "출처: 통계청, 「2010 인구주택총조사」; data via Team POPONG (southkorea-population)",
        "upstream_path": f"{CENSUS2010} ({CENSUS2010_REPO}, data/2010/provinces_2010_utf8.csv)",
        "upstream_sha256": _file_sha256(path),
        "notes": (
            "Only the national (전국) rows, 0-4 … 80-84 and 85+ (age_hi blank). Used by ingu.model.names as the "
            "single-year cohort size (band / 5) that turns printed given-name counts into shares."
        ),
    })
