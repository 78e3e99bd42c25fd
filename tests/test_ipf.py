"""IPF: recovers known joints, respects universes and conditional margins, reports conflicts."""

from __future__ import annotations

import numpy as np
import pytest

from ingu.model.ipf import Margin, fit


def test_two_way_raking_matches_classic_solution() -> None:
    # Deming–Stephan: raking a uniform seed to two 1-D margins gives the independence table.
    rows, cols = np.array([30.0, 70.0]), np.array([20.0, 50.0, 30.0])
    joint, report = fit(np.ones((2, 3)), ("r", "c"), [Margin("rows", ("r",), rows), Margin("cols", ("c",), cols)])
    np.testing.assert_allclose(joint / joint.sum(), np.outer(rows, cols) / 1e4, atol=1e-9)
    assert report.converged and all(m.met for m in report.margins)


def test_seed_interactions_survive_raking() -> None:
    # IPF preserves the seed's odds ratios: the fitted table keeps the seed's interaction.
    seed = np.array([[4.0, 1.0], [1.0, 4.0]])
    joint, _ = fit(seed, ("a", "b"), [Margin("a", ("a",), [1, 3]), Margin("b", ("b",), [2, 2])])
    odds = joint[0, 0] * joint[1, 1] / (joint[0, 1] * joint[1, 0])
    assert odds == pytest.approx(16.0, rel=1e-6)


def test_conditional_margin_fixes_shares_not_totals() -> None:
    # Parent margin (age) holds exactly; the occupation mix within each age group follows the table.
    age = np.array([600.0, 400.0])
    mix = np.array([[0.2, 0.8], [0.7, 0.3]]) * 12345  # arbitrary unit: only shares matter
    joint, report = fit(
        np.ones((2, 2)), ("age", "occ"),
        [Margin("mix", ("age", "occ"), mix, given=("age",)), Margin("pop", ("age",), age)],
    )
    np.testing.assert_allclose(joint.sum(axis=1) / joint.sum(), age / age.sum())
    np.testing.assert_allclose(joint / joint.sum(axis=1, keepdims=True), [[0.2, 0.8], [0.7, 0.3]], atol=1e-9)
    assert report.converged


def test_universe_exclusion_leaves_outside_cells_alone() -> None:
    # An occupation table over the employed only must not move the non-employed cells.
    seed = np.array([[10.0, 10.0], [5.0, 5.0], [7.0, 3.0]])  # rows: employed-A, employed-B, not-employed
    groups = {"status": np.array([0, 1, -1])}
    joint, _ = fit(seed, ("status", "sex"), [Margin("emp", ("status",), [1.0, 3.0], groups=groups)])
    np.testing.assert_allclose(joint[2], [7.0, 3.0])
    assert joint[1].sum() / joint[0].sum() == pytest.approx(3.0)


def test_grouped_axis_margin() -> None:
    # Single-year ages folded into bands: the band totals hold, the within-band seed shape stays.
    seed = np.array([1.0, 2.0, 3.0, 4.0])
    groups = {"age": np.array([0, 0, 1, 1])}
    joint, _ = fit(seed, ("age",), [Margin("bands", ("age",), [50.0, 50.0], groups=groups)])
    np.testing.assert_allclose(joint / joint.sum(), [1 / 6, 2 / 6, 3 / 14, 4 / 14])


def test_conflicting_tables_are_reported_not_hidden() -> None:
    # Two tables disagree on the same margin (60/40 vs 50/50): not both can be met, and the
    # report names both with their gap instead of oscillating silently.
    joint, report = fit(
        np.ones(2), ("sex",),
        [Margin("table A", ("sex",), [60.0, 40.0]), Margin("table B", ("sex",), [50.0, 50.0])],
        max_sweeps=50,
    )
    assert not report.converged
    unmet = {c["table"] for c in report.conflicts}
    assert "table A" in unmet
    gap = {m.name: m for m in report.margins}["table A"]
    assert gap.max_abs_pp == pytest.approx(10.0, abs=0.01)
    assert "table B" in report.conflicts[0]["overlaps_with"]


def test_bad_margins_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        Margin("m", ("a",), [-1.0, 2.0])
    with pytest.raises(ValueError, match="given dims"):
        Margin("m", ("a",), [1.0, 2.0], given=("b",))
