"""The official numbers each audit check compares against, read from the shipped reference tables.

The audit shares ``ingu.reference`` with the generator — one source of truth — but never the
generator's fitted model: every expectation here is computed from published tables (or, for the
rule-implied axes, from published institutional counts) so that our own output gets no free pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

from ingu.reference import load_table, table_entry
from ingu.reference.vocab import districts, provinces

SEXES: tuple[str, ...] = ("남자", "여자")
_SEX_CODE = {"M": "남자", "F": "여자"}
#: KSCO-7 major groups compared with labour-force tables (A, armed forces, is outside the LFS frame).
CIVILIAN_MAJORS: tuple[str, ...] = tuple("123456789")
MAJOR_NAMES: dict[str, str] = {
    "1": "관리자", "2": "전문가", "3": "사무", "4": "서비스", "5": "판매",
    "6": "농림어업", "7": "기능원", "8": "장치·기계", "9": "단순노무", "A": "군인", "0": "비취업",
}
#: The labour tables' age bands (paper Table 5), lower bounds; the last is open.
LFP_BANDS: tuple[tuple[str, int, int], ...] = (
    ("19-29", 19, 29), ("30-39", 30, 39), ("40-49", 40, 49), ("50-59", 50, 59), ("60+", 60, 200),
)


def describe(table_id: str) -> dict[str, str]:
    """Provenance of one reference table as the report cites it (id, title, agency, year, universe)."""
    entry = table_entry(table_id)
    return {"id": entry.id, "title": entry.title, "agency": entry.agency, "year": str(entry.year),
            "universe": entry.universe}


@lru_cache(maxsize=1)
def population_2024() -> pl.DataFrame:
    """Registered residents, end of 2024, by province (NPK label) × sex × 5-year band.

    Columns: province, sex (남자/여자), age_band, age_lo, age_hi (None for 100+), population.
    """
    district_province = pl.DataFrame({
        "district_code": [d.code for d in districts()],
        "province": [provinces()[d.province_code].npk_label for d in districts()],
    })
    pop = load_table("pop_mois_2024_district_sex_age5")
    return (
        pop.join(district_province, on="district_code")
        .with_columns(pl.col("sex").replace_strict(_SEX_CODE))
        .group_by("province", "sex", "age_band", "age_lo", "age_hi")
        .agg(pl.col("population").sum())
        .sort("province", "sex", "age_lo")
    )


def adult_population_20plus() -> pl.DataFrame:
    """Residents aged 20+ (whole 5-year bands). Age 19 sits inside the 15–19 band, which the
    registration table does not split, so the age-based baselines compare ages 20+ only."""
    return population_2024().filter(pl.col("age_lo") >= 20)


@dataclass(frozen=True, slots=True)
class SexOccupation:
    """Employed persons by sex (rows 남자, 여자) × KSCO major 1–9 (columns), in persons."""

    table: np.ndarray
    year: int
    source: str

    @property
    def female_share(self) -> np.ndarray:
        return self.table[1] / self.table.sum(axis=0)


def sex_occupation(year: int = 2024) -> SexOccupation:
    """LFS annual employed persons by sex × occupation major (thousands → persons)."""
    df = load_table("lfs_sex_occupation_major_annual").filter(pl.col("year") == year)
    table = np.zeros((2, 9))
    for row in df.filter(pl.col("sex").is_in(["M", "F"])).iter_rows(named=True):
        table[0 if row["sex"] == "M" else 1, int(row["ksco_major"]) - 1] = row["employed_thousand"] * 1000
    if not table.all():
        raise ValueError(f"lfs_sex_occupation_major_annual has no complete {year} sex × major table")
    return SexOccupation(table, year, "lfs_sex_occupation_major_annual")


def occupation_age_structure(year: int = 2024) -> tuple[np.ndarray, tuple[str, ...]]:
    """Age distribution of the employed within each KSCO major (rows 1–9; LAFS bands 15-29 … 60+),
    averaged over the year's two half-year waves. Used for direct age standardisation."""
    df = (
        load_table("lafs_occupation_by_age")
        .filter((pl.col("year") == year) & (pl.col("level") == "major"))
        .group_by("ksco_code", "age_band", "age_lo").agg(pl.col("employed_thousand").mean())
        .sort("ksco_code", "age_lo")
    )
    bands = tuple(df.filter(pl.col("ksco_code") == "1")["age_band"].to_list())
    weights = np.zeros((9, len(bands)))
    for row in df.iter_rows(named=True):
        weights[int(row["ksco_code"]) - 1, bands.index(row["age_band"])] = row["employed_thousand"]
    return weights / weights.sum(axis=1, keepdims=True), bands


def _paper(table: str) -> pl.DataFrame:
    return load_table("paper_cells").filter(pl.col("table") == table)


def lfp_rates() -> dict[tuple[str, str], float]:
    """Labour-force participation by (sex, band) from the paper's Table 5 (KOSIS, 2025 H2)."""
    return {(_SEX_CODE[r["sex"]], r["age_band"]): float(r["value"]) for r in _paper("T5").iter_rows(named=True)}


def graduate_field_occupation() -> list[tuple[str, str, float]]:
    """(bachelor's field, KSCO major, share of the field's employed graduates) from Table 7 (KEIS GOMS)."""
    cells = []
    for row in _paper("T7").iter_rows(named=True):
        field, major = row["category"].removeprefix("field=").split(" -> KSCO ")
        cells.append((field.strip(), major.strip(), float(row["value"]) / 100))
    return cells


