"""Dataset readers: projection, streaming, formats, types, and errors that say where and what."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ingu.cli import app
from ingu.io import readers
from ingu.io.readers import (
    DatasetReadError,
    coerce_int64,
    dataset_columns,
    iter_batches,
    line_of_row,
    read_columns,
)
from ingu.io.schema import NPK_COLUMNS, RECORD_SCHEMA, TEXT_COLUMNS

FIXTURES = Path(__file__).parent / "fixtures"
STRUCTURED = ["uuid", "sex", "age", "district", "occupation_code", "birth_year", "military_service"]


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same 1,500 seeded records written by ``ingu generate`` as Parquet, JSONL and CSV."""
    out = tmp_path_factory.mktemp("generated")
    runner = CliRunner()
    paths = {}
    for suffix in (".parquet", ".jsonl", ".csv"):
        path = out / f"people{suffix}"
        result = runner.invoke(app, ["generate", "-n", "1500", "--seed", "7", "--narrator", "none", "-o", str(path)])
        assert result.exit_code == 0, result.output
        paths[suffix] = path
    return paths


def _npk_rows() -> list[dict]:
    return [
        json.loads(line)
        for line in (FIXTURES / "npk_sample_rows.jsonl").read_text("utf-8").splitlines()
    ]


def _write_jsonl(path: Path, rows: list[dict], *, trailing_newline: bool = True) -> Path:
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows)
    path.write_text(text + ("\n" if trailing_newline else ""), encoding="utf-8")
    return path


# Module-level: buffers allocated through a proxy pool must never outlive it (freeing them later
# through a destroyed pool crashes the interpreter).
_PEAK_POOL = pa.proxy_memory_pool(pa.default_memory_pool())


def _is_string(type_: pa.DataType) -> bool:
    return pa.types.is_string(type_) or pa.types.is_large_string(type_)


# -- columns and formats ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv"])
def test_dataset_columns_lists_every_column_in_file_order(
    generated: dict[str, Path], suffix: str
) -> None:
    assert dataset_columns(generated[suffix]) == RECORD_SCHEMA.names


def test_formats_give_equal_values_and_stable_types(generated: dict[str, Path]) -> None:
    tables = {s: read_columns(p, STRUCTURED) for s, p in generated.items()}
    for table in tables.values():
        assert table.column_names == STRUCTURED  # requested order, nothing else
        assert table.num_rows == 1500
        assert table.schema.field("age").type == pa.int64()
        assert table.schema.field("birth_year").type == pa.int64()
        for name in ("uuid", "sex", "district", "occupation_code", "military_service"):
            assert _is_string(table.schema.field(name).type), name
    frames = {s: pl.from_arrow(t) for s, t in tables.items()}
    reference = frames[".parquet"]
    assert reference["occupation_code"].null_count() > 0  # nulls must survive every format
    for suffix in (".jsonl", ".csv"):
        assert frames[suffix].equals(reference), suffix


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_gzip_compressed_text_formats(
    generated: dict[str, Path], tmp_path: Path, suffix: str
) -> None:
    target = tmp_path / f"people{suffix}.gz"
    with open(generated[suffix], "rb") as src, gzip.open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert dataset_columns(target) == RECORD_SCHEMA.names
    assert read_columns(target, STRUCTURED).equals(read_columns(generated[suffix], STRUCTURED))


def test_ndjson_suffix_is_jsonl(generated: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "people.ndjson"
    shutil.copy(generated[".jsonl"], target)
    assert read_columns(target, ["age"]).equals(read_columns(generated[".jsonl"], ["age"]))


def test_npk_fixture_rows_read_as_jsonl_with_npk_types() -> None:
    path = FIXTURES / "npk_sample_rows.jsonl"
    assert set(dataset_columns(path)) == set(NPK_COLUMNS)
    table = read_columns(path, ["uuid", "age", "sex", "skills_and_expertise_list", "district"])
    rows = _npk_rows()
    assert table.column("age").to_pylist() == [r["age"] for r in rows]
    assert table.schema.field("age").type == pa.int64()
    # NPK's list fields are strings holding a Python list repr, read as-is.
    assert table.column("skills_and_expertise_list").to_pylist() == [
        r["skills_and_expertise_list"] for r in rows
    ]
    assert table.column("district").to_pylist() == [r["district"] for r in rows]


# -- Parquet shards --------------------------------------------------------------------------------


def _shards(root: Path, rows: list[dict], sizes: list[int], names: list[str]) -> Path:
    """NPK's layout: ``root/data/<name>`` shards, columns in NPK order, string except age int64."""
    schema = pa.schema([(c, pa.int64() if c == "age" else pa.string()) for c in NPK_COLUMNS])
    start = 0
    for size, name in zip(sizes, names, strict=True):
        part = rows[start : start + size]
        start += size
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(part, schema=schema), target)
    return root


