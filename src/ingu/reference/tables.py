"""Loading reference tables: the user cache first, then the shipped files (checked against the manifest).

A table ``<id>`` lives either in the user cache (``cache_dir()/<id>.csv`` plus ``<id>.json``, its manifest
entry, both written by ``ingu reference fetch``) or in the package's ``data/`` folder, listed in
``manifest.json``. The cache wins when both files are present, which is how a refreshed table replaces
the shipped one without touching the installation.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from ingu.reference import manifest as _manifest
from ingu.reference.manifest import TableEntry

CACHE_ENV = "INGU_CACHE_DIR"
DEFAULT_CACHE = Path("~/.cache/ingu/reference")

Origin = Literal["shipped", "cache"]

# Codes that look numeric but are identifiers: leading zeros matter (KSCO "01"), and 10-digit
# administrative codes must not become floats or lose their identity as labels.
_STRING_COLUMN = re.compile(r"^(adm|sgg|sido|ksco|ksic|kostat|sgis)(_|$)|_code\d+$|^(parent|major)_code$")


class UnknownTableError(KeyError):
    """Raised for a table id that is neither shipped nor in the user cache."""

    def __init__(self, table_id: str, known: list[str]) -> None:
        self.table_id = table_id
        self.known = known
        super().__init__(table_id)

    def __str__(self) -> str:  # KeyError would print the repr of its argument only
        return f"unknown reference table {self.table_id!r}; known tables: {', '.join(self.known) or '(none)'}"


class ReferenceIntegrityError(RuntimeError):
    """A shipped table's bytes differ from the sha256 its manifest entry records."""


@dataclass(frozen=True)
class _Source:
    entry: TableEntry
    path: Path
    origin: Origin


def cache_dir() -> Path:
    """Folder of user-refreshed tables: ``$INGU_CACHE_DIR`` or ``~/.cache/ingu/reference``."""
    value = os.environ.get(CACHE_ENV)
    return Path(value).expanduser() if value else DEFAULT_CACHE.expanduser()


def _cached(table_id: str) -> _Source | None:
    folder = cache_dir()
    csv, meta = folder / f"{table_id}.csv", folder / f"{table_id}.json"
    if not (csv.is_file() and meta.is_file()):
        return None
    entry = TableEntry.model_validate_json(meta.read_text("utf-8"))
    if entry.id != table_id:
        raise ValueError(f"{meta} describes table {entry.id!r}, not {table_id!r}")
    return _Source(entry, csv, "cache")


def _cache_ids() -> set[str]:
    folder = cache_dir()
    if not folder.is_dir():
        return set()
    return {p.stem for p in folder.glob("*.csv") if p.with_suffix(".json").is_file()}


def known_tables() -> list[str]:
    """Ids of every loadable table (shipped or cached), sorted."""
    return sorted({e.id for e in _manifest.load_manifest()} | _cache_ids())


def _resolve(table_id: str) -> _Source:
    cached = _cached(table_id)
    if cached is not None:
        return cached
    for entry in _manifest.load_manifest():
        if entry.id == table_id:
            return _Source(entry, _manifest.data_dir() / entry.file, "shipped")
    raise UnknownTableError(table_id, known_tables())


def table_entry(table_id: str) -> TableEntry:
    """Manifest entry of ``table_id`` (the cached entry when the user cache holds the table).

    Raises
    ------
    UnknownTableError
        If no such table is shipped or cached.
    """
    return _resolve(table_id).entry


def table_source(table_id: str) -> Origin:
    """Where ``load_table(table_id)`` reads from: ``"cache"`` or ``"shipped"``."""
    return _resolve(table_id).origin


def load_table(table_id: str) -> pl.DataFrame:
    """Load a reference table as a polars DataFrame.

    Parameters
    ----------
    table_id : str
        A manifest id, e.g. ``"pop_mois_2024_district_sex_age5"``.

    Returns
    -------
    polars.DataFrame
        The tidy table; identifier-like code columns (``adm_code10``, ``sido_code``, ``ksco_*`` …) are
        strings. Frames are cached per file version; treat them as read-only.

    Raises
    ------
    UnknownTableError
        If the id is neither shipped nor cached.
    ReferenceIntegrityError
        If a shipped file does not match its manifest sha256.
    """
    source = _resolve(table_id)
    if not source.path.is_file():
        raise FileNotFoundError(f"table {table_id!r}: {source.path} is listed in the manifest but missing")
    stat = source.path.stat()
    key = (str(source.path), stat.st_mtime_ns, stat.st_size)
    if source.origin == "shipped":
        _verify(*key, expected=source.entry.sha256)
    return _read_csv(*key, declared=_declared_strings(source.entry))


def _declared_strings(entry: TableEntry) -> tuple[str, ...]:
    """Columns an entry asks to keep as text (``string_columns``), beyond the name-based rule."""
    declared = set(entry.extra("string_columns", []) or [])
    # KSCO/KSIC classification tables key on the code itself ("01", "A"), not on a 0-based index.
    if re.search(r"ksco|ksic", entry.id):
        declared.add("code")
    return tuple(sorted(declared))


@functools.lru_cache(maxsize=256)
def _verify(path: str, mtime_ns: int, size: int, *, expected: str) -> None:
    # Cached on success only (lru_cache does not store exceptions): each file version is hashed once.
    actual = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if actual != expected:
        raise ReferenceIntegrityError(
            f"{path} does not match its manifest entry (sha256 {actual[:12]}…, expected {expected[:12]}…); "
            "the installed reference data was modified or corrupted — reinstall ingu or rebuild the tables"
        )


@functools.lru_cache(maxsize=128)
def _read_csv(path: str, mtime_ns: int, size: int, *, declared: tuple[str, ...]) -> pl.DataFrame:
    header = pl.read_csv(path, n_rows=0).columns
    strings = {c: pl.Utf8 for c in header if c in declared or _STRING_COLUMN.search(c)}
    return pl.read_csv(path, schema_overrides=strings, infer_schema_length=None)


def clear_caches() -> None:
    """Forget parsed manifests, verified checksums and loaded frames (e.g. after a cache refresh)."""
    _read_csv.cache_clear()
    _verify.cache_clear()
    _manifest._parse_manifest.cache_clear()


def list_tables() -> pl.DataFrame:
    """One row per loadable table: id, title, agency, year, rows, source (``shipped`` | ``cache``)."""
    rows = []
    for table_id in known_tables():
        source = _resolve(table_id)
        e = source.entry
        rows.append({"id": e.id, "title": e.title, "agency": e.agency, "year": str(e.year),
                     "rows": e.rows, "source": source.origin})
    schema = {"id": pl.Utf8, "title": pl.Utf8, "agency": pl.Utf8, "year": pl.Utf8, "rows": pl.Int64,
              "source": pl.Utf8}
    return pl.DataFrame(rows, schema=schema)


def describe_table(table_id: str) -> str:
    """A human-readable account of one table: what it is, where it comes from, how it was transformed."""
    source = _resolve(table_id)
    e = source.entry
    fields = [
        ("title", e.title), ("agency", e.agency), ("table", e.table_id), ("year", str(e.year)),
        ("universe", e.universe), ("unit", e.unit), ("rows", f"{e.rows:,}"), ("columns", ", ".join(e.columns)),
        ("licence", e.licence), ("attribution", e.attribution), ("upstream", e.upstream_path),
        ("sha256", e.sha256), ("source", f"{source.origin} ({source.path})"), ("notes", e.notes),
    ]
    width = max(len(k) for k, _ in fields)
    return "\n".join([e.id, *(f"  {k.ljust(width)}  {v}" for k, v in fields)])