def marital_shares() -> dict[tuple[str, str], float]:
    """Marital status of adults 19+ by (sex, 미혼|유배우|사별·이혼), KOSIS DT_1MR2060 2024-12 (Table 8)."""
    return {(_SEX_CODE[r["sex"]], r["category"]): float(r["value"]) / 100 for r in _paper("T8").iter_rows(named=True)}


def education_25plus() -> dict[str, float]:
    """Education of persons 25+, 2020 census (7 levels, shares as quoted)."""
    df = load_table("census2020_education_25plus")
    return dict(zip(df["education_level"].to_list(), df["share"].to_list(), strict=True))


def surname_shares() -> dict[str, float]:
    """Surname shares, 2015 census."""
    df = load_table("surnames_2015")
    return dict(zip(df["surname"].to_list(), df["share"].to_list(), strict=True))


@dataclass(frozen=True, slots=True)
class NameCohorts:
    """Top given names of early and recent birth cohorts, by sex, from the published cohort lists.

    ``vintage`` are names on lists of cohorts born ≤ 1959, ``modern`` on lists of cohorts born ≥ 1990;
    a name on both (a perennial like 지훈) is in neither, so the two sets separate eras.
    """

    vintage: dict[str, frozenset[str]]
    modern: dict[str, frozenset[str]]
    cohorts: tuple[str, ...]


def _cohort_start(cohort: str) -> int | None:
    digits = cohort[:4]
    return int(digits) if digits.isdigit() else None


def name_cohorts(old_until: int = 1959, new_from: int = 1990) -> NameCohorts:
    """Split the published cohort lists into vintage and modern name sets per sex."""
    df = load_table("given_names_by_cohort").filter(pl.col("cohort_type") != "all_time")
    vintage: dict[str, set[str]] = {"남자": set(), "여자": set()}
    modern: dict[str, set[str]] = {"남자": set(), "여자": set()}
    for row in df.iter_rows(named=True):
        start = _cohort_start(str(row["cohort"]))
        if start is None:
            continue
        sex = _SEX_CODE[row["sex"]]
        if start <= old_until:
            vintage[sex].add(row["name"])
        elif start >= new_from:
            modern[sex].add(row["name"])
    return NameCohorts(
        vintage={s: frozenset(vintage[s] - modern[s]) for s in SEXES},
        modern={s: frozenset(modern[s] - vintage[s]) for s in SEXES},
        cohorts=tuple(sorted({str(c) for c in df["cohort"].to_list()})),
    )


@dataclass(frozen=True, slots=True)
class MilitaryExpectation:
    """What the institutional counts imply for active duty (paper §6.4), with its derivation.

    ``conscript_rate_19_25``: conscripts in service ÷ men aged 19–25 (enlistments a year × the
    length of service); ``force_share``: the range of the standing force ÷ adults 19+;
    ``women_rate``: female service members ÷ women 19+.
    """

    conscript_rate_19_25: float
    force_share: tuple[float, float]
    women_rate: float
    derivation: dict[str, float | str]


#: Length of conscript service in years: 18 months in the army since the 2018–2021 reform
#: (navy 20, air force 21 months; the army is ~75 % of the force) — an institutional rule, not a count.
ARMY_SERVICE_YEARS = 1.5


def military_expectation() -> MilitaryExpectation:
    """Rule-implied active-duty rates from the military cells and the 2024 registered population."""
    cells = load_table("military_cells")
    enlisted = cells.filter((pl.col("topic") == "conscription") & (pl.col("category") == "enlisted"))
    recent = enlisted.sort("year").tail(3)
    enlistments = float(recent["value"].cast(pl.Float64).mean())
    forces = cells.filter(
        (pl.col("topic") == "standing_forces") & (pl.col("unit") == "persons") & (pl.col("category").is_in(["total", "active"]))
    )
    force_low, force_high = (float(v) for v in (forces["value"].cast(pl.Float64).min(), forces["value"].cast(pl.Float64).max()))
    women = cells.filter((pl.col("topic") == "women") & (pl.col("category") == "total") & (pl.col("branch") == "all"))
    women_count = float(women["value"].cast(pl.Float64).max())

    pop = population_2024()
    adults = float(pop.filter(pl.col("age_lo") >= 20)["population"].sum()) + float(
        pop.filter(pl.col("age_band") == "15-19")["population"].sum()) / 5
    men = pop.filter(pl.col("sex") == "남자")
    # Men 19–25: the 20–24 band, plus one fifth of 15–19 and of 25–29 (single ages 19 and 25),
    # the even split being the only assumption the 5-year table allows.
    men_19_25 = float(men.filter(pl.col("age_band") == "20-24")["population"].sum()) + float(
        men.filter(pl.col("age_band").is_in(["15-19", "25-29"]))["population"].sum()) / 5
    women_adult = float(pop.filter((pl.col("sex") == "여자") & (pl.col("age_lo") >= 20))["population"].sum())
    conscripts = enlistments * ARMY_SERVICE_YEARS
    return MilitaryExpectation(
        conscript_rate_19_25=conscripts / men_19_25,
        force_share=(force_low / adults, force_high / adults),
        women_rate=women_count / women_adult,
        derivation={
            "enlistments_per_year": enlistments,
            "enlistment_years": f"{recent['year'].min()}–{recent['year'].max()}",
            "service_years": ARMY_SERVICE_YEARS,
            "conscripts_in_service": conscripts,
            "men_19_25": men_19_25,
            "standing_force_low": force_low,
            "standing_force_high": force_high,
            "adults_19plus": adults,
            "women_service_members": women_count,
        },
    )
