"""Record schema and atomic writers: NPK compatibility, round trips, and no partial output."""

from __future__ import annotations

import ast
import gc
import json
import os
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from ingu.io import (
    CATEGORICAL_COLUMNS,
    CATEGORY,
    EXTENSION_COLUMNS,
    NPK_COLUMNS,
    RECORD_SCHEMA,
    TEXT_COLUMNS,
    OutputError,
    SchemaError,
    categorical,
    conform_table,
    empty_text_column,
    open_writer,
    storage_schema,
    write_records,
)
from ingu.io import writers
from ingu.io.schema import (
    EMPLOYMENT_STATUS_LABELS,
    MILITARY_SERVICE_LABELS,
    OCCUPATION_MAJOR_LABELS,
    SEX_LABELS,
)

FIXTURES = Path(__file__).parent / "fixtures"
SUFFIXES = (".parquet", ".jsonl", ".csv")

# The column order of nvidia/Nemotron-Personas-Korea's Parquet files (dataset card).
NPK_ORDER = (
    "uuid",
    "professional_persona",
    "sports_persona",
    "arts_persona",
    "travel_persona",
    "culinary_persona",
    "family_persona",
    "persona",
    "cultural_background",
    "skills_and_expertise",
    "skills_and_expertise_list",
    "hobbies_and_interests",
    "hobbies_and_interests_list",
    "career_goals_and_ambitions",
    "sex",
    "age",
    "marital_status",
    "military_status",
    "family_type",
    "housing_type",
    "education_level",
    "bachelors_field",
    "occupation",
    "district",
    "province",
    "country",
)


def _npk_rows() -> list[dict]:
    lines = (FIXTURES / "npk_sample_rows.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _records(n: int, seed: int = 0) -> pa.Table:
    """A full record table: categorical codes + vocabularies, awkward text, some nulls."""
    rng = np.random.default_rng(seed)
    vocab = {
        "sex": SEX_LABELS,
        "marital_status": ("미혼", "배우자있음", "사별", "이혼"),
        "military_status": ("현역", "비현역"),
        "family_type": ("혼자 거주", "배우자·자녀와 거주"),
        "housing_type": ("아파트", "주택 이외의 거처"),
        "education_level": ("고등학교", "2~3년제 전문대학", "4년제 대학교"),
        "bachelors_field": ("해당없음", "경영·행정·법"),
        "occupation": ("무직", "산업 안전원", 'say "hi", then\nleave'),
        "district": ("서울-강남구", "경기-용인시 수지구"),
        "province": ("서울", "경기"),
        "country": ("대한민국",),
        "surname": ("김", "선우"),
        "given_name": ("지훈", "경진"),
        "employment_status": EMPLOYMENT_STATUS_LABELS,
        "occupation_code": ("01210", "A0000"),
        "occupation_major": OCCUPATION_MAJOR_LABELS,
        "military_service": MILITARY_SERVICE_LABELS,
    }
    texts = np.array(["", "그냥 텍스트", 'quote " comma , newline\n tab\t back\\slash', "😀 \u2028"])
    columns = {}
    for field in RECORD_SCHEMA:
        name = field.name
        if name == "uuid":
            columns[name] = pa.array([f"{i + seed * 1_000_000:032x}" for i in range(n)])
        elif name in TEXT_COLUMNS or name == "name":
            columns[name] = pa.array(texts[rng.integers(0, len(texts), n)].tolist(), pa.string())
        elif name in ("age", "birth_year"):
            columns[name] = pa.array(rng.integers(19, 2006, n), pa.int64())
        else:
            codes = rng.integers(0, len(vocab[name]), n)
            if field.nullable:
                codes[rng.random(n) < 0.3] = -1
            columns[name] = categorical(codes, vocab[name])
    return pa.table(columns, schema=RECORD_SCHEMA)


def _read(path: Path) -> pa.Table:
    """Read a written file back with plain pyarrow, as a reader of NPK would."""
    if path.suffix == ".parquet":
        return pq.read_table(path)
    if path.suffix == ".csv":
        types = {f.name: f.type for f in storage_schema(RECORD_SCHEMA)}
        options = pacsv.ConvertOptions(
            column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False
        )
        return pacsv.read_csv(path, convert_options=options)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]
    return pa.Table.from_pylist(rows, schema=storage_schema(RECORD_SCHEMA))


