"""Checks of the narrative columns (paper §9.3, §10), streamed batch by batch.

NPK's thirteen text columns are ~6 GB for a million rows, so they are never held at once: each batch
is scanned with polars string kernels and only counters survive it — length histograms, Hangul
ratios, PII pattern hits, 64-bit hashes for duplicate detection, and agreement of the text with the
record (name, age, sex). The person's name is also extracted (``○○○ 씨``) for the name axis when the
dataset has no name field.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from ingu.audit.axes.base import clean, table

NAME_PATTERN = r"([가-힣]{2,4}) 씨"
#: "54세의 …", "올해 54세" — an age stated about the person; bare "N세" also names children's ages.
AGE_PATTERN = r"(?:올해 |나이 )?(\d{2,3})세(?:의 |인 |로 |가 된 )"
PII_PATTERNS: dict[str, str] = {
    "phone number": r"01[016789][-. ]?\d{3,4}[-. ]?\d{4}|0\d{1,2}-\d{3,4}-\d{4}",
    "resident registration number": r"\d{6}-?[1-8]\d{6}",
    "e-mail address": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
}
#: Words that give a narrative's sex away when a married person mentions their spouse.
SPOUSE_OF = {"남자": "남편", "여자": "아내"}
MAX_LENGTH = 4096


@dataclass
class _ColumnStats:
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(MAX_LENGTH + 1, dtype=np.int64))
    empty: int = 0
    low_hangul: int = 0
    pii: dict[str, int] = field(default_factory=dict)
    hashes: list[np.ndarray] = field(default_factory=list)
    name_checked: int = 0
    name_missing: int = 0
    age_checked: int = 0
    age_contradictions: int = 0
    spouse_checked: int = 0
    spouse_contradictions: int = 0


@dataclass
class TextReport:
    """What the text pass found: the report section, and names extracted per row (or None)."""

    section: dict[str, Any]
    extracted_names: pl.Series | None


def scan_text(batches: Iterator[tuple[int, pa.RecordBatch]], columns: dict[str, str], records: pl.DataFrame,
              extract_names: bool) -> TextReport:
    """Scan the text columns.

    Parameters
    ----------
    batches : iterator of (row offset, record batch)
        The text columns, in file order (``ingu.io.readers.iter_batches``).
    columns : dict
        Canonical text field → source column name.
    records : polars.DataFrame
        The structured fields in the same row order (``name``, ``age``, ``sex`` used when present).
    extract_names : bool
        Also return the ``○○○ 씨`` name of each row (from ``persona``, else the first narrative).
    """
    stats = {f: _ColumnStats(pii={k: 0 for k in PII_PATTERNS}) for f in columns}
    name_source = "persona" if "persona" in columns else next(iter(columns), None)
    names: list[pl.Series] = []
    rows = 0
    for offset, batch in batches:
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        rec = records.slice(offset, frame.height)
        rows += frame.height
        if extract_names and name_source is not None:
            names.append(frame[columns[name_source]].str.extract(NAME_PATTERN, 1))
        for name, column in columns.items():
            _scan_column(frame[column].cast(pl.Utf8), rec, stats[name])
    section = _section(stats, rows)
    extracted = pl.concat(names).alias("extracted_name") if names else None
    if extracted is not None:
        section["names_extracted"] = int(extracted.len() - extracted.null_count())
    return TextReport(clean(section), extracted)


def _scan_column(text: pl.Series, records: pl.DataFrame, stats: _ColumnStats) -> None:
    df = pl.DataFrame({"t": text}).with_columns(pl.col("t").fill_null(""))
    lengths = df["t"].str.len_chars().to_numpy()
    stats.lengths += np.bincount(np.minimum(lengths, MAX_LENGTH), minlength=MAX_LENGTH + 1)
    non_empty = lengths > 0
    stats.empty += int((~non_empty).sum())
    hangul = df["t"].str.count_matches(r"[가-힣]").to_numpy()
    letters = df["t"].str.count_matches(r"[^\s\d\p{P}]").to_numpy()
    stats.low_hangul += int((non_empty & (hangul < 0.5 * np.maximum(letters, 1))).sum())
    for label, pattern in PII_PATTERNS.items():
        stats.pii[label] += int(df["t"].str.contains(pattern).sum())
    stats.hashes.append(df.filter(pl.col("t") != "")["t"].hash(seed=0).to_numpy())

    if "name" in records.columns:
        checked = df.with_columns(records["name"].alias("name")).filter(
            pl.col("name").is_not_null() & pl.col("t").str.contains(NAME_PATTERN))
        stats.name_checked += checked.height
        stats.name_missing += int((~checked["t"].str.contains(checked["name"], literal=True)).sum()) if checked.height else 0
    if "age" in records.columns:
        stated = df["t"].str.extract(AGE_PATTERN, 1).cast(pl.Int64, strict=False)
        mask = stated.is_not_null() & (stated >= 19)
        stats.age_checked += int(mask.sum())
        stats.age_contradictions += int((mask & ((stated - records["age"]).abs() > 1)).sum())
    if {"sex", "marital_status"} <= set(records.columns):
        married = records["marital_status"] == "배우자있음"
        own = records["sex"].replace_strict(SPOUSE_OF, default=None)
        mentions_husband = df["t"].str.contains("남편")
        mentions_wife = df["t"].str.contains("아내")
        one_word = married & (mentions_husband ^ mentions_wife)
        stats.spouse_checked += int(one_word.sum())
        # A married man whose narrative speaks only of "남편" (or a woman only of "아내") reads as the other sex.
        wrong = one_word & (((own == "남편") & mentions_husband) | ((own == "아내") & mentions_wife))
        stats.spouse_contradictions += int(wrong.sum())


def _quantile(hist: np.ndarray, q: float) -> int:
    cumulative = np.cumsum(hist)
    return int(np.searchsorted(cumulative, q * cumulative[-1])) if cumulative[-1] else 0


def _section(stats: dict[str, _ColumnStats], rows: int) -> dict[str, Any]:
    length_rows, pii_rows, agreement_rows = [], [], []
    duplicates_total = 0
    for name, s in stats.items():
        hist = s.lengths.copy()
        hist[0] = 0  # empty strings are counted separately
        hashes = np.concatenate(s.hashes) if s.hashes else np.empty(0, dtype=np.uint64)
        _, counts = np.unique(hashes, return_counts=True)
        duplicates = int((counts[counts > 1] - 1).sum())
        duplicates_total += duplicates
        length_rows.append([name, rows - s.empty, s.empty, _quantile(hist, 0.05), _quantile(hist, 0.5),
                            _quantile(hist, 0.95), s.low_hangul, duplicates])
        pii_rows.append([name, *(s.pii[k] for k in PII_PATTERNS)])
        agreement_rows.append([name, s.name_checked, s.name_missing, s.age_checked, s.age_contradictions,
                               s.spouse_checked, s.spouse_contradictions])
    non_empty = sum(rows - s.empty for s in stats.values())
    if non_empty == 0:
        return {"summary": f"all {len(stats)} text columns are empty over {rows:,} rows (no narrator ran); "
                           "nothing to check", "all_empty": True, "tables": []}
    pii_total = sum(sum(s.pii.values()) for s in stats.values())
    age_bad = sum(s.age_contradictions for s in stats.values())
    name_bad = sum(s.name_missing for s in stats.values())
    sex_bad = sum(s.spouse_contradictions for s in stats.values())
    return {
        "summary": f"{len(stats)} text columns over {rows:,} rows: {pii_total} PII-pattern hits, {duplicates_total:,} "
                   f"duplicate narratives, {name_bad:,} narratives naming someone else, {age_bad:,} stated ages "
                   f"contradicting the record, {sex_bad:,} spouse words implying the other sex.",
        "all_empty": False, "narratives": non_empty, "pii_hits": pii_total, "duplicates": duplicates_total, "name_contradictions": name_bad,
        "age_contradictions": age_bad, "sex_contradictions": sex_bad,
        "tables": [
            table("Narrative lengths (characters)", ["column", "non-empty", "empty", "p5", "median", "p95",
                                                     "mostly non-Hangul", "duplicates"], length_rows),
            table("PII patterns (narratives with a hit)", ["column", *PII_PATTERNS], pii_rows,
                  note="Phone numbers (010-…, area codes), resident-registration numbers (YYMMDD-NNNNNNN), e-mail addresses."),
            table("Agreement with the record", ["column", "with a ○○○ 씨 name", "… not the record's name",
                                                "stating an age", "… contradicting it (> 1 year)",
                                                "married, one spouse word", "… implying the other sex"],
                  agreement_rows,
                  note="Name: the record's name must appear where the text names a person ○○○ 씨. Age: 'N세의', 'N세인'. "
                       "Sex: a married man who mentions only 남편, or a married woman only 아내 — a heuristic."),
        ],
    }
