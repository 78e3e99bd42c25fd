"""Projected, streaming readers for persona datasets: Parquet (file or directory), JSONL, CSV.

The audit needs a handful of structured columns from files whose bulk is narrative text (NPK: 1M
rows, ~6 GB of text in 13 columns), so every reader takes the columns it should return and never
holds the others:

- Parquet reads only the requested column chunks (a directory: shard by shard, sorted by path);
- JSONL is parsed by ``pyarrow.json`` in blocks with an explicit schema for the requested keys and
  ``unexpected_field_behavior="ignore"``, so the other keys are tokenised and dropped, never built;
- CSV is parsed by ``pyarrow.csv`` with ``include_columns``.

Types are made stable across blocks and formats: ``age`` / ``birth_year`` come back ``int64``
(integer strings and integral floats are accepted), every other known column (see
:data:`KNOWN_TYPES`) ``string`` or ``large_string``; unknown columns keep their file type (CSV:
``string``). Every failure is a :class:`DatasetReadError` naming the file and, where there is one,
the column, the row and the value.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingu.io.schema import EXTENSION_COLUMNS, NPK_COLUMNS

#: Rows per batch handed out by :func:`iter_batches` (at most).
BATCH_SIZE = 65_536
#: Bytes per parse block for JSONL/CSV. pyarrow's streaming readers queue up to 32 blocks of raw
#: input ahead of the parser, so this bounds memory at about 32 × BLOCK_SIZE (64 MB) plus the
#: projected columns; 2 MB parses as fast as larger blocks. A JSONL line longer than this cannot
#: be parsed (NPK's rows are ~6 KB).
BLOCK_SIZE = 2 << 20
#: JSONL lines read to learn the keys and the JSON type of each key.
SAMPLE_LINES = 100

_INTEGER_COLUMNS = frozenset({"age", "birth_year"})
#: Target types of the columns this project knows (NPK's 26 and ingu's extensions): ``int64`` for
#: ``age`` and ``birth_year``, ``string`` for the rest. Other columns keep the type the file gives.
KNOWN_TYPES: dict[str, pa.DataType] = {
    name: (pa.int64() if name in _INTEGER_COLUMNS else pa.string())
    for name in NPK_COLUMNS + EXTENSION_COLUMNS
}

_PARQUET_SUFFIXES = (".parquet", ".pq")
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
_CSV_SUFFIXES = (".csv", ".csv.gz")
#: Suffixes :func:`read_columns` accepts, in the order error messages list them.
SUFFIXES: tuple[str, ...] = _PARQUET_SUFFIXES + _JSONL_SUFFIXES + _CSV_SUFFIXES
_INTEGER_TEXT = r"^\s*[+-]?[0-9]+\s*$"


class DatasetReadError(Exception):
    """A dataset cannot be read. ``str()`` names the file, the place and the reason.

    Attributes
    ----------
    path : str
        The file (for a directory of shards: the shard) at fault.
    reason : str
        What is wrong, without the location.
    row : int or None
        0-based data row in file order (a directory: counted across its sorted shards), if known.
    line : int or None
        1-based line number in the file, JSONL only (blank lines count as lines, not as rows).
    column : str or None
        The column at fault, if any.
    value : object
        The offending value, if any.
    """

    def __init__(
        self,
        reason: str,
        *,
        path: str | os.PathLike[str],
        row: int | None = None,
        line: int | None = None,
        column: str | None = None,
        value: Any = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = str(path)
        self.row = row
        self.line = line
        self.column = column
        self.value = value

    def location(self) -> str:
        """``'file', line 7 (row 6), column 'age'`` — as much as is known."""
        where = repr(self.path)
        if self.line is not None:
            where += f", line {self.line}" + (f" (row {self.row})" if self.row is not None else "")
        elif self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column!r}"
        return where

    def __str__(self) -> str:
        return f"{self.location()}: {self.reason}"


# -- public API ------------------------------------------------------------------------------------


def dataset_format(path: str | os.PathLike[str]) -> str:
    """``"parquet"``, ``"jsonl"`` or ``"csv"`` for ``path`` (a directory is Parquet shards).

    Raises :class:`DatasetReadError` if ``path`` does not exist or has an unknown suffix.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetReadError("no such file or directory", path=path)
    if path.is_dir():
        return "parquet"
    name = path.name.lower()
    for fmt, suffixes in (
        ("parquet", _PARQUET_SUFFIXES),
        ("jsonl", _JSONL_SUFFIXES),
        ("csv", _CSV_SUFFIXES),
    ):
        if name.endswith(suffixes):
            return fmt
    found = f"unknown suffix {''.join(path.suffixes)!r}" if path.suffix else "no suffix"
    raise DatasetReadError(
        f"cannot read a file with {found} (expected a directory of .parquet shards or one of "
        f"{', '.join(SUFFIXES)})",
        path=path,
    )


