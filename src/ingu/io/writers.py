"""Atomic, streaming writers for record tables: Parquet, JSONL and CSV behind one interface.

A writer checks its path before any work is done, streams batches into a hidden temporary file in
the target's directory, and on success fsyncs it and moves it into place with one rename. On any
exception — ``KeyboardInterrupt`` included — the temporary file is removed: a file at ``path`` is
always complete. (A process killed with SIGKILL can leave a ``.<name>.*.tmp`` file behind, never a
partial ``path``.)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa

from ingu.io.schema import RECORD_SCHEMA, conform_table, storage_schema

#: Rows per Parquet row group at most; a batch larger than this is split. Matches the sampler's
#: block so a row group is one block of rows.
ROW_GROUP_SIZE = 65_536
#: Output formats by file suffix.
FORMATS: dict[str, str] = {".parquet": "parquet", ".jsonl": "jsonl", ".csv": "csv"}


class OutputError(Exception):
    """An output file cannot be written; the message names the path and the reason."""


def open_writer(
    path: str | os.PathLike[str], schema: pa.Schema = RECORD_SCHEMA, *, overwrite: bool = False
) -> RecordWriter:
    """Open an atomic writer; the format follows the suffix (``.parquet``, ``.jsonl``, ``.csv``).

    Parameters
    ----------
    path
        The file to create. Its directory must exist and be writable.
    schema
        Every batch is conformed to it (see :func:`ingu.io.schema.conform_table`).
    overwrite
        Replace an existing file; otherwise an existing ``path`` is an error.

    Returns
    -------
    RecordWriter
        Use as a context manager: ``path`` appears, complete, when the ``with`` block exits cleanly.

    Raises
    ------
    OutputError
        Unknown suffix, missing or unwritable directory, ``path`` is a directory, or it exists and
        ``overwrite`` is false — before anything is written.
    """
    path = Path(path)
    fmt = check_output(path, overwrite=overwrite)
    return RecordWriter(path, schema, fmt, overwrite=overwrite)


def check_output(path: str | os.PathLike[str], *, overwrite: bool = False) -> str:
    """Validate an output path before any work (suffix, directory, existing file); return its format.

    Raises :class:`OutputError` naming the path, exactly as :func:`open_writer` would.
    """
    path = Path(path)
    fmt = format_for(path)
    _check_target(path, overwrite=overwrite)
    return fmt


def write_records(
    path: str | os.PathLike[str],
    tables: Iterable[pa.Table] | pa.Table,
    schema: pa.Schema = RECORD_SCHEMA,
    *,
    overwrite: bool = False,
) -> int:
    """Write one table or a stream of tables atomically; returns the number of rows written."""
    if isinstance(tables, (pa.Table, pa.RecordBatch)):
        tables = [tables]
    with open_writer(path, schema, overwrite=overwrite) as writer:
        for table in tables:
            writer.write(table)
    return writer.rows_written


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` via a temporary file in the same directory, fsync and one rename.

    A lone surrogate (possible in dataset text) is replaced rather than failing the whole file.
    """
    path = Path(path)
    data = text.encode("utf-8", errors="replace")
    tmp = _TempFile.beside(path)
    try:
        with os.fdopen(tmp.fd, "wb", closefd=False) as handle:
            handle.write(data)
        tmp.sync_and_close()
        os.replace(tmp.path, path)
    except BaseException:
        tmp.discard()
        raise


def write_file_atomic(path: str | os.PathLike[str], write: Callable[[str], object]) -> None:
    """Call ``write(tmp)`` on a hidden file beside ``path`` (Parquet, CSV, GraphML writers that take a path),
    fsync it and rename it into place; on any exception the temporary file is removed."""
    path = Path(path)
    tmp = _TempFile.beside(path)
    try:
        os.close(tmp.fd)
        tmp.fd = -1
        write(str(tmp.path))
        with open(tmp.path, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp.path, path)
    except BaseException:
        tmp.discard()
        raise