def _expected(*tables: pa.Table) -> pa.Table:
    return pa.concat_tables(tables).cast(storage_schema(RECORD_SCHEMA))


# -- schema ----------------------------------------------------------------------------------------


def test_schema_is_npk_columns_in_npk_order_then_extensions():
    assert NPK_COLUMNS == NPK_ORDER
    assert EXTENSION_COLUMNS == (
        "name",
        "surname",
        "given_name",
        "birth_year",
        "employment_status",
        "occupation_code",
        "occupation_major",
        "military_service",
    )
    assert tuple(RECORD_SCHEMA.names) == NPK_COLUMNS + EXTENSION_COLUMNS
    assert len(RECORD_SCHEMA) == 34
    assert len(TEXT_COLUMNS) == 13 and set(TEXT_COLUMNS) < set(NPK_COLUMNS)


def test_npk_part_has_exactly_the_keys_of_npk_rows():
    for row in _npk_rows():
        assert set(row) == set(NPK_COLUMNS)
        assert len(row) == 26
        # The fixture was serialised with sorted keys; NPK's own column order is NPK_ORDER.
        assert list(row) == sorted(NPK_COLUMNS)


def test_npk_types_and_shapes_match_npk_rows():
    on_disk = storage_schema(RECORD_SCHEMA)
    for row in _npk_rows():
        for name in NPK_COLUMNS:
            expected = int if on_disk.field(name).type == pa.int64() else str
            assert type(row[name]) is expected, name
        assert re.fullmatch(r"[0-9a-f]{32}", row["uuid"])
        for name in ("skills_and_expertise_list", "hobbies_and_interests_list"):
            assert isinstance(ast.literal_eval(row[name]), list)  # a Python repr in a string
    assert on_disk.field("age").type == pa.int64()
    assert on_disk.field("birth_year").type == pa.int64()


def test_categorical_columns_are_dictionaries_and_only_occupation_codes_are_nullable():
    assert "sex" in CATEGORICAL_COLUMNS and "uuid" not in CATEGORICAL_COLUMNS
    for field in RECORD_SCHEMA:
        assert (field.type == CATEGORY) == (field.name in CATEGORICAL_COLUMNS)
        assert field.nullable == (field.name in {"occupation_code", "occupation_major"})
    assert not any(pa.types.is_dictionary(t) for t in storage_schema(RECORD_SCHEMA).types)


def test_empty_text_column_is_empty_strings():
    column = empty_text_column(5)
    assert column.type == pa.string()
    assert column.to_pylist() == [""] * 5
    assert column.null_count == 0
    assert len(empty_text_column(0)) == 0


def test_categorical_builds_dictionary_from_codes():
    column = categorical(np.array([1, 0, -1, 1], dtype=np.int16), ["남자", "여자"])
    assert column.type == CATEGORY
    assert column.to_pylist() == ["여자", "남자", None, "여자"]
    with pytest.raises(SchemaError, match="vocabulary has 2 labels"):
        categorical(np.array([0, 2]), ["남자", "여자"])
    with pytest.raises(SchemaError, match="integer"):
        categorical(np.array([0.0]), ["남자"])


def test_conform_reorders_and_casts_compatible_columns():
    table = _records(4)
    shuffled = table.select(list(reversed(table.column_names)))
    sex = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0, 1], pa.int8()), pa.array(["남자", "여자"]))
    shuffled = shuffled.set_column(shuffled.column_names.index("sex"), "sex", sex)
    plain = shuffled.set_column(
        shuffled.column_names.index("province"), "province", pa.array(["서울"] * 4)
    )
    out = conform_table(plain)
    assert out.schema == RECORD_SCHEMA
    assert out.column("sex").to_pylist() == ["남자", "여자", "남자", "여자"]
    assert out.column("province").to_pylist() == ["서울"] * 4


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop_columns(["age", "sex"]), "missing: sex, age"),
        (lambda t: t.append_column("extra", pa.array([1] * 4)), "unexpected: extra"),
        (lambda t: t.set_column(15, "age", pa.array(["54"] * 4)), "'age' is string"),
        (lambda t: t.set_column(0, "uuid", pa.nulls(4, pa.string())), "'uuid' has 4 nulls"),
    ],
)
def test_conform_names_the_offending_column(change, message):
    with pytest.raises(SchemaError, match=message):
        conform_table(change(_records(4)))


