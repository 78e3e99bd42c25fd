"""Homophily networks over a persona table: who knows whom, drawn from an attribute-distance model.

A network is built in two layers:

* **household ties** — where the table has a ``household_id`` column, the members of each household
  are connected to each other (a clique per household; rows with a null id get none). They are
  data, not a modelling choice, so they are added as they are;
* **social ties** — ``round(n × mean_degree / 2)`` undirected edges drawn by a *mixture model*.
  Every edge starts at a persona (each persona starts the same number of edges, ± 1) and, for each
  targeted attribute *k*, independently with probability ``q_k``, requires its partner to share
  that attribute (the same district, the same education level, …; for age: an age within
  ``age_window`` years). The partner is drawn uniformly among the personas that meet every
  requirement drawn for that edge (vectorised block sampling: nodes sorted by a key made of the
  required attributes, ranges found with ``searchsorted``); with no requirement, uniformly among
  everyone. Where no one else meets the requirements, they are dropped one at a time, finest
  category first (age falls back to the nearest age instead). Self loops and duplicate edges are
  never kept; the edges they would have been are redrawn.

The ``q_k`` are *calibrated*: the network is built, each attribute's assortativity is measured,
and ``q_k`` is solved from the exact linear decomposition ``r_k = f_k·c_in + (1 − f_k)·c_out``
(``f_k``: the share of edges that were required to match on *k*; ``c_in``/``c_out``: the mean
assortativity contribution of those edges and of the others). Attributes are correlated (matching
on age also matches family type, education, …), so the solve is repeated — a few builds of the
full graph — until every target is met.

Assortativity is Newman's: for a categorical attribute
``r = (Σ e_ii − Σ a_i²) / (1 − Σ a_i²)``; for age, the Pearson correlation of the endpoints' ages
over edges taken in both directions (what ``networkx`` computes for an undirected graph). Targets
apply to the *social* ties; the report also gives the values over all ties.

What can be reached: the model only ever *adds* matching, so a target below what the other
attributes' homophily already gives (its *floor*; about 0 — random mixing — when nothing else is
targeted) cannot be met, nor can a negative (disassortative) one; a target near 1 is met only when
nearly every edge matches (ages within ``age_window`` years give ``r`` ≈ 0.99 at most). Such targets
are reported (``status`` ``"below_floor"`` / ``"above_ceiling"``) rather than chased.

ingu ships no official Korean statistic for these coefficients (we know of none); :data:`DEFAULT_ASSORTATIVITY`
are *assumptions* chosen to be moderate and round (see ``docs/simulate-network.md``), not
statistics. Set your own in a network spec.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingu.io.writers import write_file_atomic

#: Attribute name → (default column, kind). Age is numeric (matched by an age window); the rest
#: are categorical (matched exactly; a null value is a category of its own, e.g. a null
#: ``occupation_major`` means the persona is not in work).
ATTRIBUTES: dict[str, tuple[str, str]] = {
    "age": ("age", "numeric"),
    "district": ("district", "categorical"),
    "education": ("education_level", "categorical"),
    "occupation": ("occupation_major", "categorical"),
    "family": ("family_type", "categorical"),
    "sex": ("sex", "categorical"),
}
#: Default target assortativity per attribute: user-settable ASSUMPTIONS, not statistics (no
#: official Korean figure exists). ``None`` = not targeted (still measured when the column exists).
DEFAULT_ASSORTATIVITY: dict[str, float | None] = {
    "age": 0.5,
    "district": 0.5,
    "education": 0.3,
    "occupation": 0.2,
    "family": 0.2,
    "sex": None,
}
#: Edge kinds, by code.
KINDS: tuple[str, ...] = ("social", "household")
SOCIAL, HOUSEHOLD = 0, 1
#: Default household id column.
HOUSEHOLD_COLUMN = "household_id"
#: A household larger than this is rejected: its clique would dominate the network, and such a
#: group is more likely a mislabelled column than a household.
MAX_HOUSEHOLD_SIZE = 50
#: Label of the null category of a categorical attribute.
NULL_LABEL = "(null)"
#: Key written in the edge-list Parquet metadata.
METADATA_KEY = b"ingu.network"
FORMAT_VERSION = 1

# Ages enter a block key as ``key·256 + 64 + age``: the 64 offset keeps a window of up to 30 years
# inside its own block for ages 0–127 (ages above 127 are clipped for matching only).
_AGE_RADIX, _AGE_OFFSET, _AGE_MAX = 256, 64, 127
# Redraw rounds for edges lost to empty blocks, self loops and duplicates before giving up.
_MAX_ROUNDS = 30
# Calibration stops once every reachable target is this close (or after max_iterations builds).
_INNER_TOLERANCE = 0.01
# GraphML is generated this many rows at a time (bounds memory and Arrow's 2 GiB string offsets).
_GRAPHML_SLICE = 1 << 20
# Characters XML 1.0 cannot carry, as an RE2 pattern (Arrow strings are valid UTF-8: no surrogates).
_XML_ILLEGAL_RE2 = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x{fffe}\\x{ffff}]"


class NetworkSpecError(ValueError):
    """A network spec is invalid; the message names the source and the offending key."""


class NetworkInputError(ValueError):
    """The persona table cannot be used (missing column, nulls in age, oversized household…)."""


# --------------------------------------------------------------------------------------------------
# Spec


@dataclass(frozen=True)
class NetworkSpec:
    """What network to build.

    Parameters
    ----------
    mean_degree
        Target mean number of *social* ties per persona (> 0). Household ties come on top.
    assortativity
        Target assortativity per attribute (in [-1, 1]); ``None`` leaves the attribute untargeted.
        Keys are :data:`ATTRIBUTES`; missing keys take :data:`DEFAULT_ASSORTATIVITY`.
    columns
        Column per attribute; missing keys take the default column from :data:`ATTRIBUTES`
        (e.g. ``{"family": "marital_status"}``).
    tolerance
        A target is met when the achieved value is within this distance.
    age_window
        Two ages match when they differ by at most this many years (0–30).
    households
        Add household ties when the table has ``household_column``.
    household_column
        The household id column.
    max_iterations
        Builds of the full graph at most during calibration (1–30).
    """

    mean_degree: float = 10.0
    assortativity: Mapping[str, float | None] = field(default_factory=lambda: dict(DEFAULT_ASSORTATIVITY))
    columns: Mapping[str, str] = field(default_factory=lambda: {k: v[0] for k, v in ATTRIBUTES.items()})
    tolerance: float = 0.05
    age_window: int = 2
    households: bool = True
    household_column: str = HOUSEHOLD_COLUMN
    max_iterations: int = 8

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, *, source: str = "<network spec>") -> NetworkSpec:
        """A checked spec from plain data (what the YAML file holds); defaults fill what is missing.

        Raises
        ------
        NetworkSpecError
            Unknown key or attribute, wrong type, or a value out of range — naming the key.
        """
        data = {} if data is None else data
        if not isinstance(data, Mapping):
            raise NetworkSpecError(f"{source}: a network spec is a mapping, got {type(data).__name__}")
        known = {f for f in cls.__dataclass_fields__}
        for key in data:
            if key not in known:
                raise NetworkSpecError(f"{source}: unknown key {key!r}; known: {', '.join(sorted(known))}")
        targets = dict(DEFAULT_ASSORTATIVITY)
        targets.update(_attribute_map(data.get("assortativity", {}), "assortativity", source))
        columns = {k: v[0] for k, v in ATTRIBUTES.items()}
        columns.update(_attribute_map(data.get("columns", {}), "columns", source))
        spec = cls(
            mean_degree=_number(data, "mean_degree", cls.mean_degree, source),
            assortativity=targets,
            columns=columns,
            tolerance=_number(data, "tolerance", cls.tolerance, source),
            age_window=_integer(data, "age_window", cls.age_window, source),
            households=_boolean(data, "households", cls.households, source),
            household_column=data.get("household_column", cls.household_column),
            max_iterations=_integer(data, "max_iterations", cls.max_iterations, source),
        )
        spec.validate(source)
        return spec

    def validate(self, source: str = "<network spec>") -> None:
        """Check ranges and names; raise :class:`NetworkSpecError` naming the first bad key."""
        for key in ("mean_degree", "tolerance"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise NetworkSpecError(f"{source}: {key}: expected a number (got {value!r})")
        for key in ("age_window", "max_iterations"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int):
                raise NetworkSpecError(f"{source}: {key}: expected an integer (got {value!r})")
        if not (math.isfinite(self.mean_degree) and self.mean_degree > 0):
            raise NetworkSpecError(f"{source}: mean_degree must be a positive number (got {self.mean_degree!r})")
        if not (0 < self.tolerance <= 1):
            raise NetworkSpecError(f"{source}: tolerance must be in (0, 1] (got {self.tolerance!r})")
        if not (0 <= self.age_window <= 30):
            raise NetworkSpecError(f"{source}: age_window must be between 0 and 30 years (got {self.age_window!r})")
        if not (1 <= self.max_iterations <= 30):
            raise NetworkSpecError(f"{source}: max_iterations must be between 1 and 30 (got {self.max_iterations!r})")
        if not isinstance(self.household_column, str) or not self.household_column:
            raise NetworkSpecError(f"{source}: household_column must be a non-empty string")
        for name, target in self.assortativity.items():
            if name not in ATTRIBUTES:
                raise NetworkSpecError(f"{source}: assortativity.{name}: unknown attribute; known: {_known()}")
            if target is None:
                continue
            if isinstance(target, bool) or not isinstance(target, (int, float)) or not math.isfinite(target):
                raise NetworkSpecError(f"{source}: assortativity.{name}: expected a number in [-1, 1] or null "
                                       f"(got {target!r})")
            if not -1 <= target <= 1:
                raise NetworkSpecError(f"{source}: assortativity.{name}: {target!r} is outside [-1, 1]")
        for name, column in self.columns.items():
            if name not in ATTRIBUTES:
                raise NetworkSpecError(f"{source}: columns.{name}: unknown attribute; known: {_known()}")
            if not isinstance(column, str) or not column:
                raise NetworkSpecError(f"{source}: columns.{name}: expected a column name (got {column!r})")

    @property
    def targets(self) -> dict[str, float]:
        """The targeted attributes (in :data:`ATTRIBUTES` order) and their targets."""
        return {k: float(v) for k in ATTRIBUTES
                if (v := self.assortativity.get(k, DEFAULT_ASSORTATIVITY[k])) is not None}

    def column(self, name: str) -> str:
        """The column that carries attribute ``name``."""
        return self.columns.get(name, ATTRIBUTES[name][0])

    def input_columns(self) -> list[str]:
        """Columns a build reads at most: the attributes', ``uuid`` and the household id."""
        cols = ["uuid"] + [self.column(k) for k in ATTRIBUTES]
        if self.households:
            cols.append(self.household_column)
        return list(dict.fromkeys(cols))

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON/YAML-ready) that :meth:`from_dict` reads back."""
        data = asdict(self)
        data["assortativity"] = dict(self.assortativity)
        data["columns"] = dict(self.columns)
        return data


def load_network_spec(path: str | os.PathLike[str] | None = None) -> NetworkSpec:
    """The spec in a YAML file, or the defaults when ``path`` is ``None``.

    The file holds any of :class:`NetworkSpec`'s fields, e.g.::

        mean_degree: 12
        assortativity: {age: 0.6, district: 0.4, education: 0.3, occupation: 0.2, family: null}
        columns: {family: marital_status}

    Raises
    ------
    NetworkSpecError
        Missing file, bad YAML, or an invalid spec; the message starts with the path.
    """
    if path is None:
        return NetworkSpec()
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NetworkSpecError(f"{path}: no such network spec file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NetworkSpecError(f"{path}: cannot read the network spec ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        raise NetworkSpecError(f"{path}:{where} not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return NetworkSpec.from_dict(data, source=str(path))


def _known() -> str:
    return ", ".join(ATTRIBUTES)


def _attribute_map(value: Any, key: str, source: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise NetworkSpecError(f"{source}: {key} must be a mapping of attribute → value (got {type(value).__name__})")
    for name in value:
        if name not in ATTRIBUTES:
            raise NetworkSpecError(f"{source}: {key}.{name}: unknown attribute; known: {_known()}")
    return dict(value)


def _number(data: Mapping[str, Any], key: str, default: float, source: str) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NetworkSpecError(f"{source}: {key}: expected a number (got {value!r})")
    return float(value)


def _integer(data: Mapping[str, Any], key: str, default: int, source: str) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise NetworkSpecError(f"{source}: {key}: expected an integer (got {value!r})")
    return value


def _boolean(data: Mapping[str, Any], key: str, default: bool, source: str) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise NetworkSpecError(f"{source}: {key}: expected true or false (got {value!r})")
    return value


# --------------------------------------------------------------------------------------------------
# Network and report


@dataclass(frozen=True, eq=False)
class NodeAttribute:
    """One attribute's per-node values.

    ``values`` is ``int32`` category codes into ``labels`` for a categorical attribute (``labels``
    sorted; :data:`NULL_LABEL` last when the column has nulls) and ``float64`` for a numeric one
    (``labels`` empty).
    """

    name: str
    column: str
    kind: str
    values: np.ndarray
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttributeReport:
    """Target against achieved assortativity for one attribute."""

    name: str
    column: str
    kind: str
    target: float | None
    achieved: float | None
    achieved_all_ties: float | None
    match_probability: float
    within_tolerance: bool | None
    status: str
    note: str = ""


@dataclass(frozen=True)
class NetworkReport:
    """What a build achieved. ``status`` per attribute: ``ok``, ``below_floor`` (the other
    attributes already give more than the target), ``above_ceiling`` (every edge matches and the
    target is still higher), ``not_converged``, ``untargeted`` or ``unmeasured`` (no column)."""

    n_nodes: int
    n_edges: int
    n_social: int
    n_household: int
    target_mean_degree: float
    mean_degree_social: float
    mean_degree: float
    tolerance: float
    iterations: int
    build_seconds: float
    attributes: tuple[AttributeReport, ...]

    @property
    def ok(self) -> bool:
        """Every targeted attribute within tolerance."""
        return all(a.within_tolerance for a in self.attributes if a.target is not None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        data = asdict(self)
        data["attributes"] = [asdict(a) for a in self.attributes]
        data["ok"] = self.ok
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NetworkReport:
        """Read back :meth:`to_dict`'s output."""
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["attributes"] = tuple(AttributeReport(**a) for a in data.get("attributes", ()))
        return cls(**fields)


