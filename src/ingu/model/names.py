"""Names: a given-name distribution for every sex × birth cohort, and the national surname distribution.

The only official given-name figures for adult cohorts are the Supreme Court's published top lists
(``given_names_by_cohort``: ranks for 1945–2006 birth years, counts for some). The model keeps them as
the head of each cohort's distribution and adds a generated long tail::

    head    published top names; printed counts / cohort size where printed, otherwise a rank-size
            (Zipf) extension of that cohort's or the neighbouring cohorts' printed counts
    tail    1 − head coverage, spread over recombinations of the syllables of the same sex's published
            names, weighted by closeness in birth year, no tail name more likely than the cohort's
            least likely published name (the published ranking)
    years   linear interpolation between published birth years, constant beyond the first / last

Every step is documented in ``docs/names.md`` and recorded, cell by cell, in ``NameModel.provenance``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

SEXES = ("M", "F")
FORMAT = "ingu.name_model/1"
OTHER_SURNAME = "기타"  # census row for every surname held by fewer than 5 persons — not a surname

_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4})\s*[-–]\s*(\d{4})$")
_DECADE = re.compile(r"^(\d{3}0)s$")


class NameModelError(ValueError):
    """Inputs from which no valid name model can be built."""


@dataclass
class NameModel:
    """Given-name distributions by sex and birth cohort over one shared vocabulary.

    Parameters
    ----------
    vocabulary
        Given names; code ``i`` means ``vocabulary[i]``.
    cohorts
        Birth-year ranges ``(first, last)``, inclusive, sorted, contiguous and non-overlapping.
    probs
        float64 array ``(2, len(cohorts), len(vocabulary))``: axis 0 is sex (0 = M, 1 = F); each row is
        P(given name | sex, cohort) and sums to 1.
    provenance
        JSON-serialisable account of how every published and derived cell was obtained.
    """

    vocabulary: list[str]
    cohorts: list[tuple[int, int]]
    probs: np.ndarray
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.vocabulary = [str(v) for v in self.vocabulary]
        self.cohorts = [(int(a), int(b)) for a, b in self.cohorts]
        self.probs = np.asarray(self.probs, dtype=np.float64)
        if len(set(self.vocabulary)) != len(self.vocabulary):
            raise NameModelError("vocabulary has duplicate names")
        expected = (len(SEXES), len(self.cohorts), len(self.vocabulary))
        if self.probs.shape != expected:
            raise NameModelError(f"probs has shape {self.probs.shape}, expected {expected}")
        if not self.cohorts:
            raise NameModelError("no cohorts")
        for (a, b), (c, _) in zip(self.cohorts, self.cohorts[1:] + [(self.cohorts[-1][1] + 1, 0)]):
            if b < a or c != b + 1:
                raise NameModelError(f"cohorts must be sorted, contiguous ranges; got {self.cohorts}")
        if not np.isfinite(self.probs).all() or (self.probs < 0).any():
            raise NameModelError("probs has negative or non-finite entries")
        if not np.allclose(self.probs.sum(axis=-1), 1.0, atol=1e-9):
            raise NameModelError("every (sex, cohort) row of probs must sum to 1")

    @property
    def years(self) -> tuple[int, int]:
        """First and last birth year covered."""
        return self.cohorts[0][0], self.cohorts[-1][1]

    def cohort_of_birth_year(self, years: np.ndarray) -> np.ndarray:
        """Cohort index of each birth year.

        Parameters
        ----------
        years
            Integer array of birth years, any shape.

        Returns
        -------
        numpy.ndarray
            int64 array of the same shape, indexes into ``cohorts`` (axis 1 of ``probs``).

        Raises
        ------
        ValueError
            If a year lies outside ``self.years``; refit with a wider ``years`` to cover it.
        """
        y = np.asarray(years)
        if y.size and not np.issubdtype(y.dtype, np.integer):
            if not np.all(np.equal(np.mod(y, 1), 0)):
                raise ValueError("birth years must be whole numbers")
            y = y.astype(np.int64)
        lo, hi = self.years
        outside = (y < lo) | (y > hi)
        if outside.any():
            bad = np.unique(y[outside])[:5].tolist()
            raise ValueError(f"birth years {bad} outside the model's range {lo}–{hi}")
        ends = np.array([b for _, b in self.cohorts], dtype=np.int64)
        return np.searchsorted(ends, y, side="left").astype(np.int64)

    def distribution(self, sex: str | int, birth_year: int) -> np.ndarray:
        """P(given name | sex, birth year) over ``vocabulary`` (a view; do not modify)."""
        s = SEXES.index(sex) if isinstance(sex, str) else int(sex)
        return self.probs[s, int(self.cohort_of_birth_year(np.array([birth_year]))[0])]

    def top_names(self, sex: str | int, birth_year: int, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` most likely names with their probabilities, most likely first."""
        p = self.distribution(sex, birth_year)
        order = np.lexsort((np.arange(p.size), -p))[:k]
        return [(self.vocabulary[i], float(p[i])) for i in order]

    def to_npz(self, path: str | Path) -> None:
        """Save as ``.npz``: float and int arrays plus one JSON string (vocabulary, provenance) — no pickle."""
        meta = {"format": FORMAT, "sexes": list(SEXES), "vocabulary": self.vocabulary,
                "provenance": self.provenance}
        np.savez_compressed(
            path,
            probs=self.probs,
            cohorts=np.array(self.cohorts, dtype=np.int64).reshape(-1, 2),
            meta=np.array(json.dumps(meta, ensure_ascii=False)),
        )

    @classmethod
    def from_npz(cls, path: str | Path) -> NameModel:
        """Load a model written by :meth:`to_npz` (``allow_pickle=False``)."""
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("format") != FORMAT:
                raise NameModelError(f"{path}: not a name model ({meta.get('format')!r})")
            return cls(meta["vocabulary"], [tuple(c) for c in z["cohorts"].tolist()], z["probs"],
                       meta.get("provenance", {}))


