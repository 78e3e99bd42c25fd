"""Typed views of the vocabulary tables (``vocab_*``): codes are 0-based and contiguous, in model order."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from ingu.reference.tables import load_table

VOCAB_PREFIX = "vocab_"


@dataclass(frozen=True, slots=True)
class Province:
    """One 시도. ``code`` indexes model arrays; ``sido_code`` is KOSTAT's 2-digit code."""

    code: int
    sido_code: str
    name: str
    npk_label: str
    name_en: str


@dataclass(frozen=True, slots=True)
class District:
    """One of NPK's 252 districts (시군구, or 일반구 where a city has them)."""

    code: int
    adm_code10: str
    sgg_code5: str
    province_code: int
    name: str
    npk_label: str
    name_en: str


def _table_id(name: str) -> str:
    return name if name.startswith(VOCAB_PREFIX) else VOCAB_PREFIX + name


def _ordered(df: pl.DataFrame, table_id: str) -> pl.DataFrame:
    """Sort by ``code`` and insist codes are exactly 0..n-1: model arrays are indexed by them."""
    if "code" not in df.columns or not df.schema["code"].is_integer():
        raise ValueError(f"{table_id} has no integer 'code' column; it is not an indexed vocabulary")
    df = df.sort("code")
    if df["code"].to_list() != list(range(df.height)):
        raise ValueError(f"{table_id}: codes are not contiguous 0..{df.height - 1}")
    return df


def provinces() -> tuple[Province, ...]:
    """The 17 시도 in code order (KOSTAT order: 서울, 부산, … 제주)."""
    df = _ordered(load_table("vocab_province"), "vocab_province")
    return tuple(Province(**row) for row in df.select(*Province.__slots__).iter_rows(named=True))


def districts() -> tuple[District, ...]:
    """The 252 districts in code order (sorted by 10-digit administrative code)."""
    df = _ordered(load_table("vocab_district"), "vocab_district")
    return tuple(District(**row) for row in df.select(*District.__slots__).iter_rows(named=True))


def vocabulary(name: str) -> list[str]:
    """Labels of a vocabulary in code order, e.g. ``vocabulary("marital")`` → ``["미혼", "배우자있음", …]``.

    Parameters
    ----------
    name : str
        The vocabulary, with or without the ``vocab_`` prefix (``"education"``, ``"vocab_district"``).

    Returns
    -------
    list of str
        ``label`` ordered by ``code``; tables without a ``label`` column (province, district) give their
        NPK label, the rendering NPK-compatible output uses.
    """
    table_id = _table_id(name)
    df = _ordered(load_table(table_id), table_id)
    for column in ("label", "npk_label"):
        if column in df.columns:
            return df[column].to_list()
    raise ValueError(f"{table_id} has neither a 'label' nor an 'npk_label' column")


def neighbourhoods(district_code: int) -> list[str]:
    """읍면동 names of one district (by ``vocab_district`` code), in administrative-code order."""
    return list(neighbourhoods_by_district().get(district_code, ()))


@lru_cache(maxsize=1)
def neighbourhoods_by_district() -> dict[int, tuple[str, ...]]:
    """Every district's 읍면동 names (``vocab_district`` code → names in administrative-code order)."""
    df = load_table("vocab_neighbourhood").sort("adm_code10")
    out: dict[int, list[str]] = {}
    for code, name in zip(df["district_code"].to_list(), df["name"].to_list()):
        out.setdefault(code, []).append(name)
    return {code: tuple(names) for code, names in out.items()}