# -- round trips -----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_round_trip_preserves_values(tmp_path, suffix):
    path = tmp_path / f"people{suffix}"
    batches = [_records(7, seed=1), _records(0, seed=2), _records(5, seed=3)]
    with open_writer(path, RECORD_SCHEMA) as writer:
        for batch in batches:
            writer.write(batch)
    assert writer.rows_written == 12
    back = _read(path)
    assert back.schema == storage_schema(RECORD_SCHEMA)
    assert back.equals(_expected(*batches))
    assert os.listdir(tmp_path) == [path.name]  # no temp file left


def test_npk_rows_come_out_of_jsonl_unchanged(tmp_path):
    rows = _npk_rows()
    n = len(rows)
    columns = {name: [row[name] for row in rows] for name in NPK_COLUMNS}
    columns |= {
        "name": ["선애경", "라지훈", "최경진"],
        "surname": ["선", "라", "최"],
        "given_name": ["애경", "지훈", "경진"],
        "birth_year": [2025 - row["age"] for row in rows],
        "employment_status": ["비경제활동인구", "취업자", "취업자"],
        "occupation_code": [None, "15390", "25112"],
        "occupation_major": [None, "1", "2"],
        "military_service": ["해당없음", "병역필", "해당없음"],
    }
    table = pa.table({k: columns[k] for k in RECORD_SCHEMA.names}, schema=storage_schema())
    path = tmp_path / "npk.jsonl"
    write_records(path, table)
    raw = path.read_bytes()
    assert b"\\u" not in raw and "서울-강남구".encode() in raw  # UTF-8, not ASCII-escaped
    lines = raw.decode("utf-8").split("\n")
    assert len(lines) == n + 1 and lines[-1] == ""
    for line, row in zip(lines, rows, strict=False):
        written = json.loads(line)
        assert list(written) == list(RECORD_SCHEMA.names)
        assert {k: written[k] for k in NPK_COLUMNS} == row
        assert type(written["age"]) is int
    assert json.loads(lines[0])["occupation_code"] is None


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_dictionary_columns_are_written_as_strings(tmp_path, suffix):
    path = tmp_path / f"people{suffix}"
    sex = categorical(np.array([1, 0, 1]), SEX_LABELS)
    table = _records(3).set_column(RECORD_SCHEMA.get_field_index("sex"), "sex", sex)
    write_records(path, table)
    text = path.read_text(encoding="utf-8")
    if suffix == ".jsonl":
        assert [json.loads(line)["sex"] for line in text.split("\n") if line] == ["여자", "남자", "여자"]
    else:
        assert _read(path).column("sex").to_pylist() == ["여자", "남자", "여자"]
        assert '"여자"' in text and "indices" not in text


def test_parquet_stores_plain_strings_with_dictionary_pages(tmp_path):
    path = tmp_path / "people.parquet"
    write_records(path, _records(50))
    parquet = pq.ParquetFile(path)
    assert b"ARROW:schema" not in (parquet.metadata.metadata or {})  # readers see NPK's types
    assert parquet.schema_arrow.field("sex").type == pa.string()
    column = parquet.metadata.row_group(0).column(RECORD_SCHEMA.get_field_index("sex"))
    assert "RLE_DICTIONARY" in column.encodings
    assert column.compression == "ZSTD"


