"""Dataset profiles: NPK and ingu files as they are, aliases, --map, normalisation, field errors."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ingu.audit.profiles import (
    AUDIT_FIELDS,
    TEXT_FIELDS,
    DatasetFieldError,
    ProfileError,
    detect_profile,
    load_audit_data,
    parse_mapping,
    resolve_columns,
)
from ingu.cli import app
from ingu.io.readers import DatasetReadError
from ingu.io.schema import EXTENSION_COLUMNS, NPK_COLUMNS, TEXT_COLUMNS
from ingu.reference.vocab import districts, provinces, vocabulary

FIXTURES = Path(__file__).parent / "fixtures"
NPK_JSONL = FIXTURES / "npk_sample_rows.jsonl"
NPK_STRUCTURED = [c for c in NPK_COLUMNS if c not in TEXT_COLUMNS]


def _npk_rows() -> list[dict]:
    return [json.loads(line) for line in NPK_JSONL.read_text("utf-8").splitlines()]


def _npk_shards(root: Path) -> Path:
    """The fixture rows as NPK publishes them: ``data/train-*.parquet``, strings, age int64."""
    schema = pa.schema([(c, pa.int64() if c == "age" else pa.string()) for c in NPK_COLUMNS])
    rows = _npk_rows()
    (root / "data").mkdir(parents=True)
    for i, part in enumerate((rows[:2], rows[2:])):
        pq.write_table(
            pa.Table.from_pylist(part, schema=schema),
            root / "data" / f"train-0000{i}-of-00002.parquet",
        )
    return root


def _write(path: Path, columns: dict[str, list]) -> Path:
    frame = pl.DataFrame(columns)
    if path.suffix == ".csv":
        frame.write_csv(path)
    elif path.suffix == ".jsonl":
        frame.write_ndjson(path)
    else:
        frame.write_parquet(path)
    return path


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same 1,200 seeded records written by ``ingu generate`` in each format."""
    out = tmp_path_factory.mktemp("generated_profiles")
    paths = {}
    for suffix in (".parquet", ".jsonl", ".csv"):
        path = out / f"people{suffix}"
        result = CliRunner().invoke(
            app, ["generate", "-n", "1200", "--seed", "11", "-o", str(path)]
        )
        assert result.exit_code == 0, result.output
        paths[suffix] = path
    return paths


# -- NPK as published ------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["auto", "npk"])
@pytest.mark.parametrize("layout", ["jsonl", "parquet-shards"])
def test_npk_rows_read_without_conversion(tmp_path: Path, profile: str, layout: str) -> None:
    path = NPK_JSONL if layout == "jsonl" else _npk_shards(tmp_path / "npk")
    data = load_audit_data(path, profile=profile)
    rows = _npk_rows()
    assert data.profile == "npk" and data.rows == 3
    assert data.frame.columns == NPK_STRUCTURED  # canonical names, no text
    assert data.source_columns == {c: c for c in NPK_STRUCTURED}
    assert data.text_columns == {c: c for c in TEXT_FIELDS}
    assert data.missing == [f for f in AUDIT_FIELDS if f in EXTENSION_COLUMNS]
    for column in NPK_STRUCTURED:  # NPK's labels are already canonical: unchanged
        assert data.frame[column].cast(pl.Utf8 if column != "age" else pl.Int64).to_list() == [
            r[column] for r in rows
        ], column
    assert data.frame["age"].dtype == pl.Int64
    assert isinstance(data.frame["sex"].dtype, pl.Enum)


def test_npk_jsonl_and_shards_give_equal_frames(tmp_path: Path) -> None:
    a = load_audit_data(NPK_JSONL).frame
    b = load_audit_data(_npk_shards(tmp_path / "npk")).frame
    assert a.equals(b)


def test_npk_profile_ignores_extension_columns(generated: dict[str, Path]) -> None:
    data = load_audit_data(generated[".parquet"], profile="npk")
    assert data.profile == "npk"
    assert "birth_year" not in data.frame.columns and "birth_year" in data.missing


# -- our own output --------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["auto", "ingu"])
def test_generated_files_equal_across_formats(generated: dict[str, Path], profile: str) -> None:
    loaded = {s: load_audit_data(p, profile=profile) for s, p in generated.items()}
    reference = loaded[".parquet"]
    assert reference.profile == "ingu" and reference.rows == 1200
    assert reference.missing == [] and reference.frame.columns == list(AUDIT_FIELDS)
    assert reference.frame["occupation_code"].null_count() > 0  # null for the non-employed
    for suffix in (".jsonl", ".csv"):
        assert loaded[suffix].frame.equals(reference.frame), suffix
    raw = pl.read_parquet(generated[".parquet"], columns=list(AUDIT_FIELDS))
    normalised = reference.frame.cast(dict(raw.schema))  # labels unchanged
    assert normalised.equals(raw)


