"""Audit metrics agree with independent computations (scipy, hand-worked tables) and are reproducible."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.stats import contingency

from ingu.audit import metrics
from ingu.audit.metrics import flip_labels

TABLE = np.array([[120, 80, 40], [30, 90, 140]])


def test_cramers_v_uncorrected_matches_scipy():
    assert metrics.cramers_v(TABLE, bias_corrected=False) == pytest.approx(
        contingency.association(TABLE, method="cramer"), rel=1e-12)


def test_cramers_v_bias_corrected_by_hand():
    # Bergsma (2013), worked by hand: φ² from scipy's χ², shrunk by (r−1)(c−1)/(n−1); r, c corrected.
    chi2 = stats.chi2_contingency(TABLE, correction=False)[0]
    n = TABLE.sum()
    phi2 = max(0, chi2 / n - 2 / (n - 1))
    r = 2 - 1 / (n - 1)
    c = 3 - 4 / (n - 1)
    assert metrics.cramers_v(TABLE) == pytest.approx(np.sqrt(phi2 / min(r - 1, c - 1)), rel=1e-12)


def test_cramers_v_is_zero_under_exact_independence_and_one_for_perfect_association():
    assert metrics.cramers_v(np.outer([100, 300], [10, 20, 70])) == 0.0
    assert metrics.cramers_v(np.diag([500, 500, 500]), bias_corrected=False) == pytest.approx(1.0)
    # Empty rows/columns are dropped rather than dividing by zero.
    assert metrics.cramers_v(np.array([[10, 0, 5], [0, 0, 0], [3, 0, 20]])) > 0


def test_kl_total_variation_and_wasserstein_match_scipy():
    p = np.array([10, 20, 30, 40.0])
    q = np.array([25, 25, 25, 25.0])
    assert metrics.kl_divergence(p, q) == pytest.approx(stats.entropy(p, q), rel=1e-12)
    assert metrics.total_variation(p, q) == pytest.approx(0.5 * np.abs(p / p.sum() - q / q.sum()).sum())
    values = np.array([20.0, 30.0, 40.0, 50.0])
    samples_p = np.repeat(values, p.astype(int))
    samples_q = np.repeat(values, q.astype(int))
    assert metrics.wasserstein_1d(values, p, q) == pytest.approx(stats.wasserstein_distance(samples_p, samples_q))
    assert metrics.kl_divergence(np.array([1.0, 1.0]), np.array([1.0, 0.0])) == np.inf


def test_chi_square_matches_scipy_and_residuals_are_adjusted():
    observed = np.array([50, 30, 20])
    share = np.array([0.4, 0.4, 0.2])
    fit = metrics.chi_square_gof(observed, share)
    expected = stats.chisquare(observed, share * observed.sum())
    assert fit.statistic == pytest.approx(expected.statistic)
    assert fit.p_value == pytest.approx(expected.pvalue)
    assert fit.dof == 2
    e = share * 100
    assert fit.residuals == pytest.approx((observed - e) / np.sqrt(e * (1 - share)))
    assert fit.gap_pp == pytest.approx([10, -10, 0])


def test_permutation_null_is_seeded_and_centred_near_zero():
    a = metrics.permutation_null_v(TABLE, 50, seed=42)
    b = metrics.permutation_null_v(TABLE, 50, seed=42)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, metrics.permutation_null_v(TABLE, 50, seed=7))
    observed = metrics.cramers_v(TABLE)
    assert a.max() < observed / 3
    assert metrics.plus_one_p_value(a, observed) == pytest.approx(1 / 51)


def test_bootstrap_share_is_seeded_and_covers_the_observed_share():
    reps = metrics.bootstrap_column_share(TABLE, 1, 400, seed=1)
    assert np.array_equal(reps, metrics.bootstrap_column_share(TABLE, 1, 400, seed=1))
    low, high = metrics.percentile_interval(reps)
    share = TABLE[1] / TABLE.sum(axis=0)
    assert np.all((low < share) & (share < high))
    # Width ≈ 2 × 1.96 × binomial standard error of each column's share.
    se = np.sqrt(share * (1 - share) / TABLE.sum(axis=0))
    assert high - low == pytest.approx(2 * 1.96 * se, rel=0.25)


def test_wilson_interval_by_hand():
    low, high = metrics.binomial_interval(np.array([5]), np.array([10]))
    assert low[0] == pytest.approx(0.2366, abs=1e-4)
    assert high[0] == pytest.approx(0.7634, abs=1e-4)


def test_label_flips_keep_totals_and_move_the_expected_share():
    counts = np.array([[10_000.0] * 9, [5_000.0] * 9])
    flipped = flip_labels(counts, 0.2, np.random.default_rng(3))
    assert flipped.sum(axis=1) == pytest.approx(counts.sum(axis=1))
    concentrated = np.zeros((2, 9))
    concentrated[:, 0] = 90_000
    moved = flip_labels(concentrated, 0.1, np.random.default_rng(3))
    assert moved[:, 0] / 90_000 == pytest.approx([0.9, 0.9], abs=0.005)
