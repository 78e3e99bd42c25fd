"""Drawing respondents from a persona file: stratified (proportional) or simple random, seeded.

Stratified by default on sex × age band × province: each stratum gets its proportional share of ``n``
(largest-remainder rounding, so the sizes add up to ``n`` exactly), filled by a random draw without
replacement inside the stratum. All in numpy: one random key per row, one sort.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from ingu.simulate.groups import group_labels, level_codes, levels_present

DEFAULT_STRATA: tuple[str, ...] = ("sex", "age_band", "province")


class SamplingError(ValueError):
    """A sample that cannot be drawn (too large, unknown stratum variable)."""


def draw_sample(table: pa.Table, n: int, seed: int, *, strata: Sequence[str] = DEFAULT_STRATA) -> np.ndarray:
    """Sorted row indices of ``n`` respondents drawn from ``table`` (``strata=()``: simple random sample)."""
    rows = table.num_rows
    if n <= 0:
        raise SamplingError(f"sample size must be positive, got {n}")
    if n > rows:
        raise SamplingError(f"cannot draw {n:,} respondents from {rows:,} personas")
    rng = np.random.default_rng(seed)
    if not strata:
        return np.sort(rng.choice(rows, size=n, replace=False))
    stratum = np.zeros(rows, dtype=np.int64)
    for var in strata:
        labels = group_labels(table, var)
        levels = levels_present(labels)
        codes = level_codes(labels, levels)
        codes[codes < 0] = len(levels)  # rows in no level form a stratum of their own
        stratum = stratum * (len(levels) + 1) + codes
    _, stratum = np.unique(stratum, return_inverse=True)
    sizes = np.bincount(stratum)
    quota = sizes * (n / rows)
    take = np.floor(quota).astype(np.int64)
    short = n - take.sum()
    if short:
        take[np.argsort(-(quota - take), kind="stable")[:short]] += 1
    order = np.lexsort((rng.random(rows), stratum))  # rows grouped by stratum, random inside each
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    rank = np.empty(rows, dtype=np.int64)
    rank[order] = np.arange(rows) - np.repeat(starts, sizes)
    return np.flatnonzero(rank < take[stratum])
