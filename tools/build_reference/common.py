"""Shared helpers for the reference-table builders: writing a tidy CSV and its manifest entry."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

KOGL = "Korea Open Government Licence type 1 (공공누리 제1유형, attribution)"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_table(df: pl.DataFrame, out: Path, entry: dict) -> dict:
    """Write ``df`` as ``out/<id>.csv`` (UTF-8, no index) and return the completed manifest entry.

    ``entry`` must carry: id, title, agency, table_id, year, universe, unit, licence, attribution,
    upstream_path (path inside the data drop, plus upstream repo@commit where known), notes.
    The sha256 recorded is that of the shipped file; ``upstream_sha256`` that of the source file.
    """
    required = {"id", "title", "agency", "table_id", "year", "universe", "unit", "licence",
                "attribution", "upstream_path", "notes"}
    missing = required - entry.keys()
    if missing:
        raise ValueError(f"manifest entry {entry.get('id')} lacks {sorted(missing)}")
    path = out / f"{entry['id']}.csv"
    df.write_csv(path)
    return {**entry, "file": path.name, "rows": df.height, "columns": df.columns, "sha256": sha256_of(path)}