# --------------------------------------------------------------------------------------------- surnames


def surname_distribution(surnames: pl.DataFrame) -> tuple[list[str], np.ndarray]:
    """National surname distribution (2015 census), most frequent first.

    Parameters
    ----------
    surnames
        Frame with columns ``surname`` and ``count`` (the shipped ``surnames_2015``).

    Returns
    -------
    (list of str, numpy.ndarray)
        Surnames and their probabilities (float64, sums to 1). The census row ``기타`` (surnames held by
        fewer than 5 persons, 0.18 % in 2015) is not a surname and is dropped; the rest are renormalised.

    Notes
    -----
    Assumes the surname is independent of sex, birth cohort and region (see ``docs/names.md``).
    """
    _require(surnames, {"surname", "count"}, "surnames")
    df = (
        surnames.filter(pl.col("surname") != OTHER_SURNAME)
        .group_by("surname").agg(pl.col("count").sum())
        .sort(["count", "surname"], descending=[True, False])
    )
    counts = df["count"].to_numpy().astype(np.float64)
    if df.height == 0 or (counts < 0).any() or counts.sum() <= 0:
        raise NameModelError("surnames: need positive counts")
    return df["surname"].to_list(), counts / counts.sum()


# ------------------------------------------------------------------------------------------ cohort sizes


