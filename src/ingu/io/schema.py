"""The record schema: NPK's 26 columns in NPK's order, then ingu's extension columns.

Categorical columns are typed ``dictionary<int32, string>`` so the sampler hands over integer codes
and one vocabulary per column; strings are materialised only when a writer needs them. On disk every
column is a plain NPK type (``string`` / ``int64``): see :func:`storage_schema`.

NPK facts this module encodes (``nvidia/Nemotron-Personas-Korea``):

- column order: ``uuid``, 7 narratives, 6 attribute fields, 12 demographic fields (``sex`` …
  ``country``);
- ``age`` is ``int64``, every other column ``string``; there are no nulls;
- ``uuid`` is 32 lowercase hex digits (a UUID4 without dashes);
- ``skills_and_expertise_list`` / ``hobbies_and_interests_list`` are *strings* holding a Python list
  repr (``"['a', 'b']"``), not Arrow lists.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

#: Arrow type of a categorical column: codes into a per-column vocabulary.
CATEGORY = pa.dictionary(pa.int32(), pa.string())

NARRATIVE_COLUMNS: tuple[str, ...] = (
    "professional_persona",
    "sports_persona",
    "arts_persona",
    "travel_persona",
    "culinary_persona",
    "family_persona",
    "persona",
)
ATTRIBUTE_COLUMNS: tuple[str, ...] = (
    "cultural_background",
    "skills_and_expertise",
    "skills_and_expertise_list",
    "hobbies_and_interests",
    "hobbies_and_interests_list",
    "career_goals_and_ambitions",
)
#: Free-text columns a narrator fills; empty strings until then.
TEXT_COLUMNS: tuple[str, ...] = NARRATIVE_COLUMNS + ATTRIBUTE_COLUMNS
DEMOGRAPHIC_COLUMNS: tuple[str, ...] = (
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
#: NPK's 26 columns, in NPK's order.
NPK_COLUMNS: tuple[str, ...] = ("uuid",) + TEXT_COLUMNS + DEMOGRAPHIC_COLUMNS
#: ingu's columns after NPK's, in order.
EXTENSION_COLUMNS: tuple[str, ...] = (
    "name",
    "surname",
    "given_name",
    "birth_year",
    "employment_status",
    "occupation_code",
    "occupation_major",
    "military_service",
)

SEX_LABELS: tuple[str, ...] = ("남자", "여자")
MILITARY_STATUS_LABELS: tuple[str, ...] = ("현역", "비현역")
COUNTRY_LABEL = "대한민국"
EMPLOYMENT_STATUS_LABELS: tuple[str, ...] = ("취업자", "실업자", "비경제활동인구")
#: KSCO-7 major groups: ``1``–``9`` and ``A`` (armed forces).
OCCUPATION_MAJOR_LABELS: tuple[str, ...] = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "A")
MILITARY_SERVICE_LABELS: tuple[str, ...] = (
    "현역병",
    "직업군인",
    "사회복무요원",
    "병역필",
    "면제",
    "미필",
    "해당없음",
)

_NULLABLE = frozenset({"occupation_code", "occupation_major"})
_CATEGORICAL = frozenset(
    {"sex", "marital_status", "military_status", "family_type", "housing_type", "education_level"}
    | {"bachelors_field", "occupation", "district", "province", "country"}
    | {"surname", "given_name", "employment_status", "occupation_code", "occupation_major"}
    | {"military_service"}
)
_INTEGER = frozenset({"age", "birth_year"})


def _field(name: str) -> pa.Field:
    if name in _INTEGER:
        type_ = pa.int64()
    elif name in _CATEGORICAL:
        type_ = CATEGORY
    else:
        type_ = pa.string()
    return pa.field(name, type_, nullable=name in _NULLABLE)


#: The in-memory record schema (34 columns). Categorical columns are dictionary-typed.
RECORD_SCHEMA: pa.Schema = pa.schema([_field(n) for n in NPK_COLUMNS + EXTENSION_COLUMNS])
#: Columns of :data:`RECORD_SCHEMA` typed :data:`CATEGORY`, in schema order.
CATEGORICAL_COLUMNS: tuple[str, ...] = tuple(f.name for f in RECORD_SCHEMA if f.type == CATEGORY)


class SchemaError(ValueError):
    """A table does not fit the schema it is written under."""


def storage_schema(schema: pa.Schema = RECORD_SCHEMA) -> pa.Schema:
    """The schema a reader sees in a written file.

    Dictionary columns become their value type and every field is nullable, as in NPK's Parquet
    files, so ``pyarrow.parquet.read_table`` / ``datasets`` / polars read plain NPK-typed columns
    (``datasets`` refuses dictionary-typed Arrow columns).
    """
    fields = []
    for f in schema:
        type_ = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
        fields.append(pa.field(f.name, type_, nullable=True))
    return pa.schema(fields)


def categorical(
    codes: np.ndarray, vocabulary: Sequence[str] | pa.Array, *, null_code: int | None = -1
) -> pa.DictionaryArray:
    """A categorical column from integer codes and the vocabulary they index.

    Parameters
    ----------
    codes
        Integer array, shape ``(n,)``; ``codes[i]`` indexes ``vocabulary``.
    vocabulary
        The column's labels, in code order.
    null_code
        Codes equal to this value become nulls (``None``: no null code).

    Returns
    -------
    pyarrow.DictionaryArray
        Typed :data:`CATEGORY`; only the vocabulary is held as strings.
    """
    codes = np.asarray(codes)
    if codes.ndim != 1 or not np.issubdtype(codes.dtype, np.integer):
        raise SchemaError(
            f"codes must be a 1-d integer array, got {codes.dtype} of shape {codes.shape}"
        )
    if not isinstance(vocabulary, pa.Array):
        vocabulary = pa.array(vocabulary, pa.string())
    dictionary = vocabulary.cast(pa.string())
    mask = None if null_code is None else codes == null_code
    if mask is not None and mask.any():
        indices = np.where(mask, 0, codes)
    else:
        mask, indices = None, codes
    if len(indices) and (indices.min() < 0 or indices.max() >= len(dictionary)):
        raise SchemaError(
            f"codes span [{indices.min()}, {indices.max()}] "
            f"but the vocabulary has {len(dictionary)} labels"
        )
    indices = indices.astype(np.int32, copy=False)
    return pa.DictionaryArray.from_arrays(indices, dictionary, mask=mask, safe=False)


def empty_text_column(n: int) -> pa.StringArray:
    """``n`` empty strings, almost free: a zeroed offsets buffer (paged in lazily), no characters."""
    offsets = pa.py_buffer(np.zeros(n + 1, dtype=np.int32))
    return pa.Array.from_buffers(pa.string(), n, [None, offsets, pa.py_buffer(b"")])


def conform_table(
    table: pa.Table | pa.RecordBatch, schema: pa.Schema = RECORD_SCHEMA
) -> pa.Table:
    """``table`` with exactly ``schema``'s columns, order and types, or a :class:`SchemaError`.

    Columns may arrive in any order. Accepted conversions: string ↔ dictionary-of-string (any index
    width), large ↔ plain string, integer → wider or narrower integer (checked for overflow), and an
    all-null column into a nullable field. Anything else — a missing, extra or duplicate column, a
    number where text is expected, a null in a required field — raises, naming the column.
    """
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    names = table.column_names
    duplicates = sorted({n for n in names if names.count(n) > 1})
    missing = [n for n in schema.names if n not in names]
    extra = [n for n in names if n not in schema.names]
    if duplicates or missing or extra:
        parts = [
            f"{label}: {', '.join(cols)}"
            for label, cols in (
                ("missing", missing),
                ("unexpected", extra),
                ("duplicated", duplicates),
            )
            if cols
        ]
        raise SchemaError("table does not match the schema (" + "; ".join(parts) + ")")
    columns = [_conform_column(table.column(f.name), f) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def _kind(type_: pa.DataType) -> str:
    if pa.types.is_dictionary(type_):
        return "text" if _kind(type_.value_type) == "text" else "other"
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return "text"
    if pa.types.is_string_view(type_):
        return "text"
    if pa.types.is_integer(type_):
        return "integer"
    if pa.types.is_null(type_):
        return "null"
    return "other"


def _conform_column(column: pa.ChunkedArray, field: pa.Field) -> pa.ChunkedArray:
    source, target = _kind(column.type), _kind(field.type)
    if column.type != field.type:
        if not (source == target or (source == "null" and field.nullable)):
            raise SchemaError(f"column {field.name!r} is {column.type}, expected {field.type}")
        try:
            column = column.cast(field.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise SchemaError(
                f"column {field.name!r} cannot be cast to {field.type}: {exc}"
            ) from None
    if not field.nullable and column.null_count:
        raise SchemaError(f"column {field.name!r} has {column.null_count} nulls but is required")
    return column