@dataclass(frozen=True, eq=False)
class Network:
    """An undirected simple graph over the rows of a persona table.

    Attributes
    ----------
    n_nodes : int
        Nodes are row indices ``0 … n_nodes − 1``.
    src, dst : numpy.ndarray
        ``int64`` edge endpoints, ``src < dst``, sorted by ``(src, dst)``; no self loops, no
        duplicates.
    kind : numpy.ndarray
        ``uint8`` edge kind codes into :data:`KINDS` (0 social, 1 household).
    attributes : dict[str, NodeAttribute]
        The node attributes the build used or measured (empty for a network read from Parquet).
    uuid : pyarrow.Array or None
        Node uuids when the table had them (nulls for isolated nodes of a network read back).
    report : NetworkReport or None
    spec : NetworkSpec or None
    """

    n_nodes: int
    src: np.ndarray
    dst: np.ndarray
    kind: np.ndarray
    attributes: Mapping[str, NodeAttribute] = field(default_factory=dict)
    uuid: pa.Array | None = None
    report: NetworkReport | None = None
    spec: NetworkSpec | None = None

    @property
    def n_edges(self) -> int:
        """Number of undirected edges."""
        return int(self.src.size)

    def degree(self) -> np.ndarray:
        """``int64`` degree per node."""
        return np.bincount(np.concatenate([self.src, self.dst]), minlength=self.n_nodes).astype(np.int64)

    def adjacency(self, dtype: Any = np.float32) -> Any:
        """The symmetric adjacency matrix as ``scipy.sparse.csr_matrix`` (ones, both directions)."""
        import scipy.sparse as sp

        rows = np.concatenate([self.src, self.dst])
        cols = np.concatenate([self.dst, self.src])
        data = np.ones(rows.size, dtype=dtype)
        return sp.csr_matrix((data, (rows, cols)), shape=(self.n_nodes, self.n_nodes))

    def edge_table(self) -> pa.Table:
        """Edges as Arrow: ``src``, ``dst`` (``int64``), ``kind`` and, with uuids, ``src_uuid``, ``dst_uuid``."""
        kinds = pa.DictionaryArray.from_arrays(pa.array(self.kind.astype(np.int8)), pa.array(KINDS))
        columns = {"src": pa.array(self.src), "dst": pa.array(self.dst), "kind": kinds}
        if self.uuid is not None:
            columns["src_uuid"] = self.uuid.take(pa.array(self.src))
            columns["dst_uuid"] = self.uuid.take(pa.array(self.dst))
        return pa.table(columns)