def cohort_sizes_from_census(census: pl.DataFrame, census_year: int = 2010) -> pl.DataFrame:
    """Persons per single birth year and sex, from a census by sex × 5-year age band.

    Parameters
    ----------
    census
        Columns ``sex`` (M/F), ``age_lo``, ``age_hi`` (blank for the open band), ``population`` — the
        shipped ``census2010_pop_national_sex_age5``.
    census_year
        Year of the census; birth year = ``census_year - age`` (the Nov-1 reference date is ignored).

    Returns
    -------
    polars.DataFrame
        ``birth_year, sex, persons`` for every single year of age in the closed bands, split by Sprague
        interpolation (:func:`ingu.model.ages.sprague`), which keeps each band's total.
    """
    from ingu.model.ages import sprague

    _require(census, {"sex", "age_lo", "age_hi", "population"}, "census")
    rows = []
    for sex in SEXES:
        bands = census.filter((pl.col("sex") == sex) & pl.col("age_hi").is_not_null()).sort("age_lo")
        lo = bands["age_lo"].to_numpy()
        if bands.height < 5 or lo[0] != 0 or not np.all(np.diff(lo) == 5) \
                or not np.all(bands["age_hi"].to_numpy() - lo == 4):
            raise NameModelError(f"census: need consecutive 5-year bands from age 0 for sex {sex}")
        single = sprague(bands["population"].to_numpy().astype(np.float64))
        ages = np.arange(single.size)
        rows.append(pl.DataFrame({"birth_year": census_year - ages, "sex": [sex] * ages.size,
                                  "persons": single}))
    return pl.concat(rows).sort(["sex", "birth_year"])


# --------------------------------------------------------------------------------------------- fitting


@dataclass
class _Anchor:
    """One published cohort of one sex: its year, head names and the derivation of their shares."""

    sex: str
    label: str
    year: float
    names: list[str]
    ranks: np.ndarray
    counts: np.ndarray  # NaN where not printed, until _derive_shares fills them
    kind: str = "year"
    printed: np.ndarray = field(init=False)
    size: float | None = None
    slope: float | None = None
    slope_source: str = ""
    level_source: str = ""
    shares: np.ndarray | None = None
    share_source: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.printed = ~np.isnan(self.counts)


