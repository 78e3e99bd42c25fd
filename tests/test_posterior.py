"""Exact conditional sampling on small networks, checked against brute-force enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from ingu.model.network import ModelError, Network, Variable
from ingu.sample.posterior import EmptyConditionalError, draw, posterior_tables


def _random_cpt(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    a = rng.gamma(0.7, size=shape)
    return a / a.sum(axis=-1, keepdims=True)


@pytest.fixture()
def diamond() -> Network:
    """a → b, a → c, (b, c) → d, d → e: a non-tree DAG, the hard case for exact conditioning."""
    rng = np.random.default_rng(7)
    lab = lambda k: tuple(str(i) for i in range(k))  # noqa: E731
    return Network(
        [
            Variable("a", lab(3), (), _random_cpt(rng, (3,))),
            Variable("b", lab(2), ("a",), _random_cpt(rng, (3, 2))),
            Variable("c", lab(4), ("a",), _random_cpt(rng, (3, 4))),
            Variable("d", lab(3), ("b", "c"), _random_cpt(rng, (2, 4, 3))),
            Variable("e", lab(2), ("d",), _random_cpt(rng, (3, 2))),
        ]
    )


def _joint(net: Network) -> np.ndarray:
    cards = [v.card for v in net.variables]
    joint = np.ones(cards)
    for idx in itertools.product(*[range(k) for k in cards]):
        codes = dict(zip(net.names, idx))
        p = 1.0
        for v in net.variables:
            p *= v.cpt[tuple(codes[q] for q in v.parents) + (codes[v.name],)]
        joint[idx] = p
    return joint


def _assert_fits(draws: np.ndarray, p: np.ndarray, shape: tuple[int, ...]) -> None:
    """Chi-square goodness of fit of sampled cells against exact probabilities.

    Cells with expected count < 5 are pooled so the chi-square approximation holds; the test fails
    only at p < 1e-4, so a correct sampler fails about once in 10,000 runs (seeds are fixed).
    """
    n = len(draws)
    counts = np.bincount(np.ravel_multi_index(draws.T, shape), minlength=p.size)
    big = n * p >= 5
    obs = np.append(counts[big], counts[~big].sum())
    exp = np.append(n * p[big], n * p[~big].sum())
    keep = exp > 0
    assert counts[p == 0].sum() == 0, "a zero-probability cell was sampled"
    assert stats.chisquare(obs[keep], exp[keep]).pvalue > 1e-4


def _sample(net: Network, evidence: dict, n: int, seed: int) -> np.ndarray:
    tables, _ = posterior_tables(net, evidence)
    rng = np.random.default_rng(seed)
    codes: dict[str, np.ndarray] = {}
    for t in tables:
        codes[t.name] = draw(t, codes, rng.random(n))
    return np.stack([codes[name] for name in net.names], axis=1)


def test_marginal_matches_enumeration(diamond: Network) -> None:
    joint = _joint(diamond)
    np.testing.assert_allclose(diamond.marginal(["d", "a"]), joint.sum(axis=(1, 2, 4)).T, atol=1e-12)


def test_conditional_sampling_is_exact_on_non_tree_dag(diamond: Network) -> None:
    # Evidence on a descendant (e) and a middle node (c): rejection-free, must equal Bayes' rule.
    evidence = {"e": np.array([False, True]), "c": np.array([True, False, True, False])}
    joint = _joint(diamond)
    mask = np.ones_like(joint, dtype=bool)
    mask[:, :, [1, 3], :, :] = False
    mask[..., 0] = False
    post = np.where(mask, joint, 0)
    post /= post.sum()
    tables, prob = posterior_tables(diamond, evidence)
    assert prob == pytest.approx(joint[mask].sum(), rel=1e-12)

    n = 200_000
    draws = _sample(diamond, evidence, n, seed=1)
    assert set(np.unique(draws[:, 2])) <= {0, 2}
    assert (draws[:, 4] == 1).all()
    _assert_fits(draws, post.ravel(), joint.shape)


def test_unconditioned_sampling_matches_joint(diamond: Network) -> None:
    joint = _joint(diamond)
    n = 200_000
    draws = _sample(diamond, {}, n, seed=2)
    _assert_fits(draws, joint.ravel(), joint.shape)


def test_rare_condition_does_not_starve() -> None:
    # A condition with probability 1e-9 still yields exactly the requested rows.
    cpt_a = np.array([1 - 1e-9, 1e-9])
    net = Network([Variable("a", ("common", "rare"), (), cpt_a)])
    tables, prob = posterior_tables(net, {"a": np.array([False, True])})
    assert prob == pytest.approx(1e-9)
    out = draw(tables[0], {}, np.random.default_rng(0).random(1000))
    assert (out == 1).all()


def test_impossible_condition_raises(diamond: Network) -> None:
    with pytest.raises(EmptyConditionalError):
        posterior_tables(diamond, {"a": np.zeros(3, dtype=bool)})


def test_zero_probability_category_never_drawn() -> None:
    net = Network([Variable("a", ("x", "y", "z"), (), np.array([0.5, 0.0, 0.5]))])
    tables, _ = posterior_tables(net)
    out = draw(tables[0], {}, np.linspace(0, 1, 10001, endpoint=False))
    assert 1 not in set(out.tolist())


def test_invalid_networks_are_rejected() -> None:
    with pytest.raises(ModelError, match="not declared before"):
        Network([Variable("b", ("0",), ("a",), np.ones((1, 1)))])
    with pytest.raises(ModelError, match="do not sum to 1"):
        Network([Variable("a", ("0", "1"), (), np.array([0.3, 0.3]))])