def format_for(path: str | os.PathLike[str]) -> str:
    """The output format named by ``path``'s suffix, or an :class:`OutputError`."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(FORMATS)
        found = f"unknown suffix {path.suffix!r}" if path.suffix else "no suffix"
        raise OutputError(f"cannot write {str(path)!r}: {found} (expected one of {known})")
    return fmt


class RecordWriter:
    """Streams tables into a temporary file and moves it to ``path`` on :meth:`close`.

    Attributes
    ----------
    path : pathlib.Path
        The final file.
    format : str
        ``"parquet"``, ``"jsonl"`` or ``"csv"``.
    rows_written, batches_written : int
        Counts so far.
    """

    def __init__(self, path: Path, schema: pa.Schema, fmt: str, *, overwrite: bool = False) -> None:
        self.path = path
        self.schema = schema
        self.format = fmt
        self.overwrite = overwrite
        self.rows_written = 0
        self.batches_written = 0
        self._temp = _TempFile.beside(path)
        # Removes the temp file if this writer is dropped without close() or abort().
        self._cleanup = weakref.finalize(self, self._temp.discard)
        self._open = True
        try:
            self._sink = _SINKS[fmt](self._temp.path, schema)
        except BaseException:
            self.abort()
            raise

    def write(self, table: pa.Table | pa.RecordBatch) -> None:
        """Append a batch (one or more Parquet row groups). Columns are matched by name."""
        if not self._open:
            raise OutputError(f"writer for {str(self.path)!r} is closed")
        table = conform_table(table, self.schema)
        if table.num_rows:
            try:
                self._sink.write(table)
            except OSError as exc:  # e.g. a full disk: name the file the user asked for
                raise OutputError(f"cannot write {str(self.path)!r}: {exc}") from exc
        self.rows_written += table.num_rows
        self.batches_written += 1

    def close(self) -> None:
        """Finish the file, fsync it and move it into place. Idempotent."""
        if not self._open:
            return
        try:
            self._sink.close()
            self._temp.sync_and_close()
            _place(self._temp.path, self.path, overwrite=self.overwrite)
        except BaseException as exc:
            self.abort()
            if isinstance(exc, OSError):
                raise OutputError(f"cannot write {str(self.path)!r}: {exc}") from exc
            raise
        self._open = False
        self._cleanup.detach()
        _fsync_directory(self.path.parent)

    def abort(self) -> None:
        """Discard everything written; ``path`` is left as it was. Idempotent."""
        if not self._open:
            return
        self._open = False
        with contextlib.suppress(Exception):
            self._sink.abort()
        self._cleanup()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __repr__(self) -> str:
        state = "open" if self._open else "closed"
        return f"<RecordWriter {self.format} {str(self.path)!r} {state}, {self.rows_written} rows>"


# -- path handling ---------------------------------------------------------------------------------


def _check_target(path: Path, *, overwrite: bool) -> None:
    parent = path.parent
    where = str(path)
    if path.is_dir():
        raise OutputError(f"cannot write {where!r}: it is a directory")
    if not parent.exists():
        raise OutputError(f"cannot write {where!r}: directory {str(parent)!r} does not exist")
    if not parent.is_dir():
        raise OutputError(f"cannot write {where!r}: {str(parent)!r} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {where!r}: directory {str(parent)!r} is not writable")
    if path.exists() and not overwrite:
        raise OutputError(f"{where!r} already exists; pass overwrite=True to replace it")


class _TempFile:
    """An exclusively created, hidden file beside the target; its descriptor is kept for fsync."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    @classmethod
    def beside(cls, target: Path) -> _TempFile:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        while True:
            tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
            try:
                return cls(tmp, os.open(tmp, flags, 0o666))  # mode 0o666 & ~umask, like open()
            except FileExistsError:
                continue
            except OSError as exc:
                raise OutputError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from exc

    def sync_and_close(self) -> None:
        os.fsync(self.fd)
        fd, self.fd = self.fd, -1
        os.close(fd)

    def discard(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def _place(tmp: Path, path: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, path)
        return
    # A hard link fails if ``path`` appeared meanwhile, where a rename would silently replace it.
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise OutputError(
            f"{str(path)!r} appeared while writing; not replacing it (pass overwrite=True)"
        ) from None
    except OSError:  # a filesystem without hard links
        if path.exists():
            raise OutputError(f"{str(path)!r} appeared while writing; not replacing it") from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; best effort (not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- formats ---------------------------------------------------------------------------------------


class _ArrowSink:
    """A pyarrow writer over an open file: closing and aborting are the same for Parquet and CSV."""

    _writer: Any
    _file: Any

    def close(self) -> None:
        self._writer.close()
        self._file.close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._writer.close()
        self._file.close()


class _ParquetSink(_ArrowSink):
    """Zstd Parquet, one row group per batch (split at ROW_GROUP_SIZE).

    Dictionary columns go to disk as Parquet dictionary pages straight from their codes; the Arrow
    schema is not stored, so readers see NPK's plain ``string`` columns.
    """

    def __init__(self, tmp: Path, schema: pa.Schema) -> None:
        import pyarrow.parquet as pq

        self._schema = pa.schema([f.with_nullable(True) for f in schema])
        self._file = pa.OSFile(str(tmp), "wb")
        self._writer = pq.ParquetWriter(
            self._file, self._schema, compression="zstd", store_schema=False
        )

    def write(self, table: pa.Table) -> None:
        table = pa.Table.from_arrays(table.columns, schema=self._schema)
        self._writer.write_table(table, row_group_size=ROW_GROUP_SIZE)


class _CsvSink(_ArrowSink):
    """UTF-8 CSV without BOM, header once; nulls are empty fields, empty strings are ``""``."""

    def __init__(self, tmp: Path, schema: pa.Schema) -> None:
        import pyarrow.csv as csv

        self._file = pa.OSFile(str(tmp), "wb")
        self._writer = csv.CSVWriter(self._file, schema)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)


class _JsonlSink:
    """One JSON object per line, keys in schema order, UTF-8 (not ASCII-escaped), nulls as ``null``.

    Serialised by polars in native code, batch by batch; dictionary columns are decoded first.
    """

    def __init__(self, tmp: Path, schema: pa.Schema) -> None:
        self._decoded = storage_schema(schema)
        self._file: BinaryIO = open(tmp, "wb", buffering=1 << 20)  # noqa: SIM115

    def write(self, table: pa.Table) -> None:
        import polars as pl

        table = table.cast(self._decoded)
        pl.from_arrow(table, rechunk=False).write_ndjson(self._file)

    def close(self) -> None:
        self._file.close()

    def abort(self) -> None:
        self._file.close()


_SINKS = {"parquet": _ParquetSink, "csv": _CsvSink, "jsonl": _JsonlSink}