def test_parquet_directory_is_read_recursively_in_sorted_order(tmp_path: Path) -> None:
    rows = [dict(r, uuid=f"{i:032x}", age=20 + i) for i, r in enumerate(_npk_rows() * 3)]  # 9 rows
    # Written out of order and nested; sorting by path must restore it.
    root = _shards(
        tmp_path / "npk",
        rows,
        [4, 3, 2],
        [
            "data/train-00000-of-00003.parquet",
            "data/train-00001-of-00003.parquet",
            "data/z/train-00002.parquet",
        ],
    )
    (root / "data" / ".train-00003.parquet.ab12.tmp").write_bytes(
        b"partial"
    )  # a writer's temp file
    (root / "data" / "_SUCCESS").write_bytes(b"")
    assert dataset_columns(root) == list(NPK_COLUMNS)
    table = read_columns(root, ["age", "uuid"])
    assert table.column("age").to_pylist() == [r["age"] for r in rows]
    offsets = [(o, b.num_rows) for o, b in iter_batches(root, ["age"], batch_size=3)]
    assert offsets == [(0, 3), (3, 1), (4, 3), (7, 2)]


def test_shard_lacking_a_column_is_named(tmp_path: Path) -> None:
    rows = _npk_rows()
    root = _shards(tmp_path / "d", rows, [2], ["a.parquet"])
    pq.write_table(pa.table({"uuid": ["x"], "age": [3]}), root / "b.parquet")
    with pytest.raises(DatasetReadError) as info:
        read_columns(root, ["age", "sex"])
    err = info.value
    assert err.path.endswith("b.parquet") and err.column == "sex"
    assert "b.parquet" in str(err) and "'sex'" in str(err) and "uuid, age" in str(err)


def test_bad_integer_in_second_shard_reports_the_row_across_shards(tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    pq.write_table(pa.table({"age": ["30", "31", "32"]}), root / "part-0.parquet")
    pq.write_table(pa.table({"age": ["40", "abc", "x"]}), root / "part-1.parquet")
    with pytest.raises(DatasetReadError) as info:
        read_columns(root, ["age"])
    err = info.value
    assert (err.row, err.column, err.value) == (4, "age", "abc")
    assert err.path.endswith("part-1.parquet")
    assert "row 4" in str(err) and "'abc'" in str(err) and "part-1.parquet" in str(err)


def test_integer_text_and_integral_floats_become_int64(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(
        pa.table({"age": [" 54", "7", None, ""], "birth_year": [1970.0, None, 1999.0, 2000.0]}),
        path,
    )
    table = read_columns(path, ["age", "birth_year"])
    assert table.column("age").to_pylist() == [54, 7, None, None]
    assert table.column("birth_year").to_pylist() == [1970, None, 1999, 2000]
    assert table.schema.field("age").type == pa.int64()


def test_truncated_parquet_is_named(generated: dict[str, Path], tmp_path: Path) -> None:
    data = generated[".parquet"].read_bytes()
    path = tmp_path / "cut.parquet"
    path.write_bytes(data[: len(data) // 2])
    for call in (lambda: dataset_columns(path), lambda: read_columns(path, ["age"])):
        with pytest.raises(DatasetReadError) as info:
            call()
        assert info.value.path == str(path)
        assert "cut.parquet" in str(info.value) and "corrupt or truncated" in str(info.value)


def test_corrupt_parquet_data_page_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"age": list(range(50_000))}), path, compression="zstd")
    data = bytearray(path.read_bytes())
    for i in range(4, 40):  # scribble over the first page header; magic bytes and footer intact
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetReadError) as info:
        read_columns(path, ["age"])
    assert "bad.parquet" in str(info.value)


# -- JSONL -----------------------------------------------------------------------------------------