def test_enum_codes_are_vocabulary_codes(generated: dict[str, Path]) -> None:
    frame = load_audit_data(generated[".parquet"]).frame
    assert frame["district"].dtype == pl.Enum([d.npk_label for d in districts()])
    assert frame["province"].dtype == pl.Enum([p.npk_label for p in provinces()])
    education = vocabulary("education")
    codes = frame["education_level"].to_physical().to_list()
    assert [education[c] for c in codes] == frame["education_level"].cast(pl.Utf8).to_list()
    assert frame["occupation"].dtype == pl.Utf8 and frame["uuid"].dtype == pl.Utf8


def test_fields_limits_what_is_read(generated: dict[str, Path]) -> None:
    data = load_audit_data(generated[".jsonl"], fields=["sex", "age", "persona"])
    assert data.frame.columns == ["sex", "age"]
    assert data.source_columns == {"sex": "sex", "age": "age"}
    assert data.missing == []
    with pytest.raises(ProfileError, match="gender"):
        load_audit_data(generated[".jsonl"], fields=["gender"])


# -- detection and aliases -------------------------------------------------------------------------


def test_detect_profile() -> None:
    assert detect_profile(NPK_COLUMNS).name == "npk"
    assert detect_profile(NPK_COLUMNS + EXTENSION_COLUMNS).name == "ingu"
    assert detect_profile(NPK_COLUMNS + ("name",)).name == "npk"  # "name" alone is too common
    assert detect_profile(["gender", "age"]).name == "generic"


def test_generic_profile_matches_aliases_and_normalises_values(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "survey.csv",
        {
            "ID": ["a", "b", "c", "d", "e", "f"],
            "Gender": ["M", "female", "남성", "여", "Male", "F"],
            "나이": ["54", " 33", "26", "70", "19", "45"],
            "시도": [
                "서울특별시",
                "경상남도",
                "전라북도",
                "강원도",
                "Gyeonggi-do",
                "North Jeolla Province",
            ],
            "District": [
                "서울특별시 강남구",
                "경남 창원시 의창구",
                "전북-전주시 완산구",
                "강원특별자치도 춘천시",
                "수원시 장안구",  # bare: placed by the row's 시도
                "익산시",
            ],
            "혼인상태": ["유배우", "미혼", "사별", "이혼", "never married", "기혼"],
            "교육정도": ["고졸", "대학교(4년제 이상)", "대학원", "전문대", "4년제 대학교", "무학"],
            "job": [" 교사 ", "무직", "간호사", "", "농부", "요리사"],
            "region_code": ["11", "38", "35", "32", "31", "35"],
        },
    )
    data = load_audit_data(path)
    assert data.profile == "generic"
    assert data.source_columns == {
        "uuid": "ID",
        "sex": "Gender",
        "age": "나이",
        "marital_status": "혼인상태",
        "education_level": "교육정도",
        "occupation": "job",
        "district": "District",
        "province": "시도",
    }
    f = data.frame
    assert f["sex"].cast(pl.Utf8).to_list() == ["남자", "여자", "남자", "여자", "남자", "여자"]
    assert f["age"].to_list() == [54, 33, 26, 70, 19, 45]
    assert f["province"].cast(pl.Utf8).to_list() == [
        "서울",
        "경상남",
        "전북",
        "강원",
        "경기",
        "전북",
    ]
    assert f["district"].cast(pl.Utf8).to_list() == [
        "서울-강남구",
        "경상남-창원시 의창구",
        "전북-전주시 완산구",
        "강원-춘천시",
        "경기-수원시 장안구",
        "전북-익산시",
    ]
    assert f["marital_status"].cast(pl.Utf8).to_list() == [
        "배우자있음",
        "미혼",
        "사별",
        "이혼",
        "미혼",
        "배우자있음",
    ]
    assert f["education_level"].cast(pl.Utf8).to_list() == [
        "고등학교",
        "4년제 대학교",
        "대학원",
        "2~3년제 전문대학",
        "4년제 대학교",
        "무학",
    ]
    assert f["occupation"].to_list() == [
        "교사",
        "무직",
        "간호사",
        None,
        "농부",
        "요리사",
    ]  # stripped; blank → null
    assert any("occupation: 1 of 6 rows have no value" in n for n in data.notes)
    assert "region_code" not in data.source_columns.values()