# --------------------------------------------------------------------------------------------------
# Assortativity (pure numpy)


def categorical_assortativity(codes: np.ndarray, src: np.ndarray, dst: np.ndarray) -> float:
    """Newman's assortativity coefficient of a categorical attribute over undirected edges.

    Parameters
    ----------
    codes
        Integer category code per node (``>= 0``).
    src, dst
        Edge endpoints (each undirected edge once).

    Returns
    -------
    float
        ``(Σ e_ii − Σ a_i²) / (1 − Σ a_i²)`` over edges counted in both directions; NaN without
        edges or when every endpoint has one category.
    """
    z = _contributions(np.asarray(codes), np.asarray(src), np.asarray(dst), "categorical")
    return float(z.mean()) if z is not None and z.size else float("nan")


def numeric_assortativity(values: np.ndarray, src: np.ndarray, dst: np.ndarray) -> float:
    """Pearson correlation of a numeric attribute across edges, each edge taken in both directions.

    Equal to ``networkx.numeric_assortativity_coefficient`` on an undirected graph. NaN without
    edges or when the endpoints' values do not vary.
    """
    z = _contributions(np.asarray(values, dtype=np.float64), np.asarray(src), np.asarray(dst), "numeric")
    return float(z.mean()) if z is not None and z.size else float("nan")


