"""Free-text occupation labels → KSCO-7 major groups, for ``ingu audit``.

>>> from ingu.audit.crosswalk import Crosswalk
>>> cw = Crosswalk()
>>> res = cw.map(["건물 청소원", "전직 경리 사무원, 현재 구직중", "무직", "육군 부사관"])
>>> res.major.tolist(), res.rule.tolist(), res.job_seeker.tolist()
(['9', '3', '0', 'A'], ['R2', 'R12', 'not_employed', 'R13'], [False, True, False, False])

Each distinct label is mapped once (cached on the instance) and the answers are broadcast to the rows
through Arrow dictionary indices, so a million-row column costs one hash pass plus the distinct labels.

Mapping order, first hit wins (why: docs/crosswalk.md):

1. ``R12``: "전직 X, 현재 구직중" and similar phrasings map X through steps 2–8; ``job_seeker=True``.
2. ``not_employed``: 무직, 학생, 주부, 은퇴 … and status phrases (구직중, 실직 …) → ``'0'``.
3. ``R14``: the explicit boundary table.
4. ``R13`` (military → ``'A'``), then ``R1`` … ``R11``: the paper's consistency rules as regexes.
5. ``exact``: an official KSCO-7 name (any level; the most specific level gives the code).
6. ``normalised``: official names compared without spaces, punctuation, 및, remarks, 기타/그 외, and
   up to one 종사자/종사원/원/사 suffix; used only when every candidate is in one major group.
7. ``pattern:<name>``: suffix and keyword heuristics.
8. ``unmapped``: major ``''``.

Every rule and pattern is checked against the tree (``round_trip``): no official title is sent to a
major group other than its own, so the ordering can put the rules first without overriding the tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from ingu.audit.crosswalk_rules import (
    RULE_IDS,
    BoundaryEntry,
    PatternInfo,
    RuleClause,
    RuleInfo,
    RulesError,
    RuleSet,
    clean,
    load_rules,
    name_key,
    stem,
    strip_remarks,
)
from ingu.reference import load_table

__all__ = [
    "BoundaryEntry",
    "CoverageReport",
    "Crosswalk",
    "CrosswalkResult",
    "PatternInfo",
    "RoundTripFailure",
    "RoundTripReport",
    "RuleClause",
    "RuleInfo",
    "RulesError",
    "coverage",
    "round_trip",
]

VERSION_PREFIX = "ksco7-crosswalk/1"
MAPPED_MAJORS = tuple("0123456789A")
_LEVEL_RANK = {"major": 0, "sub_major": 1, "minor": 2, "unit": 3, "detailed": 4}
# Only unit (4-character) and detailed (5-character) codes identify a title; shorter ones are groups.
_UNIT_CODE_LEN = (4, 5)
# Evaluation order of the regex rules: military first, because rank words (상사, 대장 …) and "군" contexts
# are more specific than the trade suffixes of R1–R11.
_REGEX_ORDER = ("R13", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "R11")

_Hit = tuple[str, str]  # (major, unit_code)
_Mapped = tuple[str, str, str, bool]  # (major, unit_code, rule, job_seeker)
_UNMAPPED: _Mapped = ("", "", "unmapped", False)


@dataclass(frozen=True)
class CrosswalkResult:
    """Per-row answers of :meth:`Crosswalk.map`, aligned with the input.

    ``major`` (``<U1``): ``'0'`` … ``'9'``, ``'A'``, or ``''`` when unmapped. ``unit_code`` (``<U5``): the
    KSCO-7 unit/detailed code when unambiguous, else ``''``. ``rule`` (object array of ``str``): the step
    that mapped the row. ``job_seeker`` (bool): rule 12 fired (labour-force status is not employed).
    """

    major: np.ndarray
    unit_code: np.ndarray
    rule: np.ndarray
    job_seeker: np.ndarray

    def __len__(self) -> int:
        return len(self.major)

    def to_polars(self) -> pl.DataFrame:
        """The four columns as a DataFrame (``ksco_major``, ``ksco_unit``, ``ksco_rule``, ``job_seeker``)."""
        return pl.DataFrame(
            {
                "ksco_major": self.major,
                "ksco_unit": self.unit_code,
                "ksco_rule": self.rule.astype(str),
                "job_seeker": self.job_seeker,
            }
        )


@dataclass(frozen=True)
class CoverageReport:
    """Mass-weighted coverage of a label column (see :func:`coverage`).

    ``rows_by_rule`` and ``unmapped`` hold mass (sum of counts); ``mapped_share`` and ``major_shares``
    are shares of ``total``. ``major_shares`` has a ``''`` key for the unmapped mass.
    """

    total: float
    mapped_share: float
    rows_by_rule: dict[str, float]
    unmapped: tuple[tuple[str | None, float], ...]
    major_shares: dict[str, float]
    job_seeker_share: float
    crosswalk_version: str


@dataclass(frozen=True)
class RoundTripFailure:
    """An official title that did not map to its own major group."""

    code: str
    name: str
    level: str
    expected: str
    got: str
    rule: str


@dataclass(frozen=True)
class RoundTripReport:
    """Every official KSCO-7 title mapped through the crosswalk (see :func:`round_trip`)."""

    n_titles: int
    failures: tuple[RoundTripFailure, ...]
    by_rule: dict[str, int]
    crosswalk_version: str

    @property
    def n_ok(self) -> int:
        """Titles that mapped to their own major group."""
        return self.n_titles - len(self.failures)

    @property
    def share(self) -> float:
        """``n_ok / n_titles``."""
        return self.n_ok / self.n_titles if self.n_titles else 1.0


class Crosswalk:
    """Map free-text occupation labels to KSCO-7 major groups (plus ``'0'`` not employed, ``'A'`` military).

    Parameters
    ----------
    disabled_rules : iterable of str
        Rule ids (``'R1'`` … ``'R14'``) to switch off, for the leave-one-rule-out robustness check.
    rules_file : path, optional
        An edited copy of ``ingu/audit/data/ksco_rules.yaml``; the default is the shipped file.

    Attributes
    ----------
    version : str
        ``'ksco7-crosswalk/1+<8 hex of the rules file sha256>'``, with ``'-R3-R7'`` appended for
        disabled rules; record it with any audit that uses the mapping.
    rules : tuple of RuleInfo
        R1 … R14 as loaded (all of them, including disabled ones).
    patterns : tuple of PatternInfo
        The step-(e) heuristics.
    """

    def __init__(self, disabled_rules: Iterable[str] = (), *, rules_file: str | Path | None = None) -> None:
        disabled = frozenset(disabled_rules)
        unknown = sorted(disabled - set(RULE_IDS))
        if unknown:
            raise ValueError(f"unknown rule ids {unknown}; known: {', '.join(RULE_IDS)}")
        ruleset = load_rules(rules_file)
        self._ruleset: RuleSet = ruleset
        self.disabled_rules = disabled
        self.rules: tuple[RuleInfo, ...] = tuple(sorted(ruleset.rules, key=lambda r: int(r.id[1:])))
        self.patterns: tuple[PatternInfo, ...] = ruleset.patterns
        suffix = "".join(f"-{r}" for r in sorted(disabled, key=lambda s: int(s[1:])))
        self.version = f"{VERSION_PREFIX}+{ruleset.sha256[:8]}{suffix}"
        self._build_name_index()
        self._check_codes()
        self._compile()
        self._cache: dict[str, _Mapped] = {}

    # -- construction ------------------------------------------------------------------------------

    def _build_name_index(self) -> None:
        vocab = load_table("vocab_ksco7")
        self.vocab = vocab
        by_name: dict[str, list[tuple[int, str, str]]] = {}
        by_key: dict[str, list[tuple[int, str, str]]] = {}
        by_stem: dict[str, list[tuple[int, str, str]]] = {}
        self._code_level: dict[str, str] = {}
        for code, name, level, major in vocab.select("code", "name", "level", "major_code").iter_rows():
            entry = (_LEVEL_RANK[level], code, major)
            self._code_level[code] = level
            by_name.setdefault(clean(name), []).append(entry)
            key = name_key(name)
            by_key.setdefault(key, []).append(entry)
            by_stem.setdefault(stem(key), []).append(entry)
        self._exact = {k: _resolve(v) for k, v in by_name.items()}
        self._by_key = {k: _resolve(v) for k, v in by_key.items()}
        self._by_stem = {k: _resolve(v) for k, v in by_stem.items()}

    def _check_codes(self) -> None:
        """Every code the rules cite must exist in the tree (a typo would silently cite nothing)."""
        cited = [(r.id, c) for r in self.rules for c in r.codes]
        cited += [(f"pattern {p.name}", p.code) for p in self.patterns if p.code]
        missing = [f"{where}: {code}" for where, code in cited if code not in self._code_level]
        if missing:
            raise RulesError("KSCO-7 codes not in vocab_ksco7: " + "; ".join(missing))

    def _compile(self) -> None:
        rules = {r.id: r for r in self.rules if r.id not in self.disabled_rules}
        r12 = rules.get("R12")
        self._seeker = [re.compile(p) for p in r12.job_seeker_patterns] if r12 else []
        self._ne_labels = frozenset(name_key(x) for x in self._ruleset.not_employed_labels)
        self._ne_phrases = [re.compile(p) for p in self._ruleset.not_employed_phrases]
        table = rules["R14"].entries if "R14" in rules else ()
        self._table: dict[str, BoundaryEntry] = {name_key(e.label): e for e in table}
        self._regex_rules = [
            (
                rid,
                re.compile(rules[rid].exclude) if rules[rid].exclude else None,
                [(re.compile(c.pattern), re.compile(c.exclude) if c.exclude else None, c) for c in rules[rid].clauses],
            )
            for rid in _REGEX_ORDER
            if rid in rules
        ]
        self._patterns = [
            (re.compile(p.pattern), re.compile(p.exclude) if p.exclude else None, p) for p in self.patterns
        ]

    # -- one label ---------------------------------------------------------------------------------

    def _official(self, full: str, key: str) -> _Hit | None:
        """The tree's answer for a label that is (or normalises to) an official title, else None."""
        for hit in (self._exact.get(full), self._by_key.get(key), self._by_stem.get(stem(key))):
            if hit is not None:
                return hit if hit[0] else None  # ('', '') marks a name shared across majors: no answer
        return None

    def _unit(self, full: str, key: str, major: str, cited: str) -> str:
        """Unit code for a rule hit: the official title's own code if it is one, else the rule's citation."""
        official = self._official(full, key)
        if official and official[0] == major and official[1]:
            return official[1]
        return cited if len(cited) in _UNIT_CODE_LEN else ""

    def _map_base(self, full: str) -> _Mapped:
        """Steps 2–8 for a cleaned, non-empty label."""
        text = strip_remarks(full)
        key = name_key(text)
        if key in self._ne_labels or any(rx.search(full) for rx in self._ne_phrases):
            return ("0", "", "not_employed", False)
        entry = self._table.get(key)
        if entry is not None:
            return (entry.major, self._unit(full, key, entry.major, entry.code), "R14", False)
        for rid, rule_exclude, clauses in self._regex_rules:
            if rule_exclude is not None and rule_exclude.search(text):
                continue
            for rx, exclude, clause in clauses:
                if rx.search(text) and not (exclude is not None and exclude.search(text)):
                    return (clause.major, self._unit(full, key, clause.major, clause.code), rid, False)
        hit = self._exact.get(full)
        if hit and hit[0]:
            return (hit[0], hit[1], "exact", False)
        hit = self._official(full, key)
        if hit:
            return (hit[0], hit[1], "normalised", False)
        for rx, exclude, pattern in self._patterns:
            if rx.search(text) and not (exclude is not None and exclude.search(text)):
                code = pattern.code if len(pattern.code) in _UNIT_CODE_LEN else ""
                return (pattern.major, code, f"pattern:{pattern.name}", False)
        return _UNMAPPED

    def map_label(self, label: str | None) -> tuple[str, str, str, bool]:
        """Map one label: ``(major, unit_code, rule, job_seeker)``. Cached per instance."""
        if label is None:
            return _UNMAPPED
        cached = self._cache.get(label)
        if cached is not None:
            return cached
        full = clean(label)
        result = _UNMAPPED
        if full:
            for rx in self._seeker:
                m = rx.search(full)
                if m is None:
                    continue
                base = clean(m.group("base"))
                major, unit, _, _ = self._map_base(base) if base else _UNMAPPED
                # A base that is itself "not employed" or unknown says nothing about an occupation:
                # let the not-employed step take the whole label instead.
                if major not in ("", "0"):
                    result = (major, unit, "R12", True)
                break
            if result is _UNMAPPED:
                result = self._map_base(full)
        self._cache[label] = result
        return result

    # -- columns -----------------------------------------------------------------------------------

    def map(self, labels: Any) -> CrosswalkResult:
        """Map a column of labels; returns per-row arrays aligned with ``labels``.

        ``labels`` may be a sequence of ``str``/``None``, a NumPy array, a ``pyarrow`` Array or
        ChunkedArray (dictionary-encoded or not) or a ``polars`` Series; ``None`` and ``''`` are unmapped.
        """
        uniques, inverse = _factorize(labels)
        major, unit, rule, seeker = self._tables(uniques)
        return CrosswalkResult(
            major=major[inverse], unit_code=unit[inverse], rule=rule[inverse], job_seeker=seeker[inverse]
        )

    def map_unique(self, labels: Any) -> pl.DataFrame:
        """One row per distinct label (first-seen order; a null label, if present, last).

        Columns: ``label``, ``major``, ``unit_code``, ``rule``, ``job_seeker``.
        """
        uniques, inverse = _factorize(labels)
        seen = np.zeros(len(uniques) + 1, dtype=bool)
        seen[inverse] = True
        keep = [i for i in range(len(uniques)) if seen[i]]
        rows = [(uniques[i], *self.map_label(uniques[i])) for i in keep]
        if seen[-1]:
            rows.append((None, *_UNMAPPED))
        return pl.DataFrame(
            rows,
            schema={"label": pl.String, "major": pl.String, "unit_code": pl.String, "rule": pl.String}
            | {"job_seeker": pl.Boolean},
            orient="row",
        )

    def _tables(self, uniques: list[str | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per-unique answer arrays with one extra trailing slot for null rows."""
        mapped = [self.map_label(u) for u in uniques] + [_UNMAPPED]
        major = np.array([m[0] for m in mapped], dtype="<U1")
        unit = np.array([m[1] for m in mapped], dtype="<U5")
        rule = np.array([m[2] for m in mapped], dtype=object)
        seeker = np.array([m[3] for m in mapped], dtype=bool)
        return major, unit, rule, seeker

    def __repr__(self) -> str:
        return f"Crosswalk(version={self.version!r})"


def _resolve(entries: list[tuple[int, str, str]]) -> _Hit:
    """Candidates for one name/key → (major, code); ('', '') when they span several majors.

    The code is the unique candidate at the most specific level, if that level is unit or detailed.
    """
    majors = {m for _, _, m in entries}
    if len(majors) != 1:
        return ("", "")
    deepest = max(rank for rank, _, _ in entries)
    codes = {c for rank, c, _ in entries if rank == deepest}
    code = next(iter(codes)) if len(codes) == 1 and deepest >= _LEVEL_RANK["unit"] else ""
    return (majors.pop(), code)


def _to_arrow(labels: Any) -> pa.Array | pa.ChunkedArray:
    if isinstance(labels, (pa.Array, pa.ChunkedArray)):
        return labels
    if isinstance(labels, pl.Series):
        return labels.to_arrow()
    if isinstance(labels, np.ndarray):
        return pa.array(labels, from_pandas=True)  # from_pandas: NaN in object arrays → null
    if isinstance(labels, (str, bytes)):
        raise TypeError("labels must be a column of strings, not a single string")
    return pa.array(labels if isinstance(labels, Sequence) else list(labels), type=pa.large_string())


def _factorize(labels: Any) -> tuple[list[str | None], np.ndarray]:
    """Distinct values and, per row, the index of its value (``len(values)`` for null rows)."""
    arr = _to_arrow(labels)
    if isinstance(arr, pa.ChunkedArray):
        if pa.types.is_dictionary(arr.type):
            arr = arr.unify_dictionaries()
            dictionary = arr.chunk(0).dictionary if arr.num_chunks else pa.array([], pa.large_string())
            indices = pa.chunked_array([c.indices for c in arr.chunks], type=arr.type.index_type)
            return _finish(dictionary, indices)
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_dictionary(arr.type):
        return _finish(arr.dictionary, arr.indices)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        if pa.types.is_null(arr.type) or pa.types.is_string_view(arr.type):
            arr = arr.cast(pa.large_string())
        else:
            raise TypeError(f"labels must be strings, got Arrow type {arr.type}")
    encoded = pc.dictionary_encode(arr)
    return _finish(encoded.dictionary, encoded.indices)


def _finish(dictionary: pa.Array, indices: pa.Array | pa.ChunkedArray) -> tuple[list[str | None], np.ndarray]:
    values = dictionary.cast(pa.large_string()).to_pylist()
    inverse = pc.fill_null(indices.cast(pa.int64()), len(values))
    if isinstance(inverse, pa.ChunkedArray):
        inverse = inverse.combine_chunks() if inverse.num_chunks else pa.array([], pa.int64())
    return values, inverse.to_numpy(zero_copy_only=False)


def coverage(labels: Any, counts: Any = None, crosswalk: Crosswalk | None = None, *, top: int = 20) -> CoverageReport:
    """Mass-weighted coverage of ``labels`` (rows or a marginal) under ``crosswalk`` (default: all rules).

    Parameters
    ----------
    labels : column of str
        Anything :meth:`Crosswalk.map` accepts; repeated labels are summed.
    counts : array-like of numbers, optional
        Weight per element of ``labels`` (e.g. a marginal's ``count``); default 1 each.
    top : int
        How many unmapped labels to list, largest mass first.
    """
    cw = crosswalk or Crosswalk()
    uniques, inverse = _factorize(labels)
    weights = None if counts is None else np.asarray(_to_numpy(counts), dtype=np.float64)
    if weights is not None and weights.shape != inverse.shape:
        raise ValueError(f"counts has {weights.shape[0]} values for {inverse.shape[0]} labels")
    mass = np.bincount(inverse, weights=weights, minlength=len(uniques) + 1)
    major, _, rule, seeker = cw._tables(uniques)
    total = float(mass.sum())
    share = (lambda x: float(x) / total) if total else (lambda x: 0.0)
    mapped = major != ""
    rows_by_rule: dict[str, float] = {}
    for r, m in zip(rule.tolist(), mass.tolist(), strict=True):
        if m:
            rows_by_rule[r] = rows_by_rule.get(r, 0.0) + m
    order = np.argsort(-mass, kind="stable")
    unmapped_top = tuple(
        (uniques[i] if i < len(uniques) else None, float(mass[i])) for i in order if not mapped[i] and mass[i] > 0
    )[:top]
    major_shares = {m: share(mass[major == m].sum()) for m in (*MAPPED_MAJORS, "")}
    return CoverageReport(
        total=total,
        mapped_share=share(mass[mapped].sum()),
        rows_by_rule=dict(sorted(rows_by_rule.items(), key=lambda kv: -kv[1])),
        unmapped=unmapped_top,
        major_shares=major_shares,
        job_seeker_share=share(mass[seeker].sum()),
        crosswalk_version=cw.version,
    )


def _to_numpy(values: Any) -> np.ndarray:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.to_numpy(zero_copy_only=False) if isinstance(values, pa.Array) else values.to_numpy()
    if isinstance(values, pl.Series):
        return values.to_numpy()
    return np.asarray(values)


def round_trip(crosswalk: Crosswalk | None = None) -> RoundTripReport:
    """Map every official KSCO-7 title (all levels) and check it lands in its own major group.

    Titles of the armed-forces branch must map to ``'A'``. ``by_rule`` counts which step mapped them.
    """
    cw = crosswalk or Crosswalk()
    vocab = cw.vocab
    res = cw.map(vocab["name"])
    expected = vocab["major_code"].to_numpy().astype(str)
    bad = np.flatnonzero(res.major != expected)
    failures = tuple(
        RoundTripFailure(
            code=vocab["code"][i],
            name=vocab["name"][i],
            level=vocab["level"][i],
            expected=str(expected[i]),
            got=str(res.major[i]),
            rule=str(res.rule[i]),
        )
        for i in bad.tolist()
    )
    rules, n = np.unique(res.rule.astype(str), return_counts=True)
    return RoundTripReport(
        n_titles=vocab.height,
        failures=failures,
        by_rule=dict(zip(rules.tolist(), n.tolist(), strict=True)),
        crosswalk_version=cw.version,
    )
