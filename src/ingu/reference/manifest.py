"""The data manifest: one entry per shipped reference table (provenance, licence, checksum)."""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict

MANIFEST_FILE = "manifest.json"


class TableEntry(BaseModel):
    """Provenance of one reference table, as written by ``tools/build_reference`` (or a cache refresh).

    Builders may add fields (``upstream_sha256``, ``national_total``, ``string_columns`` …); they are
    kept and reachable as attributes or through ``model_extra``.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str
    title: str
    agency: str
    table_id: str
    year: int | str  # a single year, or a span such as "2016–2025"
    universe: str
    unit: str
    licence: str
    attribution: str
    upstream_path: str
    notes: str
    file: str
    rows: int
    columns: list[str]
    sha256: str
    upstream_sha256: str | dict[str, str] | None = None
    builder: str | None = None

    def extra(self, key: str, default: object = None) -> object:
        """A builder-specific field, or ``default`` when the entry does not carry it."""
        return (self.model_extra or {}).get(key, default)


def data_dir() -> Path:
    """Folder of the shipped tables and ``manifest.json`` inside the installed package.

    Tests point this elsewhere (``monkeypatch.setattr``) to work on a copy, so every reader goes
    through this function rather than caching the path.
    """
    return Path(str(resources.files("ingu.reference").joinpath("data")))


def load_manifest() -> list[TableEntry]:
    """Entries of all shipped tables, sorted by id.

    Returns
    -------
    list of TableEntry
        A fresh list (entries themselves are frozen); parsed once per manifest file version.
    """
    path = data_dir() / MANIFEST_FILE
    if not path.is_file():
        raise FileNotFoundError(f"reference manifest not found at {path}; the package data is incomplete")
    stat = path.stat()
    return list(_parse_manifest(str(path), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _parse_manifest(path: str, mtime_ns: int, size: int) -> tuple[TableEntry, ...]:
    # mtime and size are part of the key so that a rebuilt manifest is re-read in a long session.
    raw = json.loads(Path(path).read_text("utf-8"))
    return tuple(sorted((TableEntry.model_validate(e) for e in raw), key=lambda e: e.id))
