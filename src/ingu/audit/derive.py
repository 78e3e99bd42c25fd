"""Columns every axis derives from the raw fields, computed once per audit (vectorised).

- ``occ_major``: the crosswalk's KSCO-7 major of the free-text ``occupation`` (``0`` not employed,
  ``A`` armed forces, ``""`` unmapped); a dataset without ``occupation`` but with ``occupation_major``
  uses that instead, and the report says so.
- ``employed`` / ``in_labour_force``: from ``employment_status`` when the dataset has it; otherwise from
  the occupation — a job seeker ("전직 X, 현재 구직중") is unemployed, i.e. in the labour force but not
  employed, the ILO convention KOSIS follows (the paper's keyword set counted 구직 as outside it).
- ``active_duty``: ``military_status == 현역``, or ``military_service`` in 현역병/직업군인.
- ``birth_year``: the field when present, else ``reference_year − age``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ingu.audit.crosswalk import Crosswalk

ACTIVE_SERVICE = ("현역병", "직업군인")


@dataclass(frozen=True, slots=True)
class Derivation:
    """Which route each derived column took (reported in ``dataset.notes``)."""

    occupation_source: str | None
    employment_source: str | None
    military_source: str | None
    birth_year_source: str | None


def derive(frame: pl.DataFrame, crosswalk: Crosswalk, reference_year: int = 2024) -> tuple[pl.DataFrame, Derivation]:
    """Add ``occ_major``, ``job_seeker``, ``employed``, ``in_labour_force``, ``active_duty``, ``birth_year``."""
    # Categorical/Enum columns become plain strings: the axes join and compare them with reference
    # tables whose labels are strings, and one cast here is cheaper than care at every join.
    frame = frame.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.Utf8))
    columns = set(frame.columns)
    occupation_source = employment_source = military_source = birth_year_source = None
    out = frame
    if "occupation" in columns:
        result = crosswalk.map(frame["occupation"])
        out = out.with_columns(
            pl.Series("occ_major", result.major, dtype=pl.Utf8),
            pl.Series("job_seeker", result.job_seeker, dtype=pl.Boolean),
        )
        occupation_source = "occupation (crosswalk)"
    elif "occupation_major" in columns:
        out = out.with_columns(
            pl.col("occupation_major").cast(pl.Utf8).fill_null("0").alias("occ_major"),
            pl.lit(False).alias("job_seeker"),
        )
        occupation_source = "occupation_major (as given)"

    if "employment_status" in columns:
        out = out.with_columns(
            (pl.col("employment_status") == "취업자").alias("employed"),
            pl.col("employment_status").is_in(["취업자", "실업자"]).alias("in_labour_force"),
        )
        employment_source = "employment_status"
    elif occupation_source is not None:
        mapped = pl.col("occ_major") != ""
        working = pl.col("occ_major").is_in(list("123456789A"))
        out = out.with_columns(
            pl.when(mapped).then(working & ~pl.col("job_seeker")).alias("employed"),
            pl.when(mapped).then(working | pl.col("job_seeker")).alias("in_labour_force"),
        )
        employment_source = "occupation (crosswalk; job seekers unemployed)"

    if "military_service" in columns:
        out = out.with_columns(pl.col("military_service").is_in(list(ACTIVE_SERVICE)).alias("active_duty"))
        military_source = "military_service"
    elif "military_status" in columns:
        out = out.with_columns((pl.col("military_status") == "현역").alias("active_duty"))
        military_source = "military_status"

    if "birth_year" in columns:
        birth_year_source = "birth_year"
    elif "age" in columns:
        out = out.with_columns((reference_year - pl.col("age")).alias("birth_year"))
        birth_year_source = f"{reference_year} − age"
    return out, Derivation(occupation_source, employment_source, military_source, birth_year_source)
