"""What every axis returns, and the small builders for the report's generic tables and charts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np

Verdict = Literal["pass", "flag", "skip"]


@dataclass(slots=True)
class AxisResult:
    """One axis of the audit: its verdict with the reason, and every number behind it."""

    id: str
    title: str
    verdict: Verdict
    reason: str
    headline: str = ""
    reference: list[str] = field(default_factory=list)
    statistics: dict[str, Any] = field(default_factory=dict)
    tables: list[dict[str, Any]] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "verdict": self.verdict, "reason": self.reason,
            "headline": self.headline, "reference": self.reference, "statistics": clean(self.statistics),
            "tables": clean(self.tables), "charts": clean(self.charts),
        }


def skipped(axis_id: str, title: str, reason: str, reference: Sequence[str] = ()) -> AxisResult:
    """An axis that could not be computed (missing fields, too few records) — reported, not crashed."""
    return AxisResult(axis_id, title, "skip", reason, headline="skipped", reference=list(reference))


def missing_fields(available: Sequence[str], needed: Sequence[str]) -> list[str]:
    return [name for name in needed if name not in available]


def clean(value: Any) -> Any:
    """Make a value JSON-safe: numpy scalars → Python, NaN/inf → None, tuples → lists."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return clean(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], note: str | None = None) -> dict[str, Any]:
    return {"title": title, "columns": list(columns), "rows": [list(r) for r in rows], "note": note}


def chart(kind: Literal["bar", "line"], title: str, categories: Sequence[str], series: Sequence[dict[str, Any]],
          *, x_label: str = "", y_label: str = "", unit: str = "share",
          reference_lines: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"kind": kind, "title": title, "categories": list(categories), "series": list(series),
            "x_label": x_label, "y_label": y_label, "unit": unit, "reference_lines": list(reference_lines)}


def series(name: str, values: Sequence[float | None], low: Sequence[float] | None = None,
           high: Sequence[float] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "values": list(values)}
    if low is not None and high is not None:
        out["low"], out["high"] = list(low), list(high)
    return out


def pp(x: float) -> float:
    """A share difference in percentage points, rounded for display tables."""
    return round(100 * float(x), 2)