def test_province_spellings() -> None:
    spellings = {
        "서울": ["서울", "서울특별시", "서울시", "Seoul", "SEOUL METROPOLITAN CITY"],
        "경상남": ["경상남", "경상남도", "경남", "Gyeongsangnam-do", "South Gyeongsang"],
        "전북": ["전북", "전라북도", "전북특별자치도", "Jeollabuk-do", "Jeonbuk State"],
        "강원": ["강원", "강원도", "강원특별자치도", "Gangwon-do", "Gangwon State"],
        "세종": ["세종특별자치시", "Sejong"],
        "제주": ["제주특별자치도", "제주도", "Jeju-do"],
    }
    values = [v for vs in spellings.values() for v in vs]
    expected = [k for k, vs in spellings.items() for _ in vs]
    data = _load_one_field("province", values)
    assert data.frame["province"].cast(pl.Utf8).to_list() == expected


def _load_one_field(field: str, values: list, tmp: Path | None = None) -> object:
    import tempfile

    directory = Path(tempfile.mkdtemp()) if tmp is None else tmp
    path = _write(directory / "one.parquet", {field: values})
    return load_audit_data(path)


def test_category_aliases() -> None:
    cases = {
        "sex": (["남", "여", "MALE", "Female", "m"], ["남자", "여자", "남자", "여자", "남자"]),
        "military_status": (["현역", "비현역", "active duty"], ["현역", "비현역", "현역"]),
        "employment_status": (
            ["employed", "실업", "비경제활동"],
            ["취업자", "실업자", "비경제활동인구"],
        ),
        "housing_type": (
            ["아파트", "오피스텔", "단독"],
            ["아파트", "주택 이외의 거처", "단독주택"],
        ),
        "bachelors_field": (["공학 · 제조 · 건설", "해당없음"], ["공학·제조·건설", "해당없음"]),
        "family_type": (
            ["자녀와 거주(한부모)", "혼자 거주"],
            ["자녀와 거주 (한부모)", "혼자 거주"],
        ),
        "military_service": (["군필", "병역필", "해당 없음"], ["병역필", "병역필", "해당없음"]),
        "occupation_major": (["a", "1", "9"], ["A", "1", "9"]),
        "country": (["한국", "Korea", "일본"], ["대한민국", "대한민국", "일본"]),
    }
    for field, (values, expected) in cases.items():
        frame = _load_one_field(field, values).frame  # type: ignore[attr-defined]
        assert frame[field].cast(pl.Utf8).to_list() == expected, field


def test_integer_codes_are_read_as_text(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "c.parquet", {"occupation_major": [1, 9], "occupation_code": [87321, None]}
    )
    frame = load_audit_data(path).frame
    assert frame["occupation_major"].cast(pl.Utf8).to_list() == ["1", "9"]
    assert frame["occupation_code"].to_list() == ["87321", None]


def test_boolean_active_duty_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "b.parquet", {"active_duty": [True, False, None]})
    frame = load_audit_data(path).frame
    assert frame["military_status"].cast(pl.Utf8).to_list() == ["현역", "비현역", None]


# -- --map -----------------------------------------------------------------------------------------


def test_parse_mapping() -> None:
    assert parse_mapping(["성=sex", "a=b=age", " x = - "]) == {"성": "sex", "a=b": "age", "x": "-"}
    with pytest.raises(ValueError, match="column=field"):
        parse_mapping(["sex"])


def test_map_renames_and_overrides(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "m.jsonl",
        {"sex": ["?", "?"], "성": ["남", "여"], "yrs": [30, 40], "sido": ["부산", "대구"]},
    )
    data = load_audit_data(path, mapping={"성": "sex", "yrs": "age", "sido": "-"})
    assert data.source_columns == {"sex": "성", "age": "yrs"}
    assert data.frame["sex"].cast(pl.Utf8).to_list() == ["남자", "여자"]
    assert data.frame["age"].to_list() == [30, 40]
    assert "province" in data.missing
    assert any("'sido' dropped" in n for n in data.notes)
    assert any("replaces 'sex'" in n for n in data.notes)


def test_map_works_on_top_of_npk(tmp_path: Path) -> None:
    root = _npk_shards(tmp_path / "npk")
    data = load_audit_data(root, profile="npk", mapping={"occupation": "-", "persona": "-"})
    assert "occupation" in data.missing and "persona" not in data.text_columns


