"""Respondent groups: the labels published survey tables break answers down by, computed from records.

``group_labels(table, "age_band", ["18-29", …, "70+"])`` gives every row its band in the reference's own
labels, so simulated and real shares line up cell for cell. Known group variables:

``total``      everyone (``전체``)
``sex``        ``남자`` / ``여자``
``age_band``   bands written ``A-B`` or ``A+`` (default: KGSS's 18-29 … 70+)
``province``   NPK's province labels (``서울``, ``경상남`` …)
``region``     the pollsters' 8 regions: 서울, 인천/경기, 강원, 대전/세종/충청, 광주/전라, 대구/경북,
               부산/울산/경남, 제주 (``·`` and ``/`` are the same separator)
``education``  ``4년제 대졸 이상`` (a 4-year degree or a graduate school) / ``4년제 대졸 미만``
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

GROUP_VARS: tuple[str, ...] = ("total", "sex", "age_band", "province", "region", "education")
KGSS_AGE_BANDS: tuple[str, ...] = ("18-29", "30-39", "40-49", "50-59", "60-69", "70+")
#: Columns of the record table each group variable is computed from.
SOURCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "total": (), "sex": ("sex",), "age_band": ("age",), "province": ("province",), "region": ("province",),
    "education": ("education_level",),
}
REGIONS: dict[str, str] = {
    "서울": "서울", "인천": "인천/경기", "경기": "인천/경기", "강원": "강원", "대전": "대전/세종/충청",
    "세종": "대전/세종/충청", "충청북": "대전/세종/충청", "충청남": "대전/세종/충청", "광주": "광주/전라",
    "전북": "광주/전라", "전라북": "광주/전라", "전라남": "광주/전라", "대구": "대구/경북", "경상북": "대구/경북",
    "부산": "부산/울산/경남", "울산": "부산/울산/경남", "경상남": "부산/울산/경남", "제주": "제주",
}
DEGREE, NO_DEGREE = "4년제 대졸 이상", "4년제 대졸 미만"
_DEGREE_LEVELS = frozenset({"4년제 대학교", "대학원"})
_BAND = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)|\+)\s*(?:세)?\s*$")


class GroupError(ValueError):
    """A group variable or band label that cannot be computed from the records."""


def normalise_label(group_var: str, label: str) -> str:
    """A reference table's group label in this module's spelling (``부산·울산·경남`` → ``부산/울산/경남``)."""
    label = label.strip()
    if group_var == "region":
        return label.replace("·", "/").replace(" ", "")
    if group_var == "age_band":
        return label.replace("세", "").replace(" ", "")
    return label


def parse_bands(labels: Sequence[str]) -> list[tuple[int, int]]:
    """``["18-29", "70+"]`` → ``[(18, 29), (70, 200)]`` (inclusive); a bad label is a :class:`GroupError`."""
    bands = []
    for label in labels:
        m = _BAND.match(label)
        if not m:
            raise GroupError(f"age band {label!r} is not written 'A-B' or 'A+'")
        low = int(m.group(1))
        high = int(m.group(2)) if m.group(2) else 200
        if high < low:
            raise GroupError(f"age band {label!r} ends before it starts")
        bands.append((low, high))
    return bands


def group_labels(table: pa.Table, group_var: str, levels: Sequence[str] | None = None) -> np.ndarray:
    """Each row's label for ``group_var`` (object array; ``None`` where a row falls in no level).

    Parameters
    ----------
    table : pa.Table
        Records with the columns in :data:`SOURCE_COLUMNS`.
    group_var : str
        One of :data:`GROUP_VARS`.
    levels : sequence of str, optional
        For ``age_band``: the band labels (default :data:`KGSS_AGE_BANDS`); ignored otherwise.
    """
    if group_var not in GROUP_VARS:
        raise GroupError(f"unknown group variable {group_var!r}; known: {', '.join(GROUP_VARS)}")
    missing = [c for c in SOURCE_COLUMNS[group_var] if c not in table.column_names]
    if missing:
        raise GroupError(f"group {group_var!r} needs column(s) {', '.join(missing)}, which the records lack")
    n = table.num_rows
    if group_var == "total":
        return np.full(n, "전체", dtype=object)
    if group_var == "age_band":
        ages = np.asarray(table.column("age").to_numpy(zero_copy_only=False), dtype=float)
        labels = list(levels or KGSS_AGE_BANDS)
        out = np.full(n, None, dtype=object)
        for label, (low, high) in zip(labels, parse_bands(labels)):
            out[(ages >= low) & (ages <= high)] = normalise_label("age_band", label)
        return out
    column = table.column(SOURCE_COLUMNS[group_var][0]).combine_chunks()
    if group_var == "region":  # map the few distinct provinces, not every row
        encoded = column.cast(pa.string()).dictionary_encode()
        regions = np.array([REGIONS.get(v) for v in encoded.dictionary.to_pylist()] + [None], dtype=object)
        return regions[pc.fill_null(encoded.indices, len(regions) - 1).to_numpy(zero_copy_only=False)]
    values = column.to_numpy(zero_copy_only=False).astype(object)
    if group_var == "education":
        return np.where(np.isin(values, list(_DEGREE_LEVELS)), DEGREE, NO_DEGREE).astype(object)
    return values


def level_codes(labels: np.ndarray, levels: Sequence[str]) -> np.ndarray:
    """Index of each label in ``levels`` (−1 for None or a label not there), without a per-row loop."""
    encoded = pa.array(labels, pa.string()).dictionary_encode()
    position = {level: i for i, level in enumerate(levels)}
    lookup = np.array([position.get(v, -1) for v in encoded.dictionary.to_pylist()] + [-1], dtype=np.int64)
    indices = pc.fill_null(encoded.indices, len(lookup) - 1).to_numpy(zero_copy_only=False)
    return lookup[indices]


def levels_present(labels: np.ndarray) -> list[str]:
    """The distinct non-None labels, sorted."""
    return sorted(pc.unique(pa.array(labels, pa.string()).drop_null()).to_pylist())
