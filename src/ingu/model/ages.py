"""Single-year ages from 5-year age groups by Sprague's fifth-difference osculatory interpolation.

Sprague multipliers split each 5-year group into single years using the group and its neighbours;
group totals are preserved exactly and the resulting curve is smooth, so there are no artificial
steps at band edges or spikes at the oldest age (NPK's excess of 99-year-old men). Negative values,
which Sprague can produce for small, fast-changing series, are clipped and the group re-scaled.
"""

from __future__ import annotations

import numpy as np

# Shryock & Siegel, *The Methods and Materials of Demography*, Table 22 (Sprague multipliers).
# Each panel: 5 rows (the 5 single years) × 5 columns (5 consecutive groups).
_FIRST = np.array([
    [0.3616, -0.2768, 0.1488, -0.0336, 0.0],
    [0.2640, -0.0960, 0.0400, -0.0080, 0.0],
    [0.1840, 0.0400, -0.0320, 0.0080, 0.0],
    [0.1200, 0.1360, -0.0720, 0.0160, 0.0],
    [0.0704, 0.1968, -0.0848, 0.0176, 0.0],
])
_SECOND = np.array([
    [0.0336, 0.2272, -0.0752, 0.0144, 0.0],
    [0.0080, 0.2320, -0.0480, 0.0080, 0.0],
    [-0.0080, 0.2160, -0.0080, 0.0, 0.0],
    [-0.0160, 0.1840, 0.0400, -0.0080, 0.0],
    [-0.0176, 0.1408, 0.0912, -0.0144, 0.0],
])
_MIDDLE = np.array([
    [-0.0128, 0.0848, 0.1504, -0.0240, 0.0016],
    [-0.0016, 0.0144, 0.2224, -0.0416, 0.0064],
    [0.0064, -0.0336, 0.2544, -0.0336, 0.0064],
    [0.0064, -0.0416, 0.2224, 0.0144, -0.0016],
    [0.0016, -0.0240, 0.1504, 0.0848, -0.0128],
])
_PENULTIMATE = _SECOND[::-1, ::-1]
_LAST = _FIRST[::-1, ::-1]


def sprague(groups: np.ndarray) -> np.ndarray:
    """Split 5-year group counts into single years.

    Parameters
    ----------
    groups
        Array ``(..., G)`` of counts for G ≥ 5 consecutive 5-year groups (the last axis).

    Returns
    -------
    numpy.ndarray
        ``(..., 5 * G)`` single-year counts; each group's five values sum to the group count.
    """
    g = np.asarray(groups, dtype=np.float64)
    n = g.shape[-1]
    if n < 5:
        raise ValueError("Sprague interpolation needs at least 5 groups")
    out = np.empty(g.shape[:-1] + (5 * n,))
    for i in range(n):
        if i == 0:
            coef, window = _FIRST, slice(0, 5)
        elif i == 1:
            coef, window = _SECOND, slice(0, 5)
        elif i == n - 2:
            coef, window = _PENULTIMATE, slice(n - 5, n)
        elif i == n - 1:
            coef, window = _LAST, slice(n - 5, n)
        else:
            coef, window = _MIDDLE, slice(i - 2, i + 3)
        out[..., 5 * i: 5 * i + 5] = g[..., window] @ coef.T
    # Clip negatives (small series) and restore each group's total.
    out = np.clip(out, 0.0, None)
    blocks = out.reshape(g.shape[:-1] + (n, 5))
    totals = blocks.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        blocks = np.where(totals > 0, blocks * (g[..., None] / totals), 0.0)
    return blocks.reshape(out.shape)


def split_open_group(total: np.ndarray, last_years: np.ndarray, width: int = 5) -> np.ndarray:
    """Spread an open-ended group (e.g. 100+) over ``width`` single years.

    The years continue the geometric decline of the last closed group's single years
    (``last_years``, shape ``(..., 5)``): ratio = mean year-on-year survival within that group.
    Returns ``(..., width)`` summing to ``total``.
    """
    ly = np.asarray(last_years, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = np.where(ly[..., :-1] > 0, ly[..., 1:] / ly[..., :-1], 0.0)
    r = np.clip(np.nan_to_num(ratios.mean(axis=-1)), 0.05, 0.95)[..., None]
    weights = r ** np.arange(width)
    weights /= weights.sum(axis=-1, keepdims=True)
    return np.asarray(total, dtype=np.float64)[..., None] * weights
