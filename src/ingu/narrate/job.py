"""Narrate a record file with checkpoints: row groups written as they finish, resumable, atomic output.

Layout while running (``OUT`` is the requested output file)::

    OUT.parts/manifest.json        input fingerprint, settings, finished groups with their counts
    OUT.parts/part-00000.parquet   finished row groups (each written to a temporary name, then renamed)

A rerun with the same input and settings skips finished groups (their texts are re-registered for duplicate
detection); other settings are refused unless ``restart``. When every group is done, ``OUT`` is written
atomically, the manifest is copied to ``OUT.manifest.json`` and the parts folder is removed.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ingu.io.readers import dataset_columns, read_columns
from ingu.io.writers import check_output, open_writer, write_records, write_text_atomic
from ingu.narrate.base import NarratorError
from ingu.narrate.run import MANIFEST_FORMAT, NarrationRun, RunCounts, narrated_schema

FINAL_MANIFEST_SUFFIX = ".manifest.json"


def parts_dir(output: Path) -> Path:
    """Where the checkpoints of a run writing ``output`` live."""
    return output.with_name(output.name + ".parts")


def manifest_path(output: Path) -> Path:
    """The finished run's manifest, beside ``output``."""
    return output.with_name(output.name + FINAL_MANIFEST_SUFFIX)


def narrate_file(source: Path, output: Path, run: NarrationRun, *, row_group_size: int = 2048,
                 overwrite: bool = False, restart: bool = False, extra: dict[str, Any] | None = None,
                 on_group: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Narrate every row of ``source`` into ``output``; returns the final manifest.

    Parameters
    ----------
    source : Path
        A record file (ingu or NPK-shaped; Parquet file or folder, JSONL, CSV).
    output : Path
        ``.parquet``, ``.jsonl`` or ``.csv``; appears only when complete.
    run : NarrationRun
        Backend, retries, fields and validator.
    row_group_size : int
        Rows per checkpoint.
    restart : bool
        Discard checkpoints of a different earlier run instead of refusing to touch them.
    extra : dict, optional
        More entries for the manifest (the command line, the record generator's seed …).
    on_group : callable, optional
        ``on_group(rows_done, rows_total)`` before the first group and after each one (finished groups of
        an earlier run included), for progress bars.
    """
    source, output = Path(source), Path(output)
    check_output(output, overwrite=overwrite)
    if row_group_size <= 0:
        raise NarratorError(f"row_group_size must be positive, got {row_group_size}")
    table = read_columns(source, dataset_columns(source))
    schema = narrated_schema(table.schema)
    folder = parts_dir(output)
    settings = {"narrator": run.narrator.describe(), "fallback": run.fallback.describe(),
                "max_retries": run.max_retries, "fields": list(run.fields), "row_group_size": row_group_size}
    fingerprint = _fingerprint(source, table)
    manifest = _open_manifest(folder, fingerprint, settings, restart=restart)
    manifest.setdefault("started", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    if extra:
        manifest["extra"] = extra
    groups = max(1, -(-table.num_rows // row_group_size))
    manifest["row_groups"] = groups
    manifest["rows"] = table.num_rows
    _write_json(folder / "manifest.json", manifest)
    if on_group:
        on_group(0, table.num_rows)
    run.expect_rows(table.num_rows - sum(entry["rows"] for entry in manifest["done"].values()))
    for index in range(groups):
        part = folder / f"part-{index:05d}.parquet"
        if str(index) in manifest["done"] and part.is_file():
            _remember(run, part)
            if on_group:
                on_group(min((index + 1) * row_group_size, table.num_rows), table.num_rows)
            continue
        chunk = table.slice(index * row_group_size, row_group_size)
        narrated = run.narrate_table(chunk, source=f"{source} (rows {index * row_group_size}–"
                                                   f"{index * row_group_size + chunk.num_rows - 1})")
        write_records(part, narrated, schema, overwrite=True)
        manifest["done"][str(index)] = {"rows": chunk.num_rows, "counts": run.last_counts.as_dict()}
        _write_json(folder / "manifest.json", manifest)
        if on_group:
            on_group(min((index + 1) * row_group_size, table.num_rows), table.num_rows)
    total = RunCounts()
    for entry in manifest["done"].values():
        total.add(RunCounts.from_dict(entry["counts"]))
    with open_writer(output, schema, overwrite=overwrite) as writer:
        for index in range(groups):
            writer.write(pq.read_table(folder / f"part-{index:05d}.parquet"))
    manifest["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    manifest["counts"] = total.as_dict()
    stats = getattr(run.narrator, "stats", None)
    if stats:
        manifest["backend_stats"] = dict(stats)
    manifest["output"] = str(output)
    _write_json(manifest_path(output), manifest)
    shutil.rmtree(folder, ignore_errors=True)
    return manifest


def _fingerprint(source: Path, table: pa.Table) -> dict[str, Any]:
    stat = source.stat()
    return {"path": str(source.resolve()), "bytes": stat.st_size if source.is_file() else None,
            "mtime_ns": stat.st_mtime_ns, "rows": table.num_rows, "columns": table.column_names}


def _open_manifest(folder: Path, fingerprint: dict[str, Any], settings: dict[str, Any], *,
                   restart: bool) -> dict[str, Any]:
    path = folder / "manifest.json"
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            old = None
        same = old is not None and old.get("input") == fingerprint and old.get("settings") == settings
        if same:
            return old
        if not restart:
            what = "cannot be read" if old is None else (
                "was made from another input" if old.get("input") != fingerprint else "used other settings")
            raise NarratorError(f"{folder} holds checkpoints of an earlier run that {what}; "
                                "rerun with the same input and options to resume, or pass --restart to discard them")
        path.unlink()
        for part in folder.glob("part-*.parquet"):  # the folder may also hold the generator's records
            part.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    return {"format": MANIFEST_FORMAT, "input": fingerprint, "settings": settings, "done": {}}


def _remember(run: NarrationRun, part: Path) -> None:
    """Re-register a finished group's texts so duplicates across a resume are still caught."""
    table = pq.read_table(part, columns=list(run.fields))
    for field in run.fields:
        for text in table.column(field).to_pylist():
            run.validator.remember(field, text or "")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=1))