def test_map_unknown_column_lists_the_columns(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.csv", {"gender": ["M"], "age": [3]})
    with pytest.raises(ProfileError) as info:
        load_audit_data(path, mapping={"sexe": "sex"})
    message = str(info.value)
    assert "m.csv" in message and "'sexe'" in message and "gender, age" in message


def test_map_unknown_field_lists_the_fields(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.csv", {"gender": ["M"]})
    with pytest.raises(ProfileError) as info:
        load_audit_data(path, mapping={"gender": "gender"})
    assert "'gender' is not a field" in str(info.value) and "marital_status" in str(info.value)


def test_unknown_profile_and_no_fields(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.csv", {"foo": ["x"]})
    with pytest.raises(ProfileError, match="unknown profile 'nvidia'"):
        load_audit_data(path, profile="nvidia")
    with pytest.raises(ProfileError, match="no audit field found.*foo"):
        load_audit_data(path)


def test_resolve_columns_without_reading() -> None:
    resolution = resolve_columns(["gender", "SEX", "Persona", "REGION", "sido"], "auto")
    assert resolution.profile == "generic"
    # A field's own name (any case) beats an alias; among aliases the first column wins.
    assert resolution.source_columns == {"sex": "SEX", "province": "REGION"}
    assert resolution.text_columns == {"persona": "Persona"}
    assert any("'gender' also looks like sex" in n for n in resolution.notes)
    assert any("'sido' also looks like province" in n for n in resolution.notes)


# -- bad values ------------------------------------------------------------------------------------


def test_unknown_category_names_file_column_row_value_and_count(tmp_path: Path) -> None:
    sexes = ["남자"] * 10 + ["X"] + ["여자"] * 5 + ["X", "기타"]
    path = _write(tmp_path / "people.parquet", {"Gender": sexes, "age": list(range(18))})
    with pytest.raises(DatasetFieldError) as info:
        load_audit_data(path)
    err = info.value
    assert (err.field, err.column, err.row, err.value, err.bad_rows) == (
        "sex",
        "Gender",
        10,
        "X",
        3,
    )
    assert err.path == str(path)
    message = str(err)
    assert "people.parquet" in message and "row 10" in message and "'Gender'" in message
    assert "'X'" in message and "3 rows" in message and "남자, 여자" in message


def test_unknown_category_in_npk_jsonl_gives_the_line(tmp_path: Path) -> None:
    rows = _npk_rows()
    rows[2]["province"] = "서울특별시청"
    path = tmp_path / "npk.jsonl"
    path.write_text(
        "\n\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )
    with pytest.raises(DatasetFieldError) as info:
        load_audit_data(path, profile="npk")
    err = info.value
    assert (err.row, err.line, err.column, err.value, err.bad_rows) == (
        2,
        5,
        "province",
        "서울특별시청",
        1,
    )
    assert "npk.jsonl" in str(err) and "line 5" in str(err)


def test_unknown_district(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "d.csv",
        {"district": ["서울-강남구", "서울-강남군"], "province": ["서울", "서울"]},
    )
    with pytest.raises(DatasetFieldError) as info:
        load_audit_data(path)
    assert (info.value.row, info.value.value) == (1, "서울-강남군")


def test_wrong_type_in_a_mapped_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "w.csv", {"나이": ["30", "31", "서른둘", "33", "x"]})
    with pytest.raises(DatasetFieldError) as info:
        load_audit_data(path)
    err = info.value
    assert (err.field, err.column, err.row, err.value, err.bad_rows) == (
        "age",
        "나이",
        2,
        "서른둘",
        2,
    )
    assert "w.csv" in str(err)


def test_wrong_type_in_a_known_column_is_a_field_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "w.jsonl", {"age": [30, 31, 32]})
    path.write_text(path.read_text("utf-8").replace("31", '"abc"'), encoding="utf-8")
    with pytest.raises(DatasetFieldError) as info:
        load_audit_data(path)
    err = info.value
    assert (err.field, err.column, err.row, err.line, err.value) == ("age", "age", 1, 2, "abc")


def test_float_where_text_is_expected(tmp_path: Path) -> None:
    path = _write(tmp_path / "f.parquet", {"sex": [None, 1.5, 2.0]})
    with pytest.raises(DatasetReadError) as info:
        load_audit_data(path)
    assert (info.value.column, info.value.row, info.value.value) == ("sex", 1, 1.5)


def test_implausible_age(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.parquet", {"나이": [30, -1, 200]})
    with pytest.raises(DatasetFieldError) as info:
        load_audit_data(path)
    assert (info.value.row, info.value.value, info.value.bad_rows) == (1, -1, 2)


def test_missing_field_is_not_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.parquet", {"sex": ["남자"], "age": [40]})
    data = load_audit_data(path)
    assert data.frame.columns == ["sex", "age"]
    assert data.missing == [f for f in AUDIT_FIELDS if f not in ("sex", "age")]
    assert data.text_columns == {}