def fit_name_model(
    given_names: pl.DataFrame,
    cohort_sizes: pl.DataFrame | None = None,
    *,
    years: tuple[int, int] = (1900, 2006),
    cohorts: list[tuple[int, int]] | None = None,
    tail_share: float | None = None,
    bandwidth: float = 5.0,
    swap_weight: float = 0.1,
    cap_factor: float = 0.99,
) -> NameModel:
    """Fit P(given name | sex, birth cohort) from published top-name lists.

    Parameters
    ----------
    given_names
        Columns ``cohort`` (``"1995"``, ``"1990-1994"`` or ``"1990s"``), ``sex`` (M/F), ``name`` and any of
        ``rank``, ``count`` (blank where not printed), ``cohort_type``. Rows of type ``all_time`` are ignored;
        decade rows are used only for decades without a birth-year or range cohort of that sex. A complete
        frequency table (every name with its count) is accepted as is.
    cohort_sizes
        ``birth_year, sex, persons`` (see :func:`cohort_sizes_from_census`): turns printed counts into
        shares. Required unless ``tail_share`` is given.
    years
        First and last birth year the model covers.
    cohorts
        Birth-year ranges to report (contiguous, covering ``years``); default one cohort per year. A range's
        distribution is the mean of its years' distributions.
    tail_share
        Mass of the generated tail in every published cohort. ``None`` derives it per cohort as
        1 − (estimated share of the published names); a number overrides that (the head then keeps only the
        relative weights of its counts / ranks).
    bandwidth
        Standard deviation, in years, of the Gaussian weight that lets neighbouring cohorts' syllables
        enter a cohort's tail.
    swap_weight
        Relative weight of a syllable in the position it was not published in (``수`` as a first syllable
        when it was only seen second); 0 forbids swaps.
    cap_factor
        No tail name may exceed ``cap_factor`` × the cohort's least likely published name. Below 1, every
        published name stays strictly ahead of every generated one (the published ranking); 1 allows ties.

    Returns
    -------
    NameModel
    """
    _require(given_names, {"cohort", "sex", "name"}, "given_names")
    lo, hi = int(years[0]), int(years[1])
    if hi < lo:
        raise NameModelError(f"years {years}: last before first")
    if tail_share is None and cohort_sizes is None:
        raise NameModelError("give cohort_sizes (to derive the tail share) or a fixed tail_share")
    if tail_share is not None and not 0.0 <= tail_share < 1.0:
        raise NameModelError("tail_share must lie in [0, 1)")
    if bandwidth <= 0 or swap_weight < 0 or cap_factor <= 0:
        raise NameModelError("bandwidth and cap_factor must be positive, swap_weight non-negative")
    cohorts = _check_cohorts(cohorts, lo, hi)

    anchors = _anchors(given_names)
    for sex in SEXES:
        if not any(a.sex == sex for a in anchors):
            raise NameModelError(f"given_names: no cohort lists names for sex {sex}")
    sizes = _size_lookup(cohort_sizes) if cohort_sizes is not None else {}
    for sex in SEXES:
        group = [a for a in anchors if a.sex == sex]
        _derive_slopes(group)
        _derive_shares(group, sizes, tail_share)

    names_of = {sex: {n for a in anchors if a.sex == sex for n in a.names} for sex in SEXES}
    other_sex_only = {s: names_of[o] - names_of[s] for s, o in (("M", "F"), ("F", "M"))}
    two = [n for a in anchors for n in a.names if len(n) == 2]
    attested = ({n[0] for n in two}, {n[1] for n in two})

    dists: dict[str, list[dict[str, float]]] = {}
    anchor_records = []
    for sex in SEXES:
        group = sorted((a for a in anchors if a.sex == sex), key=lambda a: a.year)
        dists[sex] = []
        for a in group:
            dist, record = _anchor_distribution(a, group, other_sex_only[sex], tail_share is not None,
                                                bandwidth, swap_weight, cap_factor, attested)
            dists[sex].append(dist)
            anchor_records.append(record)

    vocabulary = sorted({n for sex in SEXES for d in dists[sex] for n in d})
    index = {n: i for i, n in enumerate(vocabulary)}
    all_years = np.arange(lo, hi + 1)
    probs = np.zeros((len(SEXES), len(cohorts), len(vocabulary)))
    for s, sex in enumerate(SEXES):
        group = sorted((a for a in anchors if a.sex == sex), key=lambda a: a.year)
        dense = np.zeros((len(group), len(vocabulary)))
        for k, d in enumerate(dists[sex]):
            dense[k, [index[n] for n in d]] = list(d.values())
        yearly = _interpolate(np.array([a.year for a in group]), dense, all_years)
        for c, (a, b) in enumerate(cohorts):
            probs[s, c] = yearly[a - lo: b - lo + 1].mean(axis=0)
    probs /= probs.sum(axis=-1, keepdims=True)

    provenance = {
        "method": ("head = published top names (printed counts / cohort size; unprinted ranks by rank-size "
                   "extension); tail = capped syllable recombination of same-sex published names weighted by "
                   "birth-year closeness; years between published cohorts linearly interpolated, constant "
                   "outside. See docs/names.md."),
        "inputs": ["given_names_by_cohort", "census2010_pop_national_sex_age5"] if tail_share is None
        else ["given_names_by_cohort"],
        "parameters": {"years": [lo, hi], "tail_share": tail_share, "bandwidth": bandwidth,
                       "swap_weight": swap_weight, "cap_factor": cap_factor},
        "interpolation": {sex: [a.label for a in sorted((a for a in anchors if a.sex == sex),
                                                        key=lambda a: a.year)] for sex in SEXES},
        "excluded_as_other_sex": {s: sorted(v) for s, v in other_sex_only.items()},
        "anchors": anchor_records,
    }
    return NameModel(vocabulary, cohorts, probs, provenance)


