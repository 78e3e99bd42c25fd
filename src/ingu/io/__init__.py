"""Record schema (NPK's 26 columns + extensions) and atomic streaming writers.

>>> from ingu.io import RECORD_SCHEMA, open_writer
>>> with open_writer("people.parquet", RECORD_SCHEMA) as writer:  # doctest: +SKIP
...     for batch in batches:
...         writer.write(batch)
"""

from __future__ import annotations

from ingu.io.schema import (
    ATTRIBUTE_COLUMNS,
    CATEGORICAL_COLUMNS,
    CATEGORY,
    DEMOGRAPHIC_COLUMNS,
    EXTENSION_COLUMNS,
    NARRATIVE_COLUMNS,
    NPK_COLUMNS,
    RECORD_SCHEMA,
    TEXT_COLUMNS,
    SchemaError,
    categorical,
    conform_table,
    empty_text_column,
    storage_schema,
)
from ingu.io.writers import (
    FORMATS,
    ROW_GROUP_SIZE,
    OutputError,
    RecordWriter,
    check_output,
    format_for,
    open_writer,
    write_records,
)

__all__ = [
    "ATTRIBUTE_COLUMNS",
    "CATEGORICAL_COLUMNS",
    "CATEGORY",
    "DEMOGRAPHIC_COLUMNS",
    "EXTENSION_COLUMNS",
    "FORMATS",
    "NARRATIVE_COLUMNS",
    "NPK_COLUMNS",
    "RECORD_SCHEMA",
    "ROW_GROUP_SIZE",
    "TEXT_COLUMNS",
    "OutputError",
    "RecordWriter",
    "SchemaError",
    "categorical",
    "conform_table",
    "empty_text_column",
    "check_output",
    "format_for",
    "open_writer",
    "storage_schema",
    "write_records",
]