def dataset_columns(path: str | os.PathLike[str]) -> list[str]:
    """Column names of a dataset, without reading its data.

    Parquet: the schema in the footer (a directory: the first shard's). JSONL: the keys of the first
    :data:`SAMPLE_LINES` non-blank lines, in first-seen order. CSV: the header.
    """
    path = Path(path)
    fmt = dataset_format(path)
    if fmt == "parquet":
        return list(_open_parquet(_parquet_files(path)[0]).schema_arrow.names)
    if fmt == "jsonl":
        return list(_jsonl_sample(path))
    return _csv_header(path)


def read_columns(path: str | os.PathLike[str], columns: Sequence[str]) -> pa.Table:
    """Read only ``columns`` of a dataset, in that order, with types conformed (see module docs).

    Parameters
    ----------
    path
        A ``.parquet`` file or a directory of them (searched recursively, read in sorted path
        order), a ``.jsonl`` / ``.ndjson`` (optionally ``.gz``) or a ``.csv`` (optionally ``.gz``)
        file.
    columns
        Columns to return; at least one. Others are never materialised.

    Returns
    -------
    pyarrow.Table
        Rows in file order.

    Raises
    ------
    DatasetReadError
        Missing file, unknown suffix, a requested column that is absent, a corrupt or truncated
        file, invalid JSON, or a value of the wrong type — naming the file, column, row and value.
    """
    path = Path(path)
    columns = _requested(columns)
    fmt = dataset_format(path)
    if fmt == "parquet":
        tables = [
            _read_parquet_file(f, columns, offset) for f, offset in _parquet_plan(path, columns)
        ]
        schema = _unify_schemas(path, [t.schema for t in tables])
        return pa.concat_tables([t.cast(schema) for t in tables])
    if fmt == "csv":
        return _read_csv(path, columns)
    batches = [batch for _, batch in _iter_jsonl(path, columns, BATCH_SIZE)]
    if not batches:
        return pa.schema(
            [pa.field(c, KNOWN_TYPES.get(c, pa.string())) for c in columns]
        ).empty_table()
    schema = _unify_schemas(path, [b.schema for b in batches])
    return pa.Table.from_batches([b.cast(schema) for b in batches], schema=schema)


