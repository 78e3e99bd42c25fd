"""A discrete Bayesian network: variables with dense conditional probability tables (CPTs).

The fitted population model is one of these. It is deliberately plain — numpy arrays and label
tuples — so that sampling is vectorised, exact conditioning is a few ``einsum`` calls, and the model
can be saved without pickle (``.npz`` + JSON, see :mod:`ingu.model.store`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class ModelError(ValueError):
    """A model that is not a valid Bayesian network (shapes, parents, probabilities)."""


@dataclass(frozen=True)
class Variable:
    """One categorical variable and its CPT.

    Parameters
    ----------
    name
        Column name of the variable.
    labels
        The vocabulary; code ``i`` means ``labels[i]``.
    parents
        Names of parent variables, all declared earlier in the network.
    cpt
        float64 array of shape ``(*parent_cards, len(labels))`` whose last axis sums to 1
        (rows of impossible parent configurations may be all-zero).
    """

    name: str
    labels: tuple[str, ...]
    parents: tuple[str, ...]
    cpt: np.ndarray
    fitted_to: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()

    @property
    def card(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Derived:
    """A column that is a deterministic function of one variable's code.

    ``lookup[code]`` is the derived code (``-1`` for null); ``labels`` is the derived vocabulary.
    For numeric columns (``age``, ``birth_year``) ``values`` holds the number for each source code.
    """

    name: str
    source: str
    lookup: np.ndarray
    labels: tuple[str, ...] = ()
    values: np.ndarray | None = None


@dataclass
class Network:
    """Variables in topological order plus derived columns."""

    variables: list[Variable]
    derived: list[Derived] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._index = {v.name: i for i, v in enumerate(self.variables)}
        self.validate()

    def __getitem__(self, name: str) -> Variable:
        return self.variables[self._index[name]]

    def __contains__(self, name: str) -> bool:
        return name in self._index

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variables]

    def position(self, name: str) -> int:
        return self._index[name]

    def derived_column(self, name: str) -> Derived:
        for d in self.derived:
            if d.name == name:
                return d
        raise KeyError(name)

    def validate(self) -> None:
        """Check parent order, CPT shapes and normalisation; raise :class:`ModelError`."""
        seen: dict[str, int] = {}
        for v in self.variables:
            if v.name in seen:
                raise ModelError(f"variable {v.name!r} declared twice")
            for p in v.parents:
                if p not in seen:
                    raise ModelError(f"{v.name!r}: parent {p!r} is not declared before it")
            expected = tuple(seen[p] for p in v.parents) + (v.card,)
            if v.cpt.shape != expected:
                raise ModelError(f"{v.name!r}: CPT shape {v.cpt.shape} != {expected}")
            if not np.all(np.isfinite(v.cpt)) or (v.cpt < 0).any():
                raise ModelError(f"{v.name!r}: CPT has negative or non-finite entries")
            sums = v.cpt.sum(axis=-1)
            bad = ~(np.isclose(sums, 1.0, atol=1e-9) | (sums == 0))
            if bad.any():
                raise ModelError(f"{v.name!r}: {int(bad.sum())} CPT rows do not sum to 1")
            seen[v.name] = v.card
        for d in self.derived:
            if d.source not in seen:
                raise ModelError(f"derived {d.name!r}: unknown source {d.source!r}")
            if len(d.lookup) != seen[d.source]:
                raise ModelError(f"derived {d.name!r}: lookup length != card of {d.source!r}")

    def marginal(self, names: list[str] | tuple[str, ...]) -> np.ndarray:
        """Exact joint marginal over ``names`` (in that axis order) by variable elimination.

        Only feasible for modest state spaces; used in fitting (the parent distribution of a
        block) and in tests.
        """
        wanted = set(names)
        # Ancestors of the wanted variables are all that matter.
        needed: set[str] = set()
        stack = list(names)
        while stack:
            n = stack.pop()
            if n in needed:
                continue
            needed.add(n)
            stack.extend(self[n].parents)
        factors: list[tuple[tuple[str, ...], np.ndarray]] = [
            (v.parents + (v.name,), v.cpt) for v in self.variables if v.name in needed
        ]
        for v in reversed(self.variables):
            if v.name not in needed or v.name in wanted:
                continue
            involved = [f for f in factors if v.name in f[0]]
            factors = [f for f in factors if v.name not in f[0]]
            scope = _union_scope([f[0] for f in involved])
            out = tuple(d for d in scope if d != v.name)
            factors.append((out, _einsum(involved, out)))
        return _einsum(factors, tuple(names))


def _union_scope(scopes: list[tuple[str, ...]]) -> tuple[str, ...]:
    out: list[str] = []
    for s in scopes:
        for d in s:
            if d not in out:
                out.append(d)
    return tuple(out)


def _einsum(factors: list[tuple[tuple[str, ...], np.ndarray]], out: tuple[str, ...]) -> np.ndarray:
    """Multiply named-axis factors and sum out every axis not in ``out``."""
    letters: dict[str, str] = {}
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for scope, _ in factors:
        for d in scope:
            letters.setdefault(d, alphabet[len(letters)])
    for d in out:
        if d not in letters:
            raise ModelError(f"axis {d!r} requested but not in any factor")
    spec = ",".join("".join(letters[d] for d in scope) for scope, _ in factors)
    spec += "->" + "".join(letters[d] for d in out)
    return np.einsum(spec, *[a for _, a in factors], optimize=True)
