"""The state shared by the blocks while a model is fitted: variables so far, tables, reports."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from ingu.model.ipf import FitReport
from ingu.model.network import Network, Variable

REFERENCE_YEAR = 2024
MIN_AGE, MAX_AGE = 19, 104
AGES = np.arange(MIN_AGE, MAX_AGE + 1)


@dataclass
class FitContext:
    """What a block's ``fit`` function receives.

    Blocks add their variables with :meth:`add` in topological order; later blocks read the joint
    distribution of earlier variables with :meth:`marginal` (exact, by variable elimination).
    """

    variables: list[Variable] = field(default_factory=list)
    reports: dict[str, dict] = field(default_factory=dict)
    tables_used: dict[str, list[str]] = field(default_factory=dict)
    overrides: dict[str, pl.DataFrame] = field(default_factory=dict)

    def table(self, table_id: str) -> pl.DataFrame:
        """A reference table (a user override first, then the cache, then the shipped copy)."""
        if table_id in self.overrides:
            return self.overrides[table_id]
        from ingu.reference import load_table

        return load_table(table_id)

    def labels(self, vocab: str) -> tuple[str, ...]:
        """Labels of a ``vocab_*`` table in code order."""
        df = self.table(f"vocab_{vocab}").sort("code")
        col = "label" if "label" in df.columns else "npk_label"
        return tuple(df[col].to_list())

    def add(self, variable: Variable) -> None:
        self.variables.append(variable)

    def network(self) -> Network:
        return Network(list(self.variables))

    def __getitem__(self, name: str) -> Variable:
        for v in self.variables:
            if v.name == name:
                return v
        raise KeyError(name)

    def marginal(self, names: list[str]) -> np.ndarray:
        """Exact joint distribution of already-fitted variables ``names`` (axes in that order)."""
        return self.network().marginal(names)

    def record(self, block: str, name: str, report: FitReport | dict) -> None:
        """Keep a block's fit report for the card."""
        self.reports.setdefault(block, {})[name] = (
            report.to_dict() if isinstance(report, FitReport) else report
        )


def conditional(joint: np.ndarray, n_child_axes: int = 1) -> np.ndarray:
    """Normalise a joint over ``(*parents, *children)`` into ``P(children | parents)``.

    Rows with zero mass become all-zero (unreachable parent configurations).
    """
    axes = tuple(range(joint.ndim - n_child_axes, joint.ndim))
    total = joint.sum(axis=axes, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, joint / total, 0.0)


def band_index(ages: np.ndarray, edges: list[int]) -> np.ndarray:
    """Map ages to band indices given left edges (``[19, 30, 40]`` → 19–29, 30–39, 40+); -1 below."""
    return np.searchsorted(np.asarray(edges), ages, side="right") - 1
