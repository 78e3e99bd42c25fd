"""Iterative proportional fitting (raking) of a joint table to several partial official tables.

Official tables rarely share a universe, a year or a grouping. A :class:`Margin` therefore says which
axes it constrains, how each axis's categories fold into the table's groups (``-1`` = outside the
table's universe, left untouched), and which axes it is *conditional* on: a conditional margin fixes
only the shares within each cell of the ``given`` axes (e.g. the occupation mix within each age band),
so tables with different totals and years can constrain one joint without fighting over totals.

When tables disagree, IPF cannot satisfy all of them and oscillates between them. Instead of
iterating silently, :func:`fit` stops at a bounded number of sweeps and returns a :class:`FitReport`
that names every table it could not meet and by how much (total variation, largest cell gap, in
percentage points), and which tables pull against each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Margin:
    """One constraint on the joint.

    Parameters
    ----------
    name
        Human-readable id: the reference table (and cell) it comes from.
    dims
        Axes of the joint this table constrains, in the order of ``target``'s axes.
    target
        Non-negative array, one axis per dim, sized by the number of groups of that dim.
        Only proportions matter (the table's own total/unit is irrelevant).
    groups
        Optional ``dim → int array`` (length = the dim's cardinality) mapping categories to the
        table's groups; ``-1`` excludes a category from the table's universe.
    given
        Dims (a subset of ``dims``) the target is conditional on.
    """

    name: str
    dims: tuple[str, ...]
    target: np.ndarray
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    given: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.target = np.asarray(self.target, dtype=np.float64)
        if self.target.ndim != len(self.dims):
            raise ValueError(f"{self.name}: target has {self.target.ndim} axes for dims {self.dims}")
        if (self.target < 0).any() or not np.isfinite(self.target).all():
            raise ValueError(f"{self.name}: target has negative or non-finite cells")
        unknown = set(self.given) - set(self.dims)
        if unknown:
            raise ValueError(f"{self.name}: given dims {sorted(unknown)} not in dims")


@dataclass
class MarginFit:
    """How well the fitted joint meets one table."""

    name: str
    total_variation: float
    max_abs_pp: float
    met: bool


@dataclass
class FitReport:
    """Outcome of :func:`fit`: convergence and the tables that could not all be met."""

    converged: bool
    sweeps: int
    margins: list[MarginFit]
    conflicts: list[dict]

    def to_dict(self) -> dict:
        return {
            "converged": self.converged,
            "sweeps": self.sweeps,
            "margins": [m.__dict__ for m in self.margins],
            "conflicts": self.conflicts,
        }


class _Compiled:
    """A margin with one-hot group matrices, ready for repeated aggregation."""

    def __init__(self, margin: Margin, axes: dict[str, int], shape: tuple[int, ...]) -> None:
        self.margin = margin
        self.ndim = len(shape)
        self.axes = [axes[d] for d in margin.dims]
        self.onehots: list[np.ndarray | None] = []
        inside = np.ones(shape, dtype=bool)
        for d, ax in zip(margin.dims, self.axes):
            g = margin.groups.get(d)
            if g is None:
                if shape[ax] != margin.target.shape[margin.dims.index(d)]:
                    raise ValueError(f"{margin.name}: dim {d} has {shape[ax]} categories, target "
                                     f"{margin.target.shape[margin.dims.index(d)]}")
                self.onehots.append(None)
                continue
            g = np.asarray(g)
            k = margin.target.shape[margin.dims.index(d)]
            if len(g) != shape[ax] or g.max() >= k:
                raise ValueError(f"{margin.name}: bad grouping for dim {d}")
            oh = np.zeros((shape[ax], k))
            ok = g >= 0
            oh[np.arange(shape[ax])[ok], g[ok]] = 1.0
            self.onehots.append(oh)
            sl = [np.newaxis] * len(shape)
            sl[ax] = slice(None)
            inside &= ok[tuple(sl)]
        self.outside = (~inside).astype(np.float64) if not inside.all() else None
        self.given_axes = tuple(margin.dims.index(d) for d in margin.given)
        free = tuple(i for i in range(len(margin.dims)) if i not in self.given_axes)
        t = margin.target
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.given_axes:
                self.shares = t / t.sum(axis=free, keepdims=True)
            else:
                self.shares = t / t.sum()
        self.shares = np.nan_to_num(self.shares)
        self.free = free

    def aggregate(self, joint: np.ndarray) -> np.ndarray:
        other = tuple(i for i in range(self.ndim) if i not in self.axes)
        m = joint.sum(axis=other) if other else joint
        # m's axes are in joint order; reorder to margin order.
        perm = [sorted(self.axes).index(a) for a in self.axes]
        m = np.transpose(m, perm)
        for i, oh in enumerate(self.onehots):
            if oh is not None:
                m = np.moveaxis(np.tensordot(m, oh, axes=([i], [0])), -1, i)
        return m

    def desired(self, current: np.ndarray) -> np.ndarray:
        if self.given_axes:
            return self.shares * current.sum(axis=self.free, keepdims=True)
        return self.shares * current.sum()

    def expand(self, ratio: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        r = ratio
        for i, oh in enumerate(self.onehots):
            if oh is not None:
                r = np.moveaxis(np.tensordot(r, oh.T, axes=([i], [0])), -1, i)
        # r is in margin dim order; put it in joint axis order with singleton axes elsewhere.
        perm = np.argsort(self.axes)
        r = np.transpose(r, perm)
        sl = [np.newaxis] * self.ndim
        for a in sorted(self.axes):
            sl[a] = slice(None)
        r = r[tuple(sl)]
        if self.outside is not None:
            r = r + self.outside  # categories outside the table's universe keep factor 1
        return r

    def gap(self, joint: np.ndarray) -> tuple[float, float]:
        """(total variation, max |share gap|) between the fitted joint and the target shares."""
        cur = self.aggregate(joint)
        total = cur.sum(axis=self.free, keepdims=True) if self.given_axes else cur.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = np.nan_to_num(cur / total)
        diff = np.abs(shares - self.shares)
        if self.given_axes:
            # Only cells of the given axes that the table covers and the joint reaches count;
            # weight them by their mass in the joint.
            covered = (self.margin.target.sum(axis=self.free, keepdims=True) > 0) & (total > 0)
            weight = np.where(covered, total, 0.0)
            per_cell = 0.5 * diff.sum(axis=self.free, keepdims=True)
            tv = float((per_cell * weight).sum() / max(weight.sum(), 1e-300))
            mx = float(np.where(covered, diff, 0).max()) if diff.size else 0.0
        else:
            tv = float(0.5 * diff.sum())
            mx = float(diff.max()) if diff.size else 0.0
        return tv, mx


def fit(
    seed: np.ndarray,
    dims: tuple[str, ...],
    margins: list[Margin],
    *,
    tol: float = 1e-7,
    max_sweeps: int = 500,
    met_tv: float = 0.005,
) -> tuple[np.ndarray, FitReport]:
    """Rake ``seed`` (a non-negative joint over ``dims``) to every margin.

    Margins are applied in order in each sweep; put the one that must hold exactly (usually the
    parent population) last. Returns the fitted joint and a :class:`FitReport`.
    A margin is reported ``met`` when its total-variation gap is below ``met_tv``.
    """
    axes = {d: i for i, d in enumerate(dims)}
    joint = np.array(seed, dtype=np.float64, copy=True)
    compiled = [_Compiled(m, axes, joint.shape) for m in margins]
    converged = False
    sweeps = 0
    history: list[float] = []
    for sweeps in range(1, max_sweeps + 1):
        worst = 0.0
        for c in compiled:
            cur = c.aggregate(joint)
            want = c.desired(cur)
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.where(cur > 0, want / cur, 1.0)
            worst = max(worst, float(np.abs(want - cur).max() / max(joint.sum(), 1e-300)))
            joint *= c.expand(ratio, joint.shape)
        history.append(worst)
        if worst < tol:
            converged = True
            break
    fits = []
    for c in compiled:
        tv, mx = c.gap(joint)
        fits.append(MarginFit(c.margin.name, tv, 100 * mx, tv < met_tv))
    conflicts = _conflicts(fits, compiled, joint) if not converged else []
    return joint, FitReport(converged, sweeps, fits, conflicts)


def _conflicts(fits: list[MarginFit], compiled: list[_Compiled], joint: np.ndarray) -> list[dict]:
    """Name pairs of unmet tables that constrain overlapping axes: the tables pulling apart."""
    out = []
    unmet = [i for i, f in enumerate(fits) if not f.met]
    for i in unmet:
        partners = [
            compiled[j].margin.name
            for j in range(len(compiled))
            if j != i and set(compiled[j].margin.dims) & set(compiled[i].margin.dims)
        ]
        out.append({
            "table": fits[i].name,
            "total_variation": round(fits[i].total_variation, 6),
            "max_gap_pp": round(fits[i].max_abs_pp, 3),
            "overlaps_with": partners,
        })
    return out