def fit_name_model_from_reference(**kwargs: Any) -> NameModel:
    """:func:`fit_name_model` on the shipped ``given_names_by_cohort`` and 2010 census cohort sizes."""
    from ingu.reference import load_table

    sizes = cohort_sizes_from_census(load_table("census2010_pop_national_sex_age5"), 2010)
    return fit_name_model(load_table("given_names_by_cohort"), sizes, **kwargs)


# ------------------------------------------------------------------------------------------- internals


def _require(df: pl.DataFrame, columns: set[str], what: str) -> None:
    missing = columns - set(df.columns)
    if missing:
        raise NameModelError(f"{what}: missing columns {sorted(missing)}")


def _check_cohorts(cohorts: list[tuple[int, int]] | None, lo: int, hi: int) -> list[tuple[int, int]]:
    if cohorts is None:
        return [(y, y) for y in range(lo, hi + 1)]
    cohorts = [(int(a), int(b)) for a, b in cohorts]
    if not cohorts or cohorts[0][0] != lo or cohorts[-1][1] != hi:
        raise NameModelError(f"cohorts must cover exactly {lo}–{hi}")
    return cohorts


def _anchor_year(label: str, cohort_type: str | None) -> tuple[float, str] | None:
    """(year, kind) for a cohort label; None for labels that are not cohorts (all-time lists)."""
    if cohort_type == "all_time":
        return None
    if m := _YEAR.match(label):
        return float(m.group(1)), "year"
    if m := _RANGE.match(label):
        a, b = int(m.group(1)), int(m.group(2))
        if b < a:
            raise NameModelError(f"cohort {label!r}: range ends before it starts")
        return (a + b) / 2, "range"
    if m := _DECADE.match(label):
        return int(m.group(1)) + 4.5, "decade"
    if cohort_type in (None, "", "birth_year", "decade", "range"):
        raise NameModelError(f"cohort {label!r}: expected 1995, 1990-1994 or 1990s")
    return None


def _anchors(given_names: pl.DataFrame) -> list[_Anchor]:
    df = given_names
    if "count" not in df.columns:
        df = df.with_columns(count=pl.lit(None, dtype=pl.Float64))
    if "rank" not in df.columns:
        df = df.with_columns(rank=pl.lit(None, dtype=pl.Int64))
    if "cohort_type" not in df.columns:
        df = df.with_columns(cohort_type=pl.lit(None, dtype=pl.Utf8))
    df = df.with_columns(pl.col("cohort").cast(pl.Utf8).str.strip_chars(), pl.col("name").str.strip_chars(),
                         pl.col("count").cast(pl.Float64), pl.col("rank").cast(pl.Float64))
    bad_sex = set(df["sex"].unique().to_list()) - set(SEXES)
    if bad_sex:
        raise NameModelError(f"given_names: sex must be M or F, got {sorted(map(str, bad_sex))}")
    if (df["count"].drop_nulls() < 0).any():
        raise NameModelError("given_names: negative count")

    parsed: dict[tuple[str, str], tuple[float, str]] = {}
    for label, ctype in df.select("cohort", "cohort_type").unique().iter_rows():
        got = _anchor_year(label, ctype)
        if got is not None:
            parsed[(label, ctype)] = got

    anchors = []
    for (label, ctype), (year, kind) in parsed.items():
        for sex in SEXES:
            rows = df.filter((pl.col("cohort") == label) & (pl.col("sex") == sex)
                             & (pl.col("cohort_type").eq_missing(ctype)))
            if rows.height == 0:
                continue
            if rows["name"].is_duplicated().any():
                raise NameModelError(f"cohort {label} {sex}: a name is listed twice")
            ranks = rows["rank"].to_numpy().astype(np.float64)
            counts = rows["count"].to_numpy().astype(np.float64)  # nulls → NaN
            if np.isnan(ranks).any():
                if np.isnan(counts).any():
                    raise NameModelError(f"cohort {label} {sex}: rows with neither rank nor count")
                ranks = rows["count"].rank(method="min", descending=True).to_numpy().astype(np.float64)
            order = np.lexsort((rows["name"].to_numpy(), ranks))
            anchors.append(_Anchor(sex, label, year, [rows["name"][int(i)] for i in order],
                                   ranks[order], counts[order], kind))

    # A decade list stands in for a decade only where no birth year or range of that sex falls in it.
    kept = []
    for a in anchors:
        if a.kind == "decade":
            start = a.year - 4.5
            if any(b.sex == a.sex and b.kind != "decade" and start <= b.year < start + 10
                   for b in anchors):
                continue
        kept.append(a)
    years = [(a.sex, a.year) for a in kept]
    if len(years) != len(set(years)):
        raise NameModelError("two cohorts of the same sex share a birth year; merge them first")
    return kept