def assortativity(values: np.ndarray, src: np.ndarray, dst: np.ndarray, kind: str = "categorical") -> float:
    """Assortativity of ``values`` over edges ``(src, dst)``; ``kind`` is ``categorical`` or ``numeric``."""
    if kind == "categorical":
        return categorical_assortativity(values, src, dst)
    if kind == "numeric":
        return numeric_assortativity(values, src, dst)
    raise ValueError(f"kind must be 'categorical' or 'numeric' (got {kind!r})")


def _contributions(values: np.ndarray, src: np.ndarray, dst: np.ndarray, kind: str) -> np.ndarray | None:
    """Per-edge terms whose mean is the assortativity (``None`` when it is undefined).

    Splitting ``r`` into a mean over edges is what lets calibration decompose it exactly by the
    edges' matching requirements.
    """
    if src.size == 0:
        return None
    a, b = values[src], values[dst]
    if kind == "numeric":
        both = np.concatenate([a, b])
        mean, var = both.mean(), both.var()
        if not var > 0:
            return None
        return (a - mean) * (b - mean) / var
    share = np.bincount(np.concatenate([a, b])) / (2.0 * src.size)
    s = float(share @ share)
    if s >= 1.0 - 1e-12:
        return None
    return ((a == b).astype(np.float64) - s) / (1.0 - s)


# --------------------------------------------------------------------------------------------------
# Build


def build_network(
    table: pa.Table,
    spec: NetworkSpec | None = None,
    seed: int = 0,
    *,
    source: str | None = None,
) -> Network:
    """Build a homophily network over the rows of ``table``.

    Parameters
    ----------
    table
        Persona records (Arrow; a polars DataFrame is converted). Must hold the column of every
        targeted attribute; ``uuid`` and the household id column are used when present.
    spec
        Targets and settings (defaults: :class:`NetworkSpec`).
    seed
        Same table, spec and seed ⇒ identical edges.
    source
        The table's file, named in errors.

    Returns
    -------
    Network
        With ``report`` comparing achieved and target assortativity.

    Raises
    ------
    NetworkInputError
        A targeted attribute's column is missing, age has nulls, the network cannot fit (mean
        degree ≥ n − 1), or a household is implausibly large.
    """
    started = time.perf_counter()
    spec = spec or NetworkSpec()
    spec.validate()
    if hasattr(table, "to_arrow") and not isinstance(table, pa.Table):
        table = table.to_arrow()
    where = f"{source}: " if source else ""
    n = table.num_rows
    if n < 2:
        raise NetworkInputError(f"{where}a network needs at least 2 personas (got {n})")
    if spec.mean_degree >= n - 1:
        raise NetworkInputError(f"{where}mean_degree {spec.mean_degree:g} does not fit {n} personas "
                                f"(at most {n - 1} ties each)")
    targets = spec.targets
    attributes = _node_attributes(table, spec, targets, where)
    uuid = table.column("uuid").combine_chunks() if "uuid" in table.column_names else None
    if isinstance(uuid, pa.DictionaryArray):
        uuid = uuid.dictionary_decode()

    house_u, house_v = _household_pairs(table, spec, where)
    house_keys = np.sort(house_u * n + house_v)
    m = round(n * spec.mean_degree / 2)
    matcher = _Matcher([attributes[k] for k in targets], spec.age_window, n)

    # Calibrate: each build measures the per-attribute decomposition and solves for q.
    order = list(targets)
    t = np.array([targets[k] for k in order])
    q = np.clip(t, 0.0, 1.0)
    streams = np.random.SeedSequence(seed).spawn(spec.max_iterations)
    best: tuple[float, np.ndarray, np.ndarray, np.ndarray] | None = None
    protected = np.zeros(t.size, dtype=bool)
    iterations = 0
    for it in range(spec.max_iterations):
        iterations = it + 1
        rng = np.random.default_rng(streams[it])
        u, v, combo = _social_edges(matcher, q, m, n, house_keys, rng)
        r, f, c_in, c_out = _decompose(attributes, order, u, v, combo)
        below_floor = (q <= 0) & (r > t)
        gap = np.where(below_floor | np.isnan(r), 0.0, np.abs(r - t))
        if best is None or gap.max(initial=0.0) < best[0]:
            best = (gap.max(initial=0.0), u, v, q.copy())
        at_ceiling = (q >= 1) & (r < t)
        if np.where(at_ceiling, 0.0, gap).max(initial=0.0) <= min(_INNER_TOLERANCE, spec.tolerance / 2):
            break
        # An attribute that falls short even when every tie asks for it is dropped last when a
        # block is empty, so the other requirements give way first.
        protected |= at_ceiling & (r < t - _INNER_TOLERANCE)
        matcher.protect(protected)
        q = _solve_q(t, q, f, c_in, c_out)
    assert best is not None
    _, u, v, q_final = best

    src = np.concatenate([house_u, u])
    dst = np.concatenate([house_v, v])
    kind = np.concatenate([np.full(house_u.size, HOUSEHOLD, np.uint8), np.full(u.size, SOCIAL, np.uint8)])
    perm = np.lexsort((dst, src))
    src, dst, kind = src[perm], dst[perm], kind[perm]
    report = _report(attributes, spec, targets, dict(zip(order, q_final, strict=True)), n, src, dst, kind,
                     iterations, time.perf_counter() - started)
    return Network(n_nodes=n, src=src, dst=dst, kind=kind, attributes=attributes, uuid=uuid,
                   report=report, spec=spec)