def test_jsonl_projection_keeps_memory_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """88 MB of narrative text: peak Arrow memory stays a fraction of it (blocks, not the text).

    pyarrow queues up to 32 raw blocks ahead of the parser, so the blocks are made small here.
    """
    monkeypatch.setattr(readers, "BLOCK_SIZE", 256 << 10)
    path = tmp_path / "wide.jsonl"
    text = "가나다라마바사 " * 1000  # ~21 KB of UTF-8
    with open(path, "w", encoding="utf-8") as f:
        for i in range(2000):
            row = {
                "uuid": f"{i:032x}",
                "persona": text,
                "family_persona": text,
                "age": i % 90,
                "sex": "남자",
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    size = path.stat().st_size
    assert size > 80e6
    pool = _PEAK_POOL
    previous = pa.default_memory_pool()
    start = pool.bytes_allocated()
    pa.set_memory_pool(pool)
    try:
        table = read_columns(path, ["age", "sex"])
        streamed = sum(b.num_rows for _, b in iter_batches(path, ["age"]))
    finally:
        pa.set_memory_pool(previous)
    peak = pool.max_memory() - start
    assert table.column_names == ["age", "sex"]
    assert table.num_rows == streamed == 2000
    assert table.column("age").to_pylist()[:3] == [0, 1, 2]
    assert peak < size / 4, f"peak {peak:,} bytes for a {size:,}-byte file"


def test_jsonl_blocks_keep_row_offsets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "BLOCK_SIZE", 4096)
    rows = [{"uuid": f"{i:032x}", "age": i, "persona": "x" * 50} for i in range(1000)]
    path = _write_jsonl(tmp_path / "p.jsonl", rows)
    batches = list(iter_batches(path, ["age"], batch_size=100))
    assert len(batches) > 10
    expected = 0
    for offset, batch in batches:
        assert offset == expected and batch.num_rows <= 100
        assert batch.column(0).to_pylist() == list(range(offset, offset + batch.num_rows))
        expected += batch.num_rows
    assert expected == 1000


def test_jsonl_invalid_line_names_line_and_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "BLOCK_SIZE", 4096)
    lines = [json.dumps({"age": i, "sex": "여자"}) for i in range(800)]
    lines.insert(3, "")  # a blank line: counts as a line, not as a row
    lines[701] = '{"age": 700, "sex": "여자"'  # line 702, data row 700
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetReadError) as info:
        read_columns(path, ["age"])
    err = info.value
    assert (err.line, err.row) == (702, 700)
    assert "bad.jsonl" in str(err) and "line 702" in str(err) and "not valid JSON" in str(err)


def test_jsonl_cut_off_at_the_end(tmp_path: Path) -> None:
    rows = _npk_rows()
    path = tmp_path / "cut.jsonl"
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows)
    path.write_text(text[: len(text) - 40], encoding="utf-8")  # the last object loses its tail
    with pytest.raises(DatasetReadError) as info:
        read_columns(path, ["age", "sex"])
    err = info.value
    assert (err.line, err.row) == (3, 2)
    assert "cut.jsonl" in str(err) and "line 3" in str(err) and "cut off" in str(err)


def test_jsonl_wrong_type_names_column_line_and_value(tmp_path: Path) -> None:
    rows = [{"age": 30 + i, "sex": "남자"} for i in range(10)]
    rows[6]["age"] = "abc"
    path = _write_jsonl(tmp_path / "t.jsonl", rows)
    with pytest.raises(DatasetReadError) as info:
        read_columns(path, ["sex", "age"])
    err = info.value
    assert (err.column, err.row, err.line, err.value) == ("age", 6, 7, "abc")
    assert (
        "t.jsonl" in str(err)
        and "'age'" in str(err)
        and "'abc'" in str(err)
        and "line 7" in str(err)
    )


def test_jsonl_integer_text_throughout_is_accepted_and_bad_text_has_a_line(tmp_path: Path) -> None:
    rows = [{"age": str(30 + i)} for i in range(5)]
    path = _write_jsonl(tmp_path / "s.jsonl", rows)
    assert read_columns(path, ["age"]).column("age").to_pylist() == [30, 31, 32, 33, 34]
    rows[3]["age"] = "서른"
    path = _write_jsonl(tmp_path / "s.jsonl", [{}] + rows)  # line 1: an empty object (row 0)
    with pytest.raises(DatasetReadError) as info:
        read_columns(path, ["age"])
    assert (info.value.row, info.value.line, info.value.value) == (4, 5, "서른")


def test_jsonl_numbers_in_a_text_column_become_text(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "c.jsonl", [{"occupation_code": 87321}, {"occupation_code": None}]
    )
    table = read_columns(path, ["occupation_code"])
    assert table.column(0).to_pylist() == ["87321", None]
    assert _is_string(table.schema.field(0).type)


def test_jsonl_nested_value_is_reported(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "n.jsonl", [{"sex": "남자"}, {"sex": ["남자"]}])
    with pytest.raises(DatasetReadError) as info:
        read_columns(path, ["sex"])
    assert (info.value.column, info.value.line) == ("sex", 2)


