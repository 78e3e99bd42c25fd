"""Exact conditioning of a Bayesian network on per-variable evidence masks.

Backward filtering, forward sampling: eliminate the evidence likelihood in reverse topological order
(each elimination produces a factor over earlier variables only), then sample forward from
``P(v | parents) * mask_v * (factors created when eliminating v)``. Every conditioning variable of
that product is already sampled when ``v`` is reached, so the result is an exact draw from the
conditional distribution — no rejection, no starvation however rare the condition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingu.model.network import Network, _einsum, _union_scope


class EmptyConditionalError(ValueError):
    """The condition has probability zero under the model."""


@dataclass(frozen=True)
class SamplingTable:
    """The table a variable is drawn from: rows indexed by ``given`` codes, last axis = variable.

    ``cdf`` is flattened with row offsets added (row ``r`` spans ``[r, r + 1]``), so one
    ``searchsorted`` draws every row whatever its parent configuration.
    """

    name: str
    given: tuple[str, ...]
    shape: tuple[int, ...]
    card: int
    flat_cdf: np.ndarray


def posterior_tables(
    network: Network, evidence: dict[str, np.ndarray] | None = None
) -> tuple[list[SamplingTable], float]:
    """Sampling tables for every variable under ``evidence`` and the evidence probability.

    Parameters
    ----------
    network
        The fitted model.
    evidence
        Variable name → boolean mask over its labels (``True`` = allowed). Variables without
        evidence are unconstrained.

    Returns
    -------
    tables, probability
        One :class:`SamplingTable` per variable in network order, and ``P(evidence)``.
    """
    evidence = evidence or {}
    pending: list[tuple[tuple[str, ...], np.ndarray]] = []
    attached: dict[str, list[tuple[tuple[str, ...], np.ndarray]]] = {}
    for v in reversed(network.variables):
        involved = [f for f in pending if v.name in f[0]]
        if v.name not in evidence and not involved:
            continue
        pending = [f for f in pending if v.name not in f[0]]
        factors = [(v.parents + (v.name,), v.cpt)]
        if v.name in evidence:
            factors.append(((v.name,), evidence[v.name].astype(np.float64)))
        factors += involved
        attached[v.name] = involved
        scope = _union_scope([s for s, _ in factors])
        out = tuple(d for d in scope if d != v.name)
        pending.append((out, _einsum(factors, out)))
    probability = float(np.prod([f[1] for f in pending])) if pending else 1.0
    if probability <= 0.0:
        raise EmptyConditionalError("no record satisfies the condition under the model")

    tables: list[SamplingTable] = []
    for v in network.variables:
        factors = [(v.parents + (v.name,), v.cpt)]
        if v.name in evidence:
            factors.append(((v.name,), evidence[v.name].astype(np.float64)))
        factors += attached.get(v.name, [])
        scope = _union_scope([s for s, _ in factors])
        given = tuple(d for d in scope if d != v.name)
        table = _einsum(factors, given + (v.name,))
        tables.append(_sampling_table(v.name, given, table))
    return tables, probability


def _sampling_table(name: str, given: tuple[str, ...], table: np.ndarray) -> SamplingTable:
    card = table.shape[-1]
    rows = table.reshape(-1, card)
    totals = rows.sum(axis=1, keepdims=True)
    # Rows that cannot be reached (zero mass) get a harmless uniform row so the CDF stays monotone.
    with np.errstate(invalid="ignore", divide="ignore"):
        probs = np.where(totals > 0, rows / totals, 1.0 / card)
    cdf = np.cumsum(probs, axis=1)
    cdf[:, -1] = 1.0
    flat = (cdf + np.arange(len(rows))[:, None]).ravel()
    return SamplingTable(name, given, table.shape[:-1], card, flat)


def draw(table: SamplingTable, codes: dict[str, np.ndarray], uniforms: np.ndarray) -> np.ndarray:
    """Draw one code per row given the already-drawn ``codes`` of ``table.given``."""
    if table.given:
        row = np.ravel_multi_index(tuple(codes[g] for g in table.given), table.shape)
        target = row + uniforms
    else:
        row = 0
        target = uniforms
    # side="right": a uniform that lands exactly on a boundary goes to the next category, so a
    # zero-probability category (zero-width interval) can never be drawn.
    pos = np.searchsorted(table.flat_cdf, target, side="right")
    out = pos - row * table.card
    # Guard against the last ulp of float rounding at a row's upper edge.
    np.clip(out, 0, table.card - 1, out=out)
    return out.astype(np.int32, copy=False)