def _size_lookup(cohort_sizes: pl.DataFrame) -> dict[tuple[str, int], float]:
    _require(cohort_sizes, {"birth_year", "sex", "persons"}, "cohort_sizes")
    return {(s, int(y)): float(p) for y, s, p in cohort_sizes.select("birth_year", "sex", "persons").iter_rows()}


def _anchor_size(a: _Anchor, sizes: dict[tuple[str, int], float]) -> float | None:
    if m := _RANGE.match(a.label):
        span = range(int(m.group(1)), int(m.group(2)) + 1)
    elif m := _DECADE.match(a.label):
        span = range(int(m.group(1)), int(m.group(1)) + 10)
    else:
        span = range(int(a.year), int(a.year) + 1)
    vals = [sizes.get((a.sex, y)) for y in span]
    return None if any(v is None for v in vals) else float(np.mean(vals))


def _fit_slope(ranks: np.ndarray, counts: np.ndarray) -> float | None:
    """Rank-size exponent s of count ∝ rank^-s by least squares on logs; None with < 2 distinct ranks."""
    ok = ~np.isnan(counts) & (counts > 0)
    r, c = ranks[ok], counts[ok]
    if np.unique(r).size < 2:
        return None
    slope = np.polyfit(np.log(r), np.log(c), 1)[0]
    return float(max(0.0, -slope))


def _interp_scalar(year: float, known: list[tuple[float, float]]) -> float:
    xs, ys = zip(*sorted(known))
    return float(np.interp(year, xs, ys))  # constant beyond the ends


def _derive_slopes(group: list[_Anchor]) -> None:
    for a in group:
        a.slope = _fit_slope(a.ranks, a.counts)
        if a.slope is not None:
            a.slope_source = "fitted to this cohort's printed counts"
    known = [(a.year, a.slope) for a in group if a.slope is not None and a.slope_source]
    for a in group:
        if a.slope is not None:
            continue
        if not known:
            needs = (~a.printed).any()
            if needs and len(a.names) > 1:
                raise NameModelError(f"cohort {a.label} {a.sex}: unprinted counts and no cohort of this sex "
                                     "prints two counts to fit a rank-size slope")
            a.slope, a.slope_source = 0.0, "not needed"
            continue
        a.slope = _interp_scalar(a.year, known)
        a.slope_source = "interpolated in birth year from cohorts " + ", ".join(
            _neighbours(a.year, [(b.year, b.label) for b in group if b.slope_source.startswith("fitted")]))


def _neighbours(year: float, items: list[tuple[float, str]]) -> list[str]:
    before = [x for x in items if x[0] <= year]
    after = [x for x in items if x[0] >= year]
    picked = ([max(before)] if before else []) + ([min(after)] if after else [])
    return sorted({label for _, label in picked})