def _node_attributes(table: pa.Table, spec: NetworkSpec, targets: Mapping[str, float],
                     where: str) -> dict[str, NodeAttribute]:
    out: dict[str, NodeAttribute] = {}
    for name, (_, kind) in ATTRIBUTES.items():
        column = spec.column(name)
        if column not in table.column_names:
            if name in targets:
                raise NetworkInputError(
                    f"{where}column {column!r} (attribute {name!r}) is missing; set columns.{name} in the "
                    f"network spec to use another column, or assortativity.{name}: null to leave it out")
            continue
        values = table.column(column)
        if kind == "numeric":
            out[name] = NodeAttribute(name, column, kind, _numeric_values(values, column, where))
        else:
            codes, labels = encode_categories(values)
            out[name] = NodeAttribute(name, column, kind, codes, labels)
    return out


def _numeric_values(values: pa.ChunkedArray, column: str, where: str) -> np.ndarray:
    if values.null_count:
        raise NetworkInputError(f"{where}column {column!r} has {values.null_count} null value(s); "
                                "a numeric attribute needs a value for every persona")
    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
        raise NetworkInputError(f"{where}column {column!r} must be numeric (got {values.type})")
    array = values.to_numpy().astype(np.float64)
    if not np.isfinite(array).all():
        raise NetworkInputError(f"{where}column {column!r} has non-finite values")
    return array