def test_multi_batch_parquet_has_one_row_group_per_batch(tmp_path, monkeypatch):
    path = tmp_path / "people.parquet"
    write_records(path, [_records(10, seed=s) for s in range(3)])
    assert pq.ParquetFile(path).metadata.num_row_groups == 3
    monkeypatch.setattr(writers, "ROW_GROUP_SIZE", 4)
    write_records(path, _records(10), overwrite=True)
    assert [pq.ParquetFile(path).metadata.row_group(i).num_rows for i in range(3)] == [4, 4, 2]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_no_batches_gives_a_valid_empty_file(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    assert write_records(path, []) == 0
    back = _read(path)
    assert back.num_rows == 0 and back.schema.names == RECORD_SCHEMA.names


def test_output_permissions_follow_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_records(tmp_path / "people.csv", _records(2))
    finally:
        os.umask(old)
    assert (tmp_path / "people.csv").stat().st_mode & 0o777 == 0o644


# -- failures leave nothing ------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_exception_inside_with_leaves_no_file(tmp_path, suffix, error):
    path = tmp_path / f"people{suffix}"
    with pytest.raises(error):
        with open_writer(path, RECORD_SCHEMA) as writer:
            writer.write(_records(5))
            raise error()
    assert os.listdir(tmp_path) == []


def test_failed_overwrite_keeps_the_old_file(tmp_path):
    path = tmp_path / "people.jsonl"
    path.write_text("old\n")
    with pytest.raises(RuntimeError):
        with open_writer(path, RECORD_SCHEMA, overwrite=True) as writer:
            writer.write(_records(5))
            raise RuntimeError
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == [path.name]


def test_bad_batch_is_a_schema_error_and_leaves_no_file(tmp_path):
    path = tmp_path / "people.parquet"
    with pytest.raises(SchemaError, match="missing: age"):
        with open_writer(path, RECORD_SCHEMA) as writer:
            writer.write(_records(5).drop_columns(["age"]))
    assert os.listdir(tmp_path) == []


def test_dropped_writer_removes_its_temp_file(tmp_path):
    writer = open_writer(tmp_path / "people.parquet", RECORD_SCHEMA)
    writer.write(_records(3))
    assert len(os.listdir(tmp_path)) == 1  # the hidden temp file
    del writer
    gc.collect()
    assert os.listdir(tmp_path) == []


def test_write_after_close_is_an_error(tmp_path):
    with open_writer(tmp_path / "people.csv", RECORD_SCHEMA) as writer:
        writer.write(_records(2))
    with pytest.raises(OutputError, match="closed"):
        writer.write(_records(2))


# -- up-front checks -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["people.txt", "people.json", "people"])
def test_unknown_suffix_is_refused_by_name(tmp_path, name):
    with pytest.raises(OutputError, match=re.escape(name)) as info:
        open_writer(tmp_path / name, RECORD_SCHEMA)
    assert ".parquet" in str(info.value)
    assert os.listdir(tmp_path) == []


def test_path_that_is_a_directory_is_refused(tmp_path):
    target = tmp_path / "out.parquet"
    target.mkdir()
    with pytest.raises(OutputError, match="is a directory"):
        open_writer(target, RECORD_SCHEMA, overwrite=True)


def test_missing_directory_is_refused(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        open_writer(tmp_path / "nope" / "people.csv", RECORD_SCHEMA)
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="not a directory"):
        open_writer(tmp_path / "file" / "people.csv", RECORD_SCHEMA)


def test_unwritable_directory_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(writers.os, "access", lambda *args, **kwargs: False)
    with pytest.raises(OutputError, match="people.jsonl.*not writable"):
        open_writer(tmp_path / "people.jsonl", RECORD_SCHEMA)
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_directory_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="not writable"):
            open_writer(locked / "people.parquet", RECORD_SCHEMA)
    finally:
        locked.chmod(0o700)


def test_existing_file_is_kept_unless_overwrite(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("old\n")
    with pytest.raises(OutputError, match="already exists.*overwrite"):
        open_writer(path, RECORD_SCHEMA)
    assert path.read_text() == "old\n"
    write_records(path, _records(3), overwrite=True)
    assert _read(path).num_rows == 3


def test_file_appearing_during_the_write_is_not_replaced(tmp_path):
    path = tmp_path / "people.jsonl"
    with pytest.raises(OutputError, match="appeared while writing"):
        with open_writer(path, RECORD_SCHEMA) as writer:
            writer.write(_records(3))
            path.write_text("someone else's\n")
    assert path.read_text() == "someone else's\n"
    assert os.listdir(tmp_path) == [path.name]


def test_disk_error_is_an_output_error_naming_the_path(tmp_path):
    path = tmp_path / "people.parquet"

    def full_disk(table: pa.Table) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match="people.parquet.*No space left"):
        with open_writer(path, RECORD_SCHEMA) as writer:
            writer._sink.write = full_disk
            writer.write(_records(3))
    assert os.listdir(tmp_path) == []
