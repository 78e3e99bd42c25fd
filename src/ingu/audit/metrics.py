"""Distribution and association metrics used by the audit (paper §4.2), on plain numpy arrays.

Every function takes counts or probabilities, never rows, so the audit aggregates once (a polars
group-by) and the metrics cost nothing. Conventions: divergences are in nats; shares are fractions;
"pp" differences are percentage points (100 × share difference).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats


def normalise(counts: np.ndarray) -> np.ndarray:
    """Counts → probabilities (a zero total gives all zeros rather than NaN)."""
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    return counts / total if total > 0 else np.zeros_like(counts)


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p ‖ q) in nats: p the dataset, q the reference.

    Cells where p = 0 contribute nothing; a cell with p > 0 and q = 0 makes the divergence infinite —
    the dataset puts people where the reference says there are none, which the report must show.
    """
    p, q = normalise(p), normalise(q)
    return float(special.rel_entr(p, q).sum())


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """Total variation distance ½ Σ |p − q| between two distributions on the same cells."""
    return float(0.5 * np.abs(normalise(p) - normalise(q)).sum())


def wasserstein_1d(values: np.ndarray, p: np.ndarray, q: np.ndarray) -> float:
    """1-D Wasserstein (earth mover's) distance between two weightings of the same support ``values``."""
    p, q = normalise(p), normalise(q)
    return float(stats.wasserstein_distance(values, values, p, q))


@dataclass(frozen=True, slots=True)
class GoodnessOfFit:
    """Pearson χ² of observed counts against expected shares.

    ``residuals`` are adjusted (standardised) residuals (O − E) / √(E(1 − π)), approximately N(0, 1)
    per cell under the reference; with a million records nearly every cell rejects, so the report
    leads with the mean absolute gap in points, as the paper does.
    """

    statistic: float
    dof: int
    p_value: float
    residuals: np.ndarray
    gap_pp: np.ndarray

    @property
    def mean_abs_gap_pp(self) -> float:
        return float(np.abs(self.gap_pp).mean())


def chi_square_gof(observed: np.ndarray, expected_share: np.ndarray) -> GoodnessOfFit:
    """χ² goodness of fit of ``observed`` counts to the reference shares ``expected_share``."""
    observed = np.asarray(observed, dtype=float)
    share = normalise(expected_share)
    n = observed.sum()
    expected = n * share
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = float(np.where(expected > 0, (observed - expected) ** 2 / expected, 0.0).sum())
        residuals = np.where(expected > 0, (observed - expected) / np.sqrt(expected * (1 - share)), 0.0)
    dof = int((share > 0).sum() - 1)
    p_value = float(stats.chi2.sf(statistic, dof)) if dof > 0 else 1.0
    gap = 100 * (normalise(observed) - share)
    return GoodnessOfFit(statistic, dof, p_value, residuals, gap)


def cramers_v(table: np.ndarray, bias_corrected: bool = True) -> float:
    """Cramér's V of an r × c contingency table of counts.

    With ``bias_corrected`` it is Bergsma's (2013) df-aware estimator: φ² is shrunk by its expectation
    under independence, (r−1)(c−1)/(n−1), and r, c are corrected likewise. This is what makes V
    comparable between a 1M-row dataset and a reference table of a different size (paper §4.1).
    Rows or columns with no observations are dropped first.
    """
    table = np.asarray(table, dtype=float)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    r, c = table.shape
    n = table.sum()
    if r < 2 or c < 2 or n < 2:
        return 0.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    phi2 = chi2 / n
    if not bias_corrected:
        return float(np.sqrt(phi2 / min(r - 1, c - 1)))
    phi2 = max(0.0, phi2 - (r - 1) * (c - 1) / (n - 1))
    r_corr = r - (r - 1) ** 2 / (n - 1)
    c_corr = c - (c - 1) ** 2 / (n - 1)
    denominator = min(r_corr - 1, c_corr - 1)
    return float(np.sqrt(phi2 / denominator)) if denominator > 0 else 0.0


def permutation_null_v(table: np.ndarray, replicates: int, seed: int) -> np.ndarray:
    """Bias-corrected V of ``replicates`` tables drawn with the margins of ``table`` fixed.

    Permuting one label (sex) across records keeps both margins and draws the table from the
    multivariate hypergeometric law; scipy's ``random_table`` samples that law directly, which is
    the same null as shuffling a million labels, at the cost of a few hundred tables.
    """
    table = np.asarray(table, dtype=np.int64)
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    keep_r, keep_c = rows > 0, cols > 0
    sampler = stats.random_table(rows[keep_r], cols[keep_c], seed=np.random.default_rng(seed))
    draws = sampler.rvs(size=replicates)
    return np.array([cramers_v(draw) for draw in draws])


def plus_one_p_value(null: np.ndarray, observed: float) -> float:
    """Upper-tail empirical p-value with the plus-one correction, (1 + #{null ≥ obs}) / (1 + R)."""
    return float((1 + np.count_nonzero(null >= observed)) / (1 + null.size))


def bootstrap_column_share(table: np.ndarray, row: int, replicates: int, seed: int) -> np.ndarray:
    """Bootstrap replicates of the share of ``row`` within each column of a count table.

    Resampling n records with replacement is a multinomial draw over the cells, so each replicate
    costs one ``rng.multinomial`` call whatever n is. Returns an array (replicates, columns);
    columns that come out empty in a replicate are NaN.
    """
    table = np.asarray(table, dtype=np.int64)
    n = int(table.sum())
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, normalise(table.ravel()), size=replicates).reshape(replicates, *table.shape)
    totals = draws.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(totals > 0, draws[:, row, :] / totals, np.nan)


def percentile_interval(replicates: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval per column (NaN replicates ignored)."""
    alpha = (1 - level) / 2
    return (np.nanquantile(replicates, alpha, axis=0), np.nanquantile(replicates, 1 - alpha, axis=0))


def binomial_interval(successes: np.ndarray, trials: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for proportions, elementwise (empty cells give NaN)."""
    successes = np.asarray(successes, dtype=float)
    trials = np.asarray(trials, dtype=float)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = successes / trials
        centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
        half = z * np.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return centre - half, centre + half


def flip_labels(counts: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """Move a random ``level`` share of each sex's records to a uniformly chosen *other* major.

    Per cell the number flipped is binomial and its destinations multinomial over the other eight
    majors — the exact law of flipping records one by one, drawn in a few array calls.
    """
    counts = counts.astype(np.int64)
    flipped = rng.binomial(counts, level)
    out = counts - flipped
    k = counts.shape[1]
    for sex in range(counts.shape[0]):
        for j in range(k):
            if flipped[sex, j]:
                moved = rng.multinomial(flipped[sex, j], np.full(k - 1, 1 / (k - 1)))
                out[sex, np.arange(k) != j] += moved
    return out.astype(float)
