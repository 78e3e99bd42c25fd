"""Output columns: how each record column is computed from the model's variable codes.

Every column is a function of exactly one model variable (``source``); that is what lets a
``--where`` condition on any column become evidence on one variable (see :mod:`ingu.sample.where`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ingu.io.schema import RECORD_SCHEMA, TEXT_COLUMNS, categorical, empty_text_column
from ingu.model.context import REFERENCE_YEAR
from ingu.model.network import Network
from ingu.sample.where import Column

NOT_EMPLOYED_LABEL = "무직"
ACTIVE = ("현역병", "직업군인")


@dataclass(frozen=True)
class OutputColumn:
    """A record column: ``values[code]`` of its source variable (``None`` → null).

    For text columns, ``dictionary`` holds the distinct labels and ``inverse[code]`` the label's index
    (-1 for null), computed once so that rendering a batch is a single integer gather.
    """

    name: str
    source: str
    values: np.ndarray  # object array of str/None, or int64
    numeric: bool = False
    dictionary: tuple[str, ...] = ()
    inverse: np.ndarray | None = None


def output_columns(network: Network, ksco_names: dict[str, str]) -> dict[str, OutputColumn]:
    """The record columns this network can produce, keyed by column name."""
    def labels(name: str) -> np.ndarray:
        return np.array(network[name].labels, dtype=object)

    out: dict[str, OutputColumn] = {}

    def add(name: str, source: str, values: np.ndarray, numeric: bool = False) -> None:
        if source not in network:
            return
        if numeric:
            out[name] = OutputColumn(name, source, values, numeric=True)
        else:
            dictionary, inverse = _vocabulary(values)
            out[name] = OutputColumn(name, source, values, False, dictionary, inverse)

    add("sex", "sex", labels("sex"))
    ages = np.array([int(a) for a in network["age"].labels], dtype=np.int64)
    add("age", "age", ages, numeric=True)
    add("birth_year", "age", REFERENCE_YEAR - ages, numeric=True)
    add("province", "province", labels("province"))
    add("district", "district", labels("district"))
    add("education_level", "education", labels("education"))
    add("marital_status", "marital", labels("marital"))
    add("bachelors_field", "bachelors_field", labels("bachelors_field"))
    add("employment_status", "employment_status", labels("employment_status"))
    for name in ("family_type", "housing_type", "surname", "given_name", "military_service"):
        if name in network:
            add(name, name, labels(name))
    if "military_service" in network:
        mil = labels("military_service")
        add("military_status", "military_service",
            np.array(["현역" if m in ACTIVE else "비현역" for m in mil], dtype=object))
    if "occ_title" in network:
        codes = labels("occ_title")
        employed = codes != "-"
        add("occupation", "occ_title",
            np.array([ksco_names[c] if e else NOT_EMPLOYED_LABEL for c, e in zip(codes, employed)], dtype=object))
        add("occupation_code", "occ_title", np.array([c if e else None for c, e in zip(codes, employed)], dtype=object))
        add("occupation_major", "occ_title",
            np.array([c[0] if e else None for c, e in zip(codes, employed)], dtype=object))
    return out


def where_columns(columns: dict[str, OutputColumn]) -> dict[str, Column]:
    """The columns a ``--where`` expression may use (all but the composite ``name``)."""
    out = {}
    for c in columns.values():
        if c.numeric:
            out[c.name] = Column(c.name, c.source, c.values)
        else:
            null = np.array([v is None for v in c.values])
            values = np.array(["" if v is None else v for v in c.values], dtype=object)
            out[c.name] = Column(c.name, c.source, values, null if null.any() else None)
    return out


def render(columns: dict[str, OutputColumn], codes: dict[str, np.ndarray], uuid_bytes: np.ndarray) -> pa.Table:
    """Materialise one batch of records in the record schema (strings only at this point)."""
    n = len(uuid_bytes)
    arrays: dict[str, pa.Array] = {"uuid": _hex(uuid_bytes)}
    for name in TEXT_COLUMNS:
        arrays[name] = empty_text_column(n)
    for name, col in columns.items():
        src = codes[col.source]
        if col.numeric:
            arrays[name] = pa.array(col.values[src])
        else:
            arrays[name] = categorical(col.inverse[src], col.dictionary)
    arrays["country"] = categorical(np.zeros(n, dtype=np.int32), ["대한민국"])
    for name in ("family_type", "housing_type"):
        arrays.setdefault(name, categorical(np.zeros(n, dtype=np.int32), [""]))
    if "surname" in arrays and "given_name" in arrays:
        import pyarrow.compute as pc

        arrays["name"] = pc.binary_join_element_wise(
            arrays["surname"].cast(pa.string()), arrays["given_name"].cast(pa.string()), "")
    return pa.table([arrays[f.name] for f in RECORD_SCHEMA], schema=RECORD_SCHEMA)


def _vocabulary(values: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    """Distinct labels of a column (first-seen order) and each source code's label index (-1: null)."""
    labels: list[str] = []
    index: dict[str, int] = {}
    inverse = np.empty(len(values), dtype=np.int32)
    for i, v in enumerate(values):  # once per vocabulary entry at plan time, never per record
        if v is None:
            inverse[i] = -1
            continue
        inverse[i] = index.setdefault(v, len(labels))
        if inverse[i] == len(labels):
            labels.append(v)
    return tuple(labels), inverse


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex(raw: np.ndarray) -> pa.Array:
    """32-hex uuid strings (version 4 layout) from ``(n, 16)`` random bytes, without per-row Python."""
    raw = raw.copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    chars = np.empty((len(raw), 32), dtype=np.uint8)
    chars[:, 0::2] = _HEX[raw >> 4]
    chars[:, 1::2] = _HEX[raw & 0x0F]
    n = len(raw)
    offsets = pa.py_buffer((np.arange(n + 1, dtype=np.int32) * 32).tobytes())
    return pa.Array.from_buffers(pa.string(), n, [None, offsets, pa.py_buffer(chars.tobytes())])