def iter_batches(
    path: str | os.PathLike[str], columns: Sequence[str], batch_size: int = BATCH_SIZE
) -> Iterator[tuple[int, pa.RecordBatch]]:
    """Stream ``columns`` as ``(row_offset, batch)`` pairs with bounded memory.

    ``row_offset`` is the 0-based data row of the batch's first row in file order; batches hold at
    most ``batch_size`` rows (JSONL/CSV batches may be smaller: they follow the parse blocks). Types
    and errors are those of :func:`read_columns`; an error is raised when the stream reaches it.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    path = Path(path)
    columns = _requested(columns)
    fmt = dataset_format(path)
    if fmt == "parquet":
        yield from _iter_parquet(path, columns, batch_size)
    elif fmt == "jsonl":
        yield from _iter_jsonl(path, columns, batch_size)
    else:
        yield from _iter_csv(path, columns, batch_size)


def coerce_int64(
    values: pa.Array | pa.ChunkedArray,
) -> tuple[pa.ChunkedArray, pa.ChunkedArray | None]:
    """Integers from integer, integral-float or integer-text values, and which values were bad.

    Returns ``(int64 column, bad)`` where ``bad`` is a boolean column (no nulls) marking text that
    is not a base-10 integer, fractional or non-finite floats and numbers beyond int64 — those are
    null in the result — or ``None`` when no value can be bad (integer input). Blank strings become
    nulls and are not bad. Other types raise :class:`TypeError`.
    """
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values], values.type)
    type_ = values.type
    if pa.types.is_dictionary(type_):
        values = values.cast(type_.value_type)
        type_ = values.type
    if (pa.types.is_integer(type_) and not pa.types.is_uint64(type_)) or pa.types.is_null(type_):
        return values.cast(pa.int64()), None
    if pa.types.is_uint64(type_):
        bad = pc.greater(values, pa.scalar(2**63 - 1, type_))
    elif pa.types.is_floating(type_):
        integral = pc.and_(pc.is_finite(values), pc.equal(pc.floor(values), values))
        bad = pc.invert(pc.and_(integral, pc.less(pc.abs(values), 2.0**63)))
    elif _is_text(type_):
        values = pc.utf8_trim_whitespace(values.cast(pa.large_string()))
        values = pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)
        values = pc.replace_substring_regex(values, r"^\+", "")  # Arrow's cast rejects a plus sign
        good = pc.match_substring_regex(values, _INTEGER_TEXT)
        # 19 characters may already overflow int64: those are checked one by one.
        bad = pc.invert(pc.and_(good, pc.less_equal(pc.utf8_length(values), 18)))
        if pc.any(pc.and_(good, pc.greater(pc.utf8_length(values), 18))).as_py():
            bad = _long_integers_bad(values, bad)
    else:
        raise TypeError(f"{type_} values cannot be read as integers")
    bad = pc.fill_null(bad, False)
    if pc.any(bad).as_py():
        values = pc.if_else(bad, pa.scalar(None, values.type), values)
    return values.cast(pa.int64()), bad


def _long_integers_bad(values: pa.ChunkedArray, bad: pa.ChunkedArray) -> pa.ChunkedArray:
    """Recheck long digit strings in Python (rare: only values of 19+ characters)."""
    flags = bad.to_pylist()
    for i, v in enumerate(values.to_pylist()):
        if v is not None and len(v) > 18:
            try:
                flags[i] = not -(2**63) <= int(v) < 2**63
            except ValueError:
                flags[i] = True
    return pa.chunked_array([pa.array(flags, pa.bool_())])


# -- column handling -------------------------------------------------------------------------------


def _is_text(type_: pa.DataType) -> bool:
    return (
        pa.types.is_string(type_)
        or pa.types.is_large_string(type_)
        or pa.types.is_string_view(type_)
    )


def _requested(columns: Sequence[str]) -> list[str]:
    if isinstance(columns, str):
        raise TypeError("columns must be a sequence of column names, not a string")
    out = list(dict.fromkeys(columns))
    if not out:
        raise ValueError("no columns requested")
    return out


def _check_present(path: Path, columns: Sequence[str], available: Sequence[str]) -> None:
    absent = [c for c in columns if c not in available]
    if absent:
        there = ", ".join(available) if available else "none"
        noun = (
            "no such column" if len(absent) == 1 else f"no columns {', '.join(map(repr, absent))}"
        )
        raise DatasetReadError(f"{noun} (the file's columns: {there})", path=path, column=absent[0])


def _conform(table: pa.Table | pa.RecordBatch, path: Path, offset: int) -> pa.Table:
    """Known columns to :data:`KNOWN_TYPES`, dictionaries decoded; a bad value raises.

    ``offset`` is the data row of ``table``'s first row, so errors give rows in file order.
    """
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    columns = [
        _conform_column(c, n, path, offset)
        for n, c in zip(table.column_names, table.columns, strict=True)
    ]
    return pa.Table.from_arrays(columns, names=table.column_names)


def _conform_column(column: pa.ChunkedArray, name: str, path: Path, offset: int) -> pa.ChunkedArray:
    type_ = column.type
    if pa.types.is_dictionary(type_):
        column = column.cast(type_.value_type)
        type_ = column.type
    if pa.types.is_string_view(type_):
        column = column.cast(pa.large_string())
        type_ = column.type
    target = KNOWN_TYPES.get(name)
    if target is None:
        return column
    if target == pa.int64():
        if type_ == pa.int64():
            return column
        try:
            out, bad = coerce_int64(column)
        except TypeError:
            first = _first_non_null(column)
            raise _type_error(path, name, column, offset, first, "integers") from None
        n_bad = 0 if bad is None else pc.sum(bad).as_py()
        if n_bad:
            first = pc.index(bad, True).as_py()
            value = column[first].as_py()
            plural = "s" if n_bad > 1 else ""
            raise DatasetReadError(
                f"{value!r} is not an integer ({n_bad} bad value{plural} in this block of "
                f"{len(column):,} rows)",
                path=path,
                row=offset + first,
                column=name,
                value=value,
            )
        return out
    if _is_text(type_):
        return column
    # A text column holding integers (a code written as a number) is read as their text.
    if pa.types.is_integer(type_) or pa.types.is_null(type_):
        return column.cast(pa.string())
    raise _type_error(path, name, column, offset, _first_non_null(column), "text")


def _type_error(
    path: Path, name: str, column: pa.ChunkedArray, offset: int, first: int | None, expected: str
) -> DatasetReadError:
    value = None if first is None else column[first].as_py()
    return DatasetReadError(
        f"holds {column.type} values (first: {value!r}), expected {expected}",
        path=path,
        row=None if first is None else offset + first,
        column=name,
        value=value,
    )


def _first_non_null(column: pa.ChunkedArray) -> int | None:
    index = pc.index(pc.is_valid(column), True).as_py()
    return None if index < 0 else index


def _unify_schemas(path: Path, schemas: Sequence[pa.Schema]) -> pa.Schema:
    """One schema for parts that differ only in width (``string`` / ``large_string``, ints)."""
    first = schemas[0]
    if all(s.equals(first) for s in schemas[1:]):
        return first
    fields = []
    for i, f in enumerate(first):
        types = {s.field(i).type for s in schemas}
        types.discard(pa.null())
        if len(types) <= 1:
            fields.append(pa.field(f.name, types.pop() if types else pa.null()))
        elif all(_is_text(t) for t in types):
            fields.append(pa.field(f.name, pa.large_string()))
        elif all(pa.types.is_integer(t) for t in types):
            fields.append(pa.field(f.name, pa.int64()))
        elif all(pa.types.is_floating(t) or pa.types.is_integer(t) for t in types):
            fields.append(pa.field(f.name, pa.float64()))
        else:
            found = ", ".join(sorted(map(str, types)))
            raise DatasetReadError(
                f"has different types in different parts of the dataset: {found}",
                path=path,
                column=f.name,
            )
    return pa.schema(fields)


# -- Parquet ---------------------------------------------------------------------------------------


def _parquet_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    # Hidden and ``_`` names are writers' temporaries (ours: ``.name.xxxx.tmp``) and Spark metadata.
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and p.name.lower().endswith(_PARQUET_SUFFIXES)
        and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
    )
    if not files:
        raise DatasetReadError("the directory holds no .parquet files", path=path)
    return files


def _parquet_error(path: Path, exc: Exception) -> DatasetReadError:
    return DatasetReadError(
        f"not a readable Parquet file (corrupt or truncated?): {exc}", path=path
    )


def _open_parquet(path: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _parquet_error(path, exc) from exc


def _parquet_plan(path: Path, columns: Sequence[str]) -> list[tuple[Path, int]]:
    """Each shard with the data row of its first row; every shard must hold ``columns``.

    Only footers are read, so a shard lacking a column fails before any data is read.
    """
    plan, offset = [], 0
    for file in _parquet_files(path):
        pf = _open_parquet(file)
        _check_present(file, columns, pf.schema_arrow.names)
        plan.append((file, offset))
        offset += pf.metadata.num_rows
    return plan


def _read_parquet_file(path: Path, columns: Sequence[str], offset: int) -> pa.Table:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, columns=list(columns), use_threads=True)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _parquet_error(path, exc) from exc
    return _conform(table, path, offset)


def _iter_parquet(
    path: Path, columns: list[str], batch_size: int
) -> Iterator[tuple[int, pa.RecordBatch]]:
    for file, offset in _parquet_plan(path, columns):
        batches = _open_parquet(file).iter_batches(batch_size=batch_size, columns=columns)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise _parquet_error(file, exc) from exc
            for out in _conform(batch, file, offset).to_batches(max_chunksize=batch_size):
                yield offset, out
                offset += out.num_rows


# -- JSONL -----------------------------------------------------------------------------------------


def _open_text_lines(path: Path) -> io.BufferedIOBase:
    """The file as bytes for Python-side line reading (sample and diagnosis)."""
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")  # noqa: SIM115


def _json_type(value: Any) -> pa.DataType | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return pa.bool_()
    if isinstance(value, int):
        return pa.int64()
    if isinstance(value, float):
        return pa.float64()
    if isinstance(value, str):
        return pa.string()
    return _NESTED


#: Marker type for a key whose sampled value is an object or array (not supported).
_NESTED = pa.struct([])


def _jsonl_sample(path: Path) -> dict[str, pa.DataType | None]:
    """Keys of the first :data:`SAMPLE_LINES` records, first-seen order, with each key's JSON type
    (of its first non-null value; ``None`` if all were null)."""
    types: dict[str, pa.DataType | None] = {}
    row = 0
    try:
        with _open_text_lines(path) as f:
            for line_no, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                record = _parse_line(path, raw, line_no, row)
                for key, value in record.items():
                    if types.get(key) is None:
                        types[key] = _json_type(value)
                row += 1
                if row >= SAMPLE_LINES:
                    break
    except (OSError, EOFError) as exc:
        raise DatasetReadError(
            f"cannot read the file (corrupt or truncated?): {exc}", path=path
        ) from exc
    return types


def _parse_line(path: Path, raw: bytes, line_no: int, row: int) -> dict[str, Any]:
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as exc:
        # The last line without its newline: the writer was cut off (or the copy truncated).
        cut = " — the file is cut off?" if not raw.endswith(b"\n") else ""
        raise DatasetReadError(
            f"not valid JSON ({exc.msg} at character {exc.colno}){cut}",
            path=path,
            row=row,
            line=line_no,
        ) from None
    except UnicodeDecodeError as exc:
        raise DatasetReadError(
            f"not valid UTF-8 ({exc.reason} at byte {exc.start})", path=path, row=row, line=line_no
        ) from None
    if not isinstance(record, dict):
        raise DatasetReadError(
            f"expected a JSON object, got a {type(record).__name__}",
            path=path,
            row=row,
            line=line_no,
        )
    return record


def _read_type(name: str, sampled: pa.DataType | None) -> pa.DataType:
    """The type to parse a key as: the known type unless the sample shows another JSON type.

    JSON is typed, so ``"age": "54"`` must be parsed as text (and converted by :func:`_conform`); an
    explicit type for every requested key keeps the parse the same in every block, where inference
    could drift. A nested sample value is read as text so that it fails, with its line, in
    :func:`_diagnose_jsonl`.
    """
    known = KNOWN_TYPES.get(name)
    if sampled is None or sampled == _NESTED:
        return known or pa.string()
    return sampled


def _iter_jsonl(
    path: Path, columns: list[str], batch_size: int
) -> Iterator[tuple[int, pa.RecordBatch]]:
    import pyarrow.json as pj

    sample = _jsonl_sample(path)
    _check_present(path, columns, list(sample))
    types = {c: _read_type(c, sample[c]) for c in columns}
    parse = pj.ParseOptions(
        explicit_schema=pa.schema([pa.field(c, t) for c, t in types.items()]),
        unexpected_field_behavior="ignore",  # the projection: other keys are skipped, never built
    )
    read = pj.ReadOptions(block_size=BLOCK_SIZE, use_threads=True)
    offset = 0
    # pa.input_stream decompresses .gz in native code (compression is detected from the suffix).
    with pa.input_stream(str(path)) as stream:
        try:
            reader = pj.open_json(stream, read_options=read, parse_options=parse)
        except (pa.ArrowException, OSError, EOFError) as exc:
            raise _diagnose_jsonl(path, 0, types, exc) from exc
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowException, OSError, EOFError) as exc:
                raise _diagnose_jsonl(path, offset, types, exc) from exc
            try:
                table = _conform(batch, path, offset)
            except DatasetReadError as err:
                if err.row is not None:
                    err.line = line_of_row(path, err.row)
                raise
            for out in table.to_batches(max_chunksize=batch_size):
                yield offset, out
                offset += out.num_rows


def line_of_row(path: str | os.PathLike[str], row: int) -> int | None:
    """1-based line of data row ``row`` of a JSONL file (blank lines are skipped), or ``None``.

    A Python scan of the file: meant for error messages, not for hot paths.
    """
    path = Path(path)
    seen = 0
    with _open_text_lines(path) as f:
        for line_no, raw in enumerate(f, start=1):
            if raw.strip():
                if seen == row:
                    return line_no
                seen += 1
    return None


def _diagnose_jsonl(
    path: Path, start_row: int, types: dict[str, pa.DataType], exc: Exception
) -> DatasetReadError:
    """Find the line pyarrow failed on: a Python scan from data row ``start_row`` (error path only).

    pyarrow's messages give a row within a parse block; this gives the file's line, the column and
    the value.
    """
    row = 0
    line_no = 0
    try:
        with _open_text_lines(path) as f:
            for line_no, raw in enumerate(f, start=1):  # noqa: B007 (line_no used after the loop)
                if not raw.strip():
                    continue
                if row >= start_row:
                    record = _parse_line(path, raw, line_no, row)
                    for name, type_ in types.items():
                        value = record.get(name)
                        if value is not None and not _fits(value, type_):
                            raise DatasetReadError(
                                f"{value!r} is not {_type_words(type_)}",
                                path=path,
                                row=row,
                                line=line_no,
                                column=name,
                                value=value,
                            )
                row += 1
    except DatasetReadError as found:
        return found
    except (OSError, EOFError) as io_exc:
        return DatasetReadError(
            f"cannot read the file (corrupt or truncated?): {io_exc}", path=path, line=line_no
        )
    return DatasetReadError(f"cannot parse the file: {exc}", path=path, row=start_row)


def _fits(value: Any, type_: pa.DataType) -> bool:
    if pa.types.is_string(type_):
        return isinstance(value, str)
    if pa.types.is_int64(type_):
        return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
    if pa.types.is_float64(type_):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if pa.types.is_boolean(type_):
        return isinstance(value, bool)
    return False


def _type_words(type_: pa.DataType) -> str:
    if pa.types.is_int64(type_):
        return "an integer"
    if pa.types.is_float64(type_):
        return "a number"
    if pa.types.is_boolean(type_):
        return "true or false"
    return "a string"


# -- CSV -------------------------------------------------------------------------------------------


def _csv_header(path: Path) -> list[str]:
    import csv

    with _open_text_lines(path) as f:
        text = io.TextIOWrapper(f, encoding="utf-8-sig", newline="")
        try:
            header = next(csv.reader(text), None)
        except (UnicodeDecodeError, csv.Error, OSError, EOFError) as exc:
            raise DatasetReadError(f"cannot read the CSV header: {exc}", path=path) from None
    return header or []


def _csv_options(columns: list[str]) -> tuple[Any, Any, Any]:
    import pyarrow.csv as pcsv

    read = pcsv.ReadOptions(block_size=BLOCK_SIZE, use_threads=True)
    # Narratives may hold newlines inside quotes.
    parse = pcsv.ParseOptions(newlines_in_values=True)
    # Everything is parsed as text and converted by _conform, so a bad value is reported with its
    # row and block-wise type inference cannot drift. Our writer's null is an empty unquoted field
    # and "" is an empty string; "NA", "null"… stay text (a name or a label could be "NA").
    convert = pcsv.ConvertOptions(
        include_columns=columns,
        column_types={c: pa.string() for c in columns},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )
    return read, parse, convert


def _csv_error(path: Path, exc: Exception) -> DatasetReadError:
    return DatasetReadError(f"not a readable CSV file: {exc}", path=path)


def _read_csv(path: Path, columns: list[str]) -> pa.Table:
    import pyarrow.csv as pcsv

    _check_present(path, columns, _csv_header(path))
    read, parse, convert = _csv_options(columns)
    try:
        table = pcsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowException, OSError, EOFError) as exc:
        raise _csv_error(path, exc) from exc
    return _conform(table.select(columns), path, 0)


def _iter_csv(
    path: Path, columns: list[str], batch_size: int
) -> Iterator[tuple[int, pa.RecordBatch]]:
    import pyarrow.csv as pcsv

    _check_present(path, columns, _csv_header(path))
    read, parse, convert = _csv_options(columns)
    try:
        reader = pcsv.open_csv(
            path, read_options=read, parse_options=parse, convert_options=convert
        )
    except (pa.ArrowException, OSError, EOFError) as exc:
        raise _csv_error(path, exc) from exc
    offset = 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except (pa.ArrowException, OSError, EOFError) as exc:
            raise _csv_error(path, exc) from exc
        for out in _conform(batch.select(columns), path, offset).to_batches(
            max_chunksize=batch_size
        ):
            yield offset, out
            offset += out.num_rows