def _derive_shares(group: list[_Anchor], sizes: dict[tuple[str, int], float], tail_share: float | None) -> None:
    """Fill ``counts`` for unprinted ranks (rank-size) and turn counts into shares of the cohort."""
    for a in group:
        a.share_source = ["published" if p else "derived: rank-size" for p in a.printed]
        if a.printed.any():
            pr, pc = a.ranks[a.printed], a.counts[a.printed]
            for i in np.flatnonzero(~a.printed):
                above = pr <= a.ranks[i]
                j = np.flatnonzero(above)[-1] if above.any() else 0  # nearest printed rank above, else the top
                a.counts[i] = pc[j] * (a.ranks[i] / pr[j]) ** -a.slope
        a.size = _anchor_size(a, sizes) if sizes else None

    if tail_share is not None:
        for a in group:
            weights = a.counts if a.printed.any() else a.ranks ** -a.slope
            a.shares = (1.0 - tail_share) * weights / weights.sum()
            a.level_source = f"fixed tail_share={tail_share}"
        return

    # Level: the share of the top-ranked name. Known where counts are printed and the cohort size is known.
    known = []
    for a in group:
        if a.printed.any() and a.size:
            a.shares = a.counts / a.size
            a.level_source = "printed counts / cohort size"
            known.append((a.year, a.shares[0] / a.ranks[0] ** -a.slope, a.label))
    if not known:
        raise NameModelError(f"sex {group[0].sex}: no cohort with printed counts and a known cohort size; "
                             "give cohort_sizes that cover a printed cohort, or a fixed tail_share")
    for a in group:
        if a.shares is not None:
            continue
        level = _interp_scalar(a.year, [(y, v) for y, v, _ in known])
        rel = a.counts / a.counts[0] * a.ranks[0] ** -a.slope if a.printed.any() else a.ranks ** -a.slope
        a.shares = level * rel
        a.level_source = "top share interpolated in birth year from cohorts " + ", ".join(
            _neighbours(a.year, [(y, label) for y, _, label in known]))
        a.share_source = ["derived: interpolated level" if not p else "published (relative)" for p in a.printed]
    for a in group:
        total = a.shares.sum()
        if total > 1.0:  # a complete table (or a small census denominator): no room for a tail
            a.shares = a.shares / total


def _water_fill(weights: np.ndarray, cap: float, mass: float) -> tuple[np.ndarray, float]:
    """Split ``mass`` proportionally to ``weights`` with no entry above ``cap``; (allocation, mass placed)."""
    out = np.zeros_like(weights)
    pos = weights > 0
    n = int(pos.sum())
    if mass <= 0 or n == 0:
        return out, 0.0
    if n * cap <= mass:  # not enough names to hold the tail below the cap
        out[pos] = cap
        return out, n * cap
    w = weights[pos]
    order = np.argsort(-w, kind="stable")
    ws = w[order]
    # With the m heaviest names at the cap, the rest share mass - m*cap in proportion tau * w; the first m
    # for which the next name stays under the cap is the solution (m = n - 1 always qualifies here).
    m = np.arange(n)
    rest = np.cumsum(ws[::-1])[::-1]
    tau = (mass - m * cap) / rest
    first = int(np.argmax(tau * ws <= cap * (1 + 1e-12)))
    alloc = np.where(m < first, cap, np.minimum(cap, tau[first] * ws))
    filled = np.empty_like(w)
    filled[order] = alloc
    out[pos] = filled
    return out, mass