def encode_categories(values: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, tuple[str, ...]]:
    """Category codes (``int32``) and their labels, sorted so the codes do not depend on row order.

    Values are compared as strings; nulls become :data:`NULL_LABEL`, coded last.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())
    encoded = pc.dictionary_encode(values)
    dictionary = encoded.dictionary.to_pylist()
    order = np.argsort(np.array(dictionary, dtype=object), kind="stable") if dictionary else np.zeros(0, np.int64)
    rank = np.empty(len(dictionary), dtype=np.int32)
    rank[order] = np.arange(len(dictionary), dtype=np.int32)
    indices = encoded.indices.fill_null(len(dictionary)).to_numpy(zero_copy_only=False).astype(np.int64)
    labels = [dictionary[i] for i in order]
    if encoded.null_count:
        rank = np.append(rank, np.int32(len(dictionary)))
        labels.append(NULL_LABEL)
    return rank[indices].astype(np.int32), tuple(labels)


def _household_pairs(table: pa.Table, spec: NetworkSpec, where: str) -> tuple[np.ndarray, np.ndarray]:
    """All member pairs ``(u < v)`` within each household; empty without a household column."""
    empty = np.zeros(0, np.int64)
    if not spec.households or spec.household_column not in table.column_names:
        return empty, empty
    column = table.column(spec.household_column)
    if column.null_count == len(column):
        return empty, empty
    codes, labels = encode_categories(column)
    null_code = len(labels) - 1 if column.null_count else -1
    rows = np.flatnonzero(codes != null_code) if null_code >= 0 else np.arange(codes.size)
    order = rows[np.argsort(codes[rows], kind="stable")]
    ids = codes[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    sizes = np.diff(np.r_[starts, ids.size])
    if sizes.size and sizes.max() > MAX_HOUSEHOLD_SIZE:
        worst = int(np.argmax(sizes))
        raise NetworkInputError(
            f"{where}household {labels[ids[starts[worst]]]!r} in column {spec.household_column!r} has "
            f"{int(sizes[worst])} members (at most {MAX_HOUSEHOLD_SIZE}); is it really a household id?")
    # Position i within its household pairs with every later member of the same household.
    group_end = np.repeat(starts + sizes, sizes)
    later = group_end - np.arange(ids.size) - 1
    total = int(later.sum())
    if total == 0:
        return empty, empty
    first = np.repeat(np.arange(ids.size), later)
    offset = np.arange(total) - np.repeat(np.cumsum(later) - later, later)
    a, b = order[first], order[first + 1 + offset]
    return np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)


class _Matcher:
    """Finds partners sharing a drawn set of attributes; sorted node keys are cached per set.

    A set is a bit mask over the targeted attributes (bit *i* = attribute *i* must match).
    """

    def __init__(self, attributes: Sequence[NodeAttribute], age_window: int, n: int) -> None:
        self.attributes = list(attributes)
        self.window = age_window
        self.n = n
        self._cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]] = {}
        self._radix: list[int] = []
        total = 1
        for a in self.attributes:
            size = 1 if a.kind == "numeric" else max(len(a.labels), 1)
            self._radix.append(total)
            total *= size
        if total * _AGE_RADIX >= 2**62:
            raise NetworkInputError("too many categories across the targeted attributes to build block keys")
        # When a persona's block holds no one else, requirements are dropped finest category first
        # (the one most likely to leave a block empty); age is never dropped, it falls back to the
        # nearest age instead.
        self.protect(np.zeros(len(self.attributes), dtype=bool))

    def protect(self, protected: np.ndarray) -> None:
        """Drop the ``protected`` attributes' requirements only after every other one."""
        categorical = [i for i, a in enumerate(self.attributes) if a.kind != "numeric"]
        self.relax_order = sorted(categorical, key=lambda i: (bool(protected[i]), -len(self.attributes[i].labels)))

    def _index(self, combo: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
        cached = self._cache.get(combo)
        if cached is not None:
            return cached
        key = np.zeros(self.n, dtype=np.int64)
        numeric = False
        for bit, (a, radix) in enumerate(zip(self.attributes, self._radix, strict=True)):
            if combo >> bit & 1 and a.kind != "numeric":
                key += a.values.astype(np.int64) * radix
        for bit, a in enumerate(self.attributes):
            if combo >> bit & 1 and a.kind == "numeric":
                age = np.clip(np.rint(a.values), 0, _AGE_MAX).astype(np.int64)
                key = key * _AGE_RADIX + _AGE_OFFSET + age
                numeric = True
        order = np.argsort(key, kind="stable")
        position = np.empty(self.n, dtype=np.int64)
        position[order] = np.arange(self.n)
        entry = (key, order, key[order], position, numeric)
        self._cache[combo] = entry
        return entry

    def place(self, src: np.ndarray, combo: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A partner for every source, and the requirement set it was finally drawn under.

        Sources whose block is empty drop one requirement (see ``relax_order``) and try again;
        with no requirement left the partner is anyone else, so every source is placed.
        """
        combo = combo.copy()
        dst = np.full(src.size, -1, dtype=np.int64)
        todo = np.arange(src.size)
        while todo.size:
            by_combo = todo[np.argsort(combo[todo], kind="stable")]
            sorted_combo = combo[by_combo]
            for c in np.unique(sorted_combo):
                lo, hi = np.searchsorted(sorted_combo, [c, c + 1])
                idx = by_combo[lo:hi]
                dst[idx] = self.partners(src[idx], int(c), rng)
            todo = np.flatnonzero(dst < 0)
            combo[todo] = self.drop_finest(combo[todo])
        return dst, combo

    def drop_finest(self, combo: np.ndarray) -> np.ndarray:
        """Each set minus its finest categorical requirement (all requirements if it has none)."""
        combo = combo.copy()
        pending = np.ones(combo.size, dtype=bool)
        for i in self.relax_order:
            has = pending & (combo >> i & 1).astype(bool)
            combo[has] &= ~(1 << i)
            pending &= ~has
        combo[pending] = 0  # nothing categorical left: drop age too
        return combo

    def partners(self, src: np.ndarray, combo: int, rng: np.random.Generator) -> np.ndarray:
        """One partner per source (``-1`` where the source's block holds no one else)."""
        if combo == 0:
            return _uniform_partners(src, self.n, rng)
        key, order, sorted_key, position, numeric = self._index(combo)
        k = key[src]
        pos = position[src]
        w = self.window if numeric else 0
        lo = np.searchsorted(sorted_key, k - w, side="left")
        hi = np.searchsorted(sorted_key, k + w, side="right")
        size = hi - lo
        j = lo + (rng.random(src.size) * (size - 1)).astype(np.int64)
        # Skip the source's own slot: the draw ranges over the block minus one.
        j += j >= pos
        out = order[np.minimum(j, self.n - 1)]
        alone = size <= 1
        out[alone] = -1
        if numeric and alone.any():
            # No one within the age window: take the nearest age in the same categorical block.
            a, pa_ = np.flatnonzero(alone), pos[alone]
            block = k[alone] // _AGE_RADIX
            left_ok = (pa_ > 0) & (sorted_key[np.maximum(pa_ - 1, 0)] // _AGE_RADIX == block)
            right_ok = (pa_ < self.n - 1) & (sorted_key[np.minimum(pa_ + 1, self.n - 1)] // _AGE_RADIX == block)
            d_left = k[alone] - sorted_key[np.maximum(pa_ - 1, 0)]
            d_right = sorted_key[np.minimum(pa_ + 1, self.n - 1)] - k[alone]
            take_left = left_ok & (~right_ok | (d_left <= d_right))
            take_right = right_ok & ~take_left
            out[a[take_left]] = order[pa_[take_left] - 1]
            out[a[take_right]] = order[pa_[take_right] + 1]
        return out


def _social_edges(matcher: _Matcher, q: np.ndarray, m: int, n: int, exclude: np.ndarray,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``m`` distinct social edges (fewer only if redraws run out) and the requirement set each
    edge was drawn under."""
    if m == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    # Every persona starts the same number of edges (± 1): no one is left without ties by chance.
    base, extra = divmod(m, n)
    sources = np.concatenate([np.repeat(np.arange(n, dtype=np.int64), base),
                              np.sort(rng.choice(n, size=extra, replace=False))])
    keys = np.zeros(0, np.int64)
    combos = np.zeros(0, np.int64)
    bits = 1 << np.arange(q.size, dtype=np.int64)
    relax = 0
    for round_ in range(_MAX_ROUNDS):
        drawn = (rng.random((sources.size, q.size)) < q) @ bits if q.size else np.zeros(sources.size, np.int64)
        for _ in range(relax):
            drawn = matcher.drop_finest(drawn)
        dst, combo = matcher.place(sources, drawn, rng)
        new_keys = np.minimum(sources, dst) * n + np.maximum(sources, dst)
        before = keys.size
        keys = np.concatenate([keys, new_keys])
        combos = np.concatenate([combos, combo])
        keys, first = np.unique(keys, return_index=True)  # the earliest draw of a pair wins
        combos = combos[first]
        if exclude.size:
            keep = ~_isin_sorted(keys, exclude)
            keys, combos = keys[keep], combos[keep]
        missing = m - keys.size
        if missing <= 0:
            break
        # After a few rounds, a round that fills less than half of what was missing is stuck on
        # repeats within tiny blocks: from then on redraws drop one more requirement (finest
        # first, then all), so the count is always reached. Only the last few edges are affected.
        if round_ >= 8 and keys.size - before < 0.5 * sources.size:
            relax += 1
        sources = rng.integers(0, n, size=int(missing * 1.1) + 8)
    if keys.size > m:
        keep = np.sort(rng.choice(keys.size, size=m, replace=False))
        keys, combos = keys[keep], combos[keep]
    return keys // n, keys % n, combos


def _uniform_partners(src: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    other = rng.integers(0, n - 1, size=src.size)
    return other + (other >= src)


def _isin_sorted(values: np.ndarray, sorted_ref: np.ndarray) -> np.ndarray:
    pos = np.searchsorted(sorted_ref, values)
    return sorted_ref[np.minimum(pos, sorted_ref.size - 1)] == values


def _decompose(attributes: Mapping[str, NodeAttribute], order: Sequence[str], u: np.ndarray, v: np.ndarray,
               combo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per targeted attribute: achieved r, share of edges required to match, and mean contribution
    of those edges (``c_in``) and of the others (``c_out``); NaN where a part is empty."""
    k = len(order)
    r, f, c_in, c_out = (np.full(k, np.nan) for _ in range(4))
    for i, name in enumerate(order):
        a = attributes[name]
        z = _contributions(a.values, u, v, a.kind)
        if z is None:
            continue
        required = (combo >> i & 1).astype(bool)
        r[i] = z.mean()
        f[i] = required.mean()
        if required.any():
            c_in[i] = z[required].mean()
        if (~required).any():
            c_out[i] = z[~required].mean()
    return r, f, c_in, c_out


def _solve_q(t: np.ndarray, q: np.ndarray, f: np.ndarray, c_in: np.ndarray, c_out: np.ndarray) -> np.ndarray:
    """Next match probabilities: the share f* with f*·c_in + (1 − f*)·c_out = t, rescaled from the
    achieved share f back to a probability (edges lost to empty blocks make f < q)."""
    c_in = np.where(np.isnan(c_in), 1.0, c_in)  # nothing required yet: a required edge matches fully
    c_out = np.where(np.isnan(c_out), c_in, c_out)
    span = c_in - c_out
    want = np.where(span > 1e-9, (t - c_out) / np.where(span > 1e-9, span, 1.0), np.where(t > c_out, 1.0, 0.0))
    want = np.clip(want, 0.0, 1.0)
    scale = np.where((f > 0) & (q > 0), q / np.where(f > 0, f, 1.0), 1.0)
    return np.clip(want * scale, 0.0, 1.0)


def _report(attributes: Mapping[str, NodeAttribute], spec: NetworkSpec, targets: Mapping[str, float],
            q: Mapping[str, float], n: int, src: np.ndarray, dst: np.ndarray, kind: np.ndarray,
            iterations: int, seconds: float) -> NetworkReport:
    social = kind == SOCIAL
    rows = []
    for name, (default_column, attr_kind) in ATTRIBUTES.items():
        target = targets.get(name)
        a = attributes.get(name)
        if a is None:
            rows.append(AttributeReport(name, spec.column(name) or default_column, attr_kind, target, None, None,
                                        0.0, None, "unmeasured", "column not in the table"))
            continue
        achieved = _finite(assortativity(a.values, src[social], dst[social], a.kind))
        overall = _finite(assortativity(a.values, src, dst, a.kind))
        p = float(q.get(name, 0.0))
        if target is None:
            rows.append(AttributeReport(name, a.column, a.kind, None, achieved, overall, 0.0, None, "untargeted"))
            continue
        within = achieved is not None and abs(achieved - target) <= spec.tolerance
        status, note = "ok", ""
        if not within:
            if achieved is None:
                status, note = "not_converged", "assortativity is undefined (no edges or a single category)"
            elif p <= 0 and achieved > target:
                status = "below_floor"
                note = (f"without any matching on {name} the other attributes' homophily already gives "
                        f"r = {achieved:.3f} > target {target:g}; this model cannot go lower")
            elif p >= 1 and achieved < target:
                status = "above_ceiling"
                note = (f"even with every social tie asked to match on {name}, r = {achieved:.3f} < target "
                        f"{target:g}: the other requirements leave too few partners at this size (lower the "
                        "targets, widen age_window or build a larger network)")
            else:
                status = "not_converged"
                note = (f"not reached in {iterations} build(s): the targets may conflict at this size "
                        "(raise max_iterations or lower the targets)")
        rows.append(AttributeReport(name, a.column, a.kind, target, achieved, overall, round(p, 6), within,
                                    status, note))
    n_social = int(social.sum())
    return NetworkReport(
        n_nodes=n, n_edges=int(src.size), n_social=n_social, n_household=int(src.size) - n_social,
        target_mean_degree=spec.mean_degree, mean_degree_social=2.0 * n_social / n,
        mean_degree=2.0 * src.size / n, tolerance=spec.tolerance, iterations=iterations,
        build_seconds=round(seconds, 3), attributes=tuple(rows))


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


# --------------------------------------------------------------------------------------------------
# Output


class NetworkOutputError(OSError):
    """A network or diffusion output cannot be written; the message names the path."""


def check_target(path: Path, suffixes: Sequence[str], *, overwrite: bool) -> None:
    """Raise :class:`NetworkOutputError` unless ``path`` can be created (suffix, directory, existing file)."""
    if path.suffix.lower() not in suffixes:
        raise NetworkOutputError(f"cannot write {str(path)!r}: expected a {' or '.join(suffixes)} file")
    if path.is_dir():
        raise NetworkOutputError(f"cannot write {str(path)!r}: it is a directory")
    if not path.parent.is_dir():
        raise NetworkOutputError(f"cannot write {str(path)!r}: directory {str(path.parent)!r} does not exist")
    if path.exists() and not overwrite:
        raise NetworkOutputError(f"{str(path)!r} already exists; pass overwrite=True to replace it")


def write_network(
    network: Network,
    edges_path: str | os.PathLike[str],
    graphml_path: str | os.PathLike[str] | None = None,
    *,
    overwrite: bool = False,
) -> None:
    """Write the edge list (Parquet) and, optionally, GraphML — each atomically.

    The Parquet file has ``src``, ``dst`` (``int64`` row indices), ``kind`` and, when the table had
    ``uuid``, ``src_uuid`` / ``dst_uuid``; its metadata (key ``ingu.network``) holds the node count,
    the spec and the report, so :func:`read_network` restores them. GraphML is streamed (no
    networkx graph is built) and reads back with ``networkx.read_graphml(path, node_type=int)``:
    node ids are row indices, node data the uuid and the attributes' columns, edge data ``kind``.

    Raises
    ------
    NetworkOutputError
        A path has the wrong suffix, its directory is missing, or it exists and ``overwrite`` is false
        (checked for both files before anything is written).
    """
    import pyarrow.parquet as pq

    edges_path = Path(edges_path)
    check_target(edges_path, (".parquet",), overwrite=overwrite)
    if graphml_path is not None:
        graphml_path = Path(graphml_path)
        check_target(graphml_path, (".graphml", ".xml"), overwrite=overwrite)
    table = network.edge_table()
    meta = {
        "format_version": FORMAT_VERSION,
        "n_nodes": network.n_nodes,
        "kinds": list(KINDS),
        "spec": network.spec.to_dict() if network.spec else None,
        "report": network.report.to_dict() if network.report else None,
    }
    table = table.replace_schema_metadata({METADATA_KEY: json.dumps(meta, ensure_ascii=False).encode()})
    write_file_atomic(edges_path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
    if graphml_path is not None:
        write_file_atomic(graphml_path, lambda tmp: _write_graphml(network, tmp))


def read_network(edges_path: str | os.PathLike[str]) -> Network:
    """Read an edge list written by :func:`write_network` (node count, spec and report included).

    Node attributes are not stored there; pass the persona table to whatever needs them.

    Raises
    ------
    NetworkInputError
        Not a file written by :func:`write_network`, or edges that break the format.
    """
    import pyarrow.parquet as pq

    path = Path(edges_path)
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise NetworkInputError(f"{path}: no such edge list") from None
    except (OSError, pa.ArrowInvalid) as exc:
        raise NetworkInputError(f"{path}: not a readable Parquet file ({exc})") from None
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise NetworkInputError(f"{path}: no {METADATA_KEY.decode()!r} metadata; not written by write_network")
    meta = json.loads(raw)
    n = int(meta["n_nodes"])
    for name in ("src", "dst", "kind"):
        if name not in table.column_names:
            raise NetworkInputError(f"{path}: column {name!r} is missing")
    src = table.column("src").to_numpy().astype(np.int64)
    dst = table.column("dst").to_numpy().astype(np.int64)
    if src.size and (src.min() < 0 or dst.max() >= n or (src >= dst).any()):
        raise NetworkInputError(f"{path}: edges must satisfy 0 <= src < dst < n_nodes ({n})")
    kind_labels = pc.cast(table.column("kind"), pa.string()).to_numpy(zero_copy_only=False)
    kind = np.zeros(src.size, dtype=np.uint8)
    kind[kind_labels == KINDS[HOUSEHOLD]] = HOUSEHOLD
    uuid = None
    if "src_uuid" in table.column_names and "dst_uuid" in table.column_names:
        uuid = _node_uuids(n, src, dst, table.column("src_uuid"), table.column("dst_uuid"))
    spec = NetworkSpec.from_dict(meta["spec"]) if meta.get("spec") else None
    report = NetworkReport.from_dict(meta["report"]) if meta.get("report") else None
    return Network(n_nodes=n, src=src, dst=dst, kind=kind, uuid=uuid, report=report, spec=spec)


def _node_uuids(n: int, src: np.ndarray, dst: np.ndarray, src_uuid: pa.ChunkedArray,
                dst_uuid: pa.ChunkedArray) -> pa.Array:
    nodes = np.concatenate([src, dst])
    values = pa.concat_arrays([pc.cast(src_uuid, pa.string()).combine_chunks(),
                               pc.cast(dst_uuid, pa.string()).combine_chunks()])
    first = np.full(n, -1, dtype=np.int64)
    unique, index = np.unique(nodes, return_index=True)
    first[unique] = index
    return values.take(pa.array(first, mask=first < 0))


# -- GraphML ---------------------------------------------------------------------------------------


def _write_graphml(network: Network, path: str) -> None:
    """Stream GraphML: element strings are built by Arrow compute kernels, a slice of rows at a time."""
    from ingu.audit.charts import clean_text

    n = network.n_nodes
    columns: list[tuple[str, str, pa.Array]] = []
    if network.uuid is not None:
        columns.append(("uuid", "string", _xml_escape(pc.cast(network.uuid, pa.string()))))
    for a in network.attributes.values():
        if a.kind == "numeric":
            integral = bool(np.all(a.values == np.rint(a.values)))
            values = a.values.astype(np.int64) if integral else a.values
            columns.append((a.column, "long" if integral else "double", pc.cast(pa.array(values), pa.string())))
        else:
            # The null category is written as a missing <data> element, not as its label.
            labels = [None if (lab == NULL_LABEL and i == len(a.labels) - 1) else _escape_text(clean_text(lab))
                      for i, lab in enumerate(a.labels)]
            columns.append((a.column, "string", pa.array(labels, pa.string()).take(pa.array(a.values))))
    keys = [f'<key id="d{i}" for="node" attr.name="{_escape_attr(clean_text(name))}" attr.type="{attr_type}"/>'
            for i, (name, attr_type, _) in enumerate(columns)]
    keys.append('<key id="e0" for="edge" attr.name="kind" attr.type="string"/>')
    header = ("<?xml version='1.0' encoding='utf-8'?>\n"
              '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
              'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
              'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
              'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
              + "\n".join(keys) + '\n<graph edgedefault="undirected">\n')
    kind_labels = pa.array(KINDS)
    with open(path, "wb") as handle:
        handle.write(header.encode("utf-8"))
        for lo in range(0, n, _GRAPHML_SLICE):
            hi = min(lo + _GRAPHML_SLICE, n)
            ids = pc.cast(pa.array(np.arange(lo, hi, dtype=np.int64)), pa.string())
            parts = [pc.binary_join_element_wise(f'<data key="d{i}">', values.slice(lo, hi - lo), "</data>", "")
                     for i, (_, _, values) in enumerate(columns)]
            _write_strings(handle, pc.binary_join_element_wise(
                '<node id="', ids, '">', *parts, "</node>\n", "", null_handling="replace", null_replacement=""))
        for lo in range(0, network.n_edges, _GRAPHML_SLICE):
            hi = min(lo + _GRAPHML_SLICE, network.n_edges)
            _write_strings(handle, pc.binary_join_element_wise(
                '<edge source="', pc.cast(pa.array(network.src[lo:hi]), pa.string()),
                '" target="', pc.cast(pa.array(network.dst[lo:hi]), pa.string()),
                '"><data key="e0">', kind_labels.take(pa.array(network.kind[lo:hi].astype(np.int64))),
                "</data></edge>\n", ""))
        handle.write(b"</graph>\n</graphml>\n")


def _write_strings(handle: Any, strings: pa.Array) -> None:
    """Write the concatenated values of a string array straight from its data buffer."""
    if len(strings) == 0:
        return
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32)[strings.offset:strings.offset + len(strings) + 1]
    handle.write(memoryview(strings.buffers()[2])[offsets[0]:offsets[-1]])


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(text: str) -> str:
    return _escape_text(text).replace('"', "&quot;")


def _xml_escape(values: pa.Array) -> pa.Array:
    values = pc.replace_substring_regex(values, _XML_ILLEGAL_RE2, "")
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        values = pc.replace_substring(values, raw, entity)
    return values
