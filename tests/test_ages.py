"""Sprague interpolation: totals preserved, smooth output, exact on polynomials."""

from __future__ import annotations

import numpy as np

from ingu.model.ages import split_open_group, sprague


def test_group_totals_are_preserved() -> None:
    rng = np.random.default_rng(0)
    groups = rng.uniform(1e4, 5e4, size=(3, 20))
    single = sprague(groups)
    np.testing.assert_allclose(single.reshape(3, 20, 5).sum(-1), groups, rtol=1e-12)


def test_multipliers_reproduce_a_quadratic_exactly() -> None:
    # Sprague is exact for polynomials up to degree 4 in the middle panels: integrate a quadratic
    # over single years, group it, and interpolation must return the single years.
    ages = np.arange(100)
    f = 1000 + 30 * ages - 0.2 * ages**2
    groups = f.reshape(20, 5).sum(-1)
    np.testing.assert_allclose(sprague(groups)[10:90], f[10:90], rtol=1e-9)


def test_no_step_at_band_edges() -> None:
    # A stepwise (constant-within-band) input becomes a curve with no jumps > 15% between years.
    groups = np.array([50, 60, 70, 80, 85, 90, 88, 80, 70, 60, 50, 40.0]) * 1000
    single = sprague(groups)[5:-5]
    ratio = single[1:] / single[:-1]
    assert np.all(np.abs(ratio - 1) < 0.15)


def test_open_group_declines_and_sums() -> None:
    out = split_open_group(np.array(1000.0), np.array([500.0, 400, 320, 256, 204.8]))
    assert out.sum() == np.float64(1000.0) or np.isclose(out.sum(), 1000.0)
    assert np.all(np.diff(out) < 0)