def _syllable_weights(a: _Anchor, group: list[_Anchor], bandwidth: float, swap_weight: float,
                      attested: tuple[set[str], set[str]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Syllables of this sex and their weights as first / second syllable of a tail name in cohort ``a``.

    A syllable's weight in a position is its share among the published names of this sex in that position,
    summed over cohorts with a Gaussian weight in birth-year distance. A syllable seen only in the other
    position enters with ``swap_weight`` × its weight there if some published name (either sex) has it in
    this position, else with ``swap_weight ** 2``: the least attested combinations fill last.
    """
    first: dict[str, float] = {}
    second: dict[str, float] = {}
    for b in group:
        k = float(np.exp(-0.5 * ((a.year - b.year) / bandwidth) ** 2))
        head = b.shares / b.shares.sum()
        for name, p in zip(b.names, head):
            if len(name) != 2:  # the syllable model is for two-syllable names, the overwhelming norm
                continue
            first[name[0]] = first.get(name[0], 0.0) + k * p
            second[name[1]] = second.get(name[1], 0.0) + k * p
    syllables = sorted(first.keys() | second.keys())
    lam1 = np.array([swap_weight if x in attested[0] else swap_weight ** 2 for x in syllables])
    lam2 = np.array([swap_weight if x in attested[1] else swap_weight ** 2 for x in syllables])
    f = np.array([first.get(x, 0.0) for x in syllables])
    g = np.array([second.get(x, 0.0) for x in syllables])
    return syllables, f + lam1 * g, g + lam2 * f


def _anchor_distribution(a: _Anchor, group: list[_Anchor], excluded: set[str], fixed_tail: bool,
                         bandwidth: float, swap_weight: float, cap_factor: float,
                         attested: tuple[set[str], set[str]]) -> tuple[dict, dict]:
    head = dict(zip(a.names, a.shares))
    derived_tail = max(0.0, 1.0 - float(a.shares.sum()))
    syllables, w1, w2 = _syllable_weights(a, group, bandwidth, swap_weight, attested)
    cand, weights = [], []
    for i, x in enumerate(syllables):
        for j, y in enumerate(syllables):
            name = x + y
            if i == j or name in head or name in excluded:
                continue
            cand.append(name)
            weights.append(w1[i] * w2[j])
    weights = np.array(weights)
    cap = cap_factor * float(a.shares.min())
    tail, placed = _water_fill(weights, cap, derived_tail)
    limited = placed < derived_tail - 1e-12
    shares = a.shares * ((1.0 - placed) / a.shares.sum())
    dist = {n: float(p) for n, p in zip(a.names, shares)}
    dist.update({n: float(p) for n, p in zip(cand, tail) if p > 0})

    record = {
        "sex": a.sex, "cohort": a.label, "birth_year": int(a.year) if a.year.is_integer() else a.year,
        "cohort_size": None if a.size is None else round(a.size),
        "cohort_size_source": "2010 census band split to single years (Sprague)" if a.size else None,
        "rank_size_slope": round(float(a.slope), 4), "slope_source": a.slope_source,
        "level_source": a.level_source,
        "head": [{"name": n, "rank": int(r), "count": int(c) if printed else None,
                  "persons_estimated": None if a.size is None else round(float(p0 * a.size)),
                  "share": round(float(p), 6), "source": src}
                 for n, r, c, printed, p0, p, src in zip(a.names, a.ranks, a.counts, a.printed, a.shares,
                                                         shares, a.share_source)],
        "head_coverage_estimated": round(float(a.shares.sum()), 6),
        "tail_share_derived": None if fixed_tail else round(derived_tail, 6),
        "tail_share": round(float(placed), 6),
        "tail_cap": round(cap, 6),
        "tail_names": int((tail > 0).sum()),
        "tail_names_at_cap": int(np.isclose(tail, cap, rtol=1e-9, atol=0).sum()),
        "capacity_limited": bool(limited),
    }
    return dist, record


def _interpolate(anchor_years: np.ndarray, dense: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Row-wise linear interpolation of anchor distributions to every year (constant beyond the ends)."""
    order = np.argsort(anchor_years)
    xs, rows = anchor_years[order], dense[order]
    if xs.size == 1:
        return np.repeat(rows, years.size, axis=0)
    pos = np.clip(np.searchsorted(xs, years, side="right") - 1, 0, xs.size - 2)
    t = np.clip((years - xs[pos]) / (xs[pos + 1] - xs[pos]), 0.0, 1.0)[:, None]
    return (1 - t) * rows[pos] + t * rows[pos + 1]