def test_jsonl_unknown_columns_keep_their_json_type(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "u.jsonl", [{"score": 1.5, "flag": True, "tag": "a"}] * 3)
    table = read_columns(path, ["score", "flag", "tag"])
    assert [f.type for f in table.schema] == [pa.float64(), pa.bool_(), pa.string()]


def test_line_of_row_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text('{"a":1}\n\n  \n{"a":2}\n{"a":3}\n', encoding="utf-8")
    assert [line_of_row(path, r) for r in range(4)] == [1, 4, 5, None]


# -- CSV -------------------------------------------------------------------------------------------


def test_csv_bad_integer_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text('uuid,age,note\n"a",30,"multi\nline"\n"b",x1,""\n"c",,""\n', encoding="utf-8")
    with pytest.raises(DatasetReadError) as info:
        read_columns(path, ["age"])
    err = info.value
    assert (err.row, err.column, err.value) == (1, "age", "x1")
    assert "p.csv" in str(err) and "row 1" in str(err)


def test_csv_keeps_text_as_text_and_empty_fields_null(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text('\ufeffname,age,code\n"NA",30,""\n"김",31,\n', encoding="utf-8")
    assert dataset_columns(path) == ["name", "age", "code"]  # BOM stripped
    table = read_columns(path, ["name", "code", "age"])
    assert table.to_pydict() == {"name": ["NA", "김"], "code": ["", None], "age": [30, 31]}


# -- errors about paths and columns ----------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.parquet"
    for call in (lambda: dataset_columns(path), lambda: read_columns(path, ["age"])):
        with pytest.raises(DatasetReadError) as info:
            call()
        assert info.value.path == str(path) and "nope.parquet" in str(info.value)
        assert "no such file" in str(info.value)


def test_unknown_suffix_lists_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "people.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(DatasetReadError) as info:
        read_columns(path, ["age"])
    message = str(info.value)
    assert "people.xlsx" in message and "'.xlsx'" in message
    assert ".parquet" in message and ".jsonl" in message and ".csv" in message


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv"])
def test_absent_column_names_file_and_lists_columns(
    generated: dict[str, Path], suffix: str
) -> None:
    path = generated[suffix]
    for call in (
        lambda: read_columns(path, ["age", "gender"]),
        lambda: list(iter_batches(path, ["gender"])),
    ):
        with pytest.raises(DatasetReadError) as info:
            call()
        err = info.value
        assert err.column == "gender" and err.path == str(path)
        message = str(err)
        assert path.name in message and "'gender'" in message
        assert "uuid, professional_persona" in message and "military_service" in message


def test_no_columns_requested_is_a_caller_error(generated: dict[str, Path]) -> None:
    with pytest.raises(ValueError):
        read_columns(generated[".parquet"], [])
    with pytest.raises(TypeError):
        read_columns(generated[".parquet"], "age")


# -- streaming equals reading ----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv"])
def test_iter_batches_concatenates_to_read_columns(generated: dict[str, Path], suffix: str) -> None:
    path = generated[suffix]
    columns = ["uuid", "age", *TEXT_COLUMNS[:2]]
    pieces = list(iter_batches(path, columns, batch_size=400))
    offsets = [o for o, _ in pieces]
    sizes = [b.num_rows for _, b in pieces]
    assert offsets == [sum(sizes[:i]) for i in range(len(sizes))]
    assert max(sizes) <= 400 and sum(sizes) == 1500
    streamed = pl.concat([pl.from_arrow(b) for _, b in pieces], how="vertical_relaxed")
    assert streamed.equals(pl.from_arrow(read_columns(path, columns)))


# -- coerce_int64 ----------------------------------------------------------------------------------


def test_coerce_int64_marks_bad_values() -> None:
    values = pa.array(
        [" 42", "", None, "x", "+7", "-3", "12345678901234567890", "9223372036854775807", "4.0"]
    )
    out, bad = coerce_int64(values)
    assert out.to_pylist() == [42, None, None, None, 7, -3, None, 9223372036854775807, None]
    assert bad is not None
    assert bad.to_pylist() == [False, False, False, True, False, False, True, False, True]


def test_coerce_int64_floats_and_ints() -> None:
    out, bad = coerce_int64(pa.array([1.0, 2.5, float("nan"), None]))
    assert out.to_pylist() == [1, None, None, None]
    assert bad is not None and bad.to_pylist() == [False, True, True, False]
    out, bad = coerce_int64(pa.array([1, 2], pa.int8()))
    assert out.type == pa.int64() and bad is None
    with pytest.raises(TypeError):
        coerce_int64(pa.array([[1]]))
