"""Diffusion on a persona network: independent cascade, linear threshold and SIR, seeded and vectorised.

Every model runs in synchronous discrete steps over the network's adjacency (``scipy.sparse`` CSR);
one step is a sparse matrix–vector product plus one batch of random draws, never a loop over
nodes. Node states are the same for the three models:

* ``susceptible`` — has not adopted (not infected);
* ``infected`` — adopted/infected and still able to pass it on: under SIR, until it recovers; under
  IC and LT, only in the step it adopted (the cascade's frontier);
* ``recovered`` — adopted earlier and no longer passing it on (SIR: recovered);
* ``adopted`` = infected + recovered — everyone ever reached (SIR: cumulative incidence).

Models
------
* :class:`IndependentCascade` (``ic``): a node that adopts at step *t* gets one chance to pass it to
  each susceptible neighbour, independently with probability ``p``, at step *t* + 1.
* :class:`LinearThreshold` (``lt``): each edge into *v* weighs ``1 / degree(v)``; *v* adopts once the
  share of its neighbours that have adopted reaches its threshold (uniform on (0, 1] per node by
  default, or one fixed value). Adoption never reverses.
* :class:`SIR` (``sir``): each step an infected node infects each susceptible neighbour with
  probability ``beta`` and then recovers with probability ``gamma``.

The per-neighbour draws of IC and SIR are taken per node instead: a susceptible node with *k*
transmitting neighbours is reached with probability ``1 − (1 − p)^k`` — the same law, one draw.

Same network, model, parameters, initial nodes and seed ⇒ identical curves and final states.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from ingu.io.writers import write_file_atomic
from ingu.simulate.network import Network, check_target, encode_categories

#: Node state codes.
SUSCEPTIBLE, INFECTED, RECOVERED = 0, 1, 2
STATES: tuple[str, ...] = ("susceptible", "infected", "recovered")
#: The overall rows of the curves table carry this group variable and value.
ALL = "all"
#: A derived grouping: ten-year age bands from the ``age`` column.
AGE_BAND = "age_band"
AGE_BAND_EDGES: tuple[int, ...] = (30, 40, 50, 60, 70)
AGE_BAND_LABELS: tuple[str, ...] = ("<30", "30–39", "40–49", "50–59", "60–69", "70+")
#: A chart shows at most this many groups (the largest); the curves table keeps them all.
MAX_CHART_SERIES = 8


class DiffusionError(ValueError):
    """Bad model parameters, initial nodes or groupings; the message names the parameter."""


# --------------------------------------------------------------------------------------------------
# Models


@dataclass(frozen=True)
class IndependentCascade:
    """Independent cascade: each new adopter passes it to each neighbour once with probability ``p``."""

    p: float = 0.1
    name: str = field(default="ic", init=False)

    def validate(self) -> None:
        _probability("p", self.p)


@dataclass(frozen=True)
class LinearThreshold:
    """Linear threshold with weights ``1 / degree``; ``threshold=None`` draws one per node, uniform on (0, 1]."""

    threshold: float | None = None
    name: str = field(default="lt", init=False)

    def validate(self) -> None:
        if self.threshold is not None:
            _probability("threshold", self.threshold)
            if self.threshold == 0:
                raise DiffusionError("threshold must be in (0, 1] (0 would make every node adopt at once)")


@dataclass(frozen=True)
class SIR:
    """Discrete-time SIR: per step, infection per infected–susceptible edge ``beta``, recovery ``gamma``."""

    beta: float = 0.05
    gamma: float = 0.1
    name: str = field(default="sir", init=False)

    def validate(self) -> None:
        _probability("beta", self.beta)
        _probability("gamma", self.gamma)


DiffusionModel = IndependentCascade | LinearThreshold | SIR
MODELS: dict[str, type] = {"ic": IndependentCascade, "lt": LinearThreshold, "sir": SIR}


def make_model(name: str, **params: Any) -> DiffusionModel:
    """A model by name (``ic``, ``lt``, ``sir``) with parameters; unknown names or parameters raise
    :class:`DiffusionError` naming them."""
    cls = MODELS.get(str(name).lower())
    if cls is None:
        raise DiffusionError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    allowed = [f for f, spec in cls.__dataclass_fields__.items() if spec.init]
    for key in params:
        if key not in allowed:
            raise DiffusionError(f"model {cls().name!r}: unknown parameter {key!r}; known: {', '.join(allowed)}")
    model = cls(**params)
    model.validate()
    return model


def _probability(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DiffusionError(f"{name} must be a number in [0, 1] (got {value!r})")
    if not 0 <= value <= 1:
        raise DiffusionError(f"{name} must be in [0, 1] (got {value!r})")


# --------------------------------------------------------------------------------------------------
# Result


@dataclass(frozen=True, eq=False)
class DiffusionResult:
    """Curves and final states of one run.

    Attributes
    ----------
    model : str
        ``ic``, ``lt`` or ``sir``.
    params : dict
        The model's parameters.
    steps, seed : int
    initial : numpy.ndarray
        ``int64`` initial (seed) nodes, sorted.
    curves : polars.DataFrame
        One row per step (0 = the initial state … ``steps``) and group: ``step``, ``group_var``,
        ``group_value`` (``"all"``/``"all"`` for everyone), ``n``, counts ``susceptible``,
        ``infected``, ``recovered``, ``adopted`` and their ``share_*`` (of ``n``).
    state : numpy.ndarray
        ``uint8`` final state per node (:data:`STATES`).
    adopted_step : numpy.ndarray
        ``int32`` step at which each node adopted (0 for initial nodes, −1 never).
    groupings : tuple[str, ...]
        The group variables, in the order given.
    """

    model: str
    params: dict[str, Any]
    steps: int
    seed: int
    initial: np.ndarray
    curves: pl.DataFrame
    state: np.ndarray
    adopted_step: np.ndarray
    groupings: tuple[str, ...] = ()

    def final(self) -> pl.DataFrame:
        """The last step's rows of :attr:`curves`."""
        return self.curves.filter(pl.col("step") == self.steps)


# --------------------------------------------------------------------------------------------------
# Run


def diffuse(
    network: Network,
    model: DiffusionModel | str,
    steps: int = 100,
    seed: int = 0,
    *,
    initial: int | Sequence[int] = 10,
    initial_group: Mapping[str, Any] | None = None,
    table: pa.Table | None = None,
    group_by: Sequence[str] = (),
) -> DiffusionResult:
    """Run a diffusion model on ``network`` for ``steps`` steps.

    Parameters
    ----------
    network
        From :func:`~ingu.simulate.network.build_network` or :func:`~ingu.simulate.network.read_network`.
    model
        A model object, or a name (``ic``, ``lt``, ``sir``) with default parameters.
    steps
        Number of steps after the initial state (≥ 0).
    seed
        Random seed: initial nodes (when drawn), LT thresholds and every transmission draw.
    initial
        A number of initial adopters drawn at random, or an explicit list of node indices.
    initial_group
        Draw the random initial adopters only among rows whose columns equal these values, e.g.
        ``{"province": "서울"}`` (needs ``table``; values are compared as text).
    table
        The persona table the network was built on (row *i* = node *i*): needed for ``group_by``
        and ``initial_group``. Its row count, and its ``uuid`` where the network has uuids, must match.
    group_by
        Columns to break the curves down by; ``"age_band"`` gives ten-year bands from ``age``.

    Returns
    -------
    DiffusionResult

    Raises
    ------
    DiffusionError
        Bad model parameters, steps, initial nodes or group columns, or a table that does not
        belong to the network.
    """
    if isinstance(model, str):
        model = make_model(model)
    model.validate()
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise DiffusionError(f"steps must be a non-negative integer (got {steps!r})")
    steps = int(steps)
    if table is not None and hasattr(table, "to_arrow") and not isinstance(table, pa.Table):
        table = table.to_arrow()
    if table is not None:
        check_table(network, table)
    if (group_by or initial_group) and table is None:
        raise DiffusionError("group_by and initial_group need the persona table (table=...)")
    groups = [(name, *_group_codes(table, name)) for name in group_by]

    seed_stream, threshold_stream, step_stream = (np.random.default_rng(s)
                                                  for s in np.random.SeedSequence(seed).spawn(3))
    n = network.n_nodes
    start = _initial_nodes(n, initial, initial_group, table, seed_stream)
    adjacency = network.adjacency(np.float32)
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    thresholds = None
    if isinstance(model, LinearThreshold):
        # Drawn from their own stream, so the same seed gives the same thresholds whatever the initial nodes.
        thresholds = (1.0 - threshold_stream.random(n) if model.threshold is None
                      else np.full(n, model.threshold))

    state = np.zeros(n, dtype=np.uint8)
    state[start] = INFECTED
    adopted_step = np.full(n, -1, dtype=np.int32)
    adopted_step[start] = 0
    history = [_counts(state, groups)]
    for step in range(1, steps + 1):
        if not (state == INFECTED).any() and not isinstance(model, LinearThreshold):
            history.extend([history[-1]] * (steps - step + 1))  # nothing can change any more
            break
        new = _step(model, state, adjacency, degree, thresholds, step_stream)
        if new is None:
            history.extend([history[-1]] * (steps - step + 1))
            break
        adopted_step[new] = step
        history.append(_counts(state, groups))
    curves = _curves(history, groups, n)
    params = {k: v for k, v in asdict(model).items() if k != "name"}
    return DiffusionResult(model=model.name, params=params, steps=steps, seed=seed, initial=start, curves=curves,
                           state=state, adopted_step=adopted_step, groupings=tuple(name for name, *_ in groups))


def check_table(network: Network, table: pa.Table) -> None:
    """Raise :class:`DiffusionError` unless ``table`` holds the network's nodes, row for row."""
    if table.num_rows != network.n_nodes:
        raise DiffusionError(f"the table has {table.num_rows} rows but the network has {network.n_nodes} nodes; "
                             "pass the persona table the network was built on")
    if network.uuid is not None and "uuid" in table.column_names:
        ours = network.uuid
        theirs = table.column("uuid").combine_chunks()
        if pa.types.is_dictionary(theirs.type):
            theirs = theirs.dictionary_decode()
        import pyarrow.compute as pc

        differs = pc.and_(pc.is_valid(ours), pc.not_equal(pc.cast(ours, pa.string()), pc.cast(theirs, pa.string())))
        bad = int(pc.sum(pc.cast(pc.fill_null(differs, False), pa.int64())).as_py() or 0)
        if bad:
            raise DiffusionError(f"the table's uuid column differs from the network's at {bad} node(s); "
                                 "pass the persona table the network was built on, in the same row order")


def _initial_nodes(n: int, initial: int | Sequence[int], initial_group: Mapping[str, Any] | None,
                   table: pa.Table | None, rng: np.random.Generator) -> np.ndarray:
    if isinstance(initial, (int, np.integer)) and not isinstance(initial, bool):
        pool = np.arange(n)
        if initial_group:
            mask = np.ones(n, dtype=bool)
            for column, value in initial_group.items():
                if column not in table.column_names:
                    raise DiffusionError(f"initial_group: column {column!r} is not in the table")
                codes, labels = encode_categories(table.column(column))
                wanted = str(value)
                mask &= np.isin(codes, [i for i, lab in enumerate(labels) if lab == wanted])
            pool = np.flatnonzero(mask)
            if pool.size == 0:
                raise DiffusionError(f"initial_group {dict(initial_group)!r} matches no persona")
        if not 1 <= initial <= pool.size:
            raise DiffusionError(f"initial must be between 1 and {pool.size} (got {initial})")
        return np.sort(rng.choice(pool, size=int(initial), replace=False)).astype(np.int64)
    if initial_group:
        raise DiffusionError("initial_group applies to a number of random initial nodes, not to an explicit list")
    try:
        nodes = np.asarray(list(initial), dtype=np.int64)
    except (TypeError, ValueError):
        raise DiffusionError(f"initial must be a count or a list of node indices (got {initial!r})") from None
    if nodes.size == 0:
        raise DiffusionError("initial lists no node")
    if nodes.min() < 0 or nodes.max() >= n:
        raise DiffusionError(f"initial node indices must be in [0, {n - 1}]")
    return np.unique(nodes)


def _group_codes(table: pa.Table, name: str) -> tuple[np.ndarray, tuple[str, ...]]:
    if name == AGE_BAND and AGE_BAND not in table.column_names:
        if "age" not in table.column_names:
            raise DiffusionError("group_by 'age_band' needs an 'age' column")
        age = table.column("age")
        if age.null_count:
            raise DiffusionError("group_by 'age_band': the age column has nulls")
        codes = np.searchsorted(AGE_BAND_EDGES, age.to_numpy(), side="right").astype(np.int32)
        used = np.unique(codes)
        remap = np.full(len(AGE_BAND_LABELS), -1, dtype=np.int32)
        remap[used] = np.arange(used.size, dtype=np.int32)
        return remap[codes], tuple(AGE_BAND_LABELS[i] for i in used)
    if name not in table.column_names:
        raise DiffusionError(f"group_by: column {name!r} is not in the table")
    if name == ALL:
        raise DiffusionError(f"group_by: {ALL!r} is reserved for the overall rows")
    return encode_categories(table.column(name))


def _step(model: DiffusionModel, state: np.ndarray, adjacency: Any, degree: np.ndarray,
          thresholds: np.ndarray | None, rng: np.random.Generator) -> np.ndarray | None:
    """Advance ``state`` in place by one step; return the newly adopted nodes (``None``: frozen)."""
    infected = state == INFECTED
    susceptible = state == SUSCEPTIBLE
    if isinstance(model, LinearThreshold):
        adopted = (state != SUSCEPTIBLE).astype(np.float32)
        reached = adjacency @ adopted
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(degree > 0, reached / np.maximum(degree, 1), 0.0)
        new = np.flatnonzero(susceptible & (degree > 0) & (share >= thresholds - 1e-9))
        if new.size == 0 and not infected.any():
            return None
        state[infected] = RECOVERED
        state[new] = INFECTED
        return new
    p = model.p if isinstance(model, IndependentCascade) else model.beta
    pressure = adjacency @ infected.astype(np.float32)
    candidates = np.flatnonzero(susceptible & (pressure > 0))
    chance = 1.0 - np.power(1.0 - p, pressure[candidates].astype(np.float64))
    new = candidates[rng.random(candidates.size) < chance]
    if isinstance(model, IndependentCascade):
        state[infected] = RECOVERED  # one chance only
    else:
        current = np.flatnonzero(infected)
        state[current[rng.random(current.size) < model.gamma]] = RECOVERED
    state[new] = INFECTED
    return new


def _counts(state: np.ndarray, groups: Sequence[tuple[str, np.ndarray, tuple[str, ...]]]) -> list[np.ndarray]:
    """State counts overall (shape 3) and per grouping (shape groups × 3)."""
    out = [np.bincount(state, minlength=3)]
    for _, codes, labels in groups:
        out.append(np.bincount(codes.astype(np.int64) * 3 + state, minlength=3 * len(labels)).reshape(-1, 3))
    return out


def _curves(history: Sequence[list[np.ndarray]], groups: Sequence[tuple[str, np.ndarray, tuple[str, ...]]],
            n: int) -> pl.DataFrame:
    steps = len(history)
    frames = []
    parts: list[tuple[str, tuple[str, ...], np.ndarray]] = [(ALL, (ALL,), np.array([n]))]
    parts += [(name, labels, np.bincount(codes, minlength=len(labels))) for name, codes, labels in groups]
    for g, (name, labels, sizes) in enumerate(parts):
        counts = np.stack([h[g].reshape(-1, 3) for h in history])  # steps × groups × 3
        k = len(labels)
        frames.append(pl.DataFrame({
            "step": np.repeat(np.arange(steps, dtype=np.int32), k),
            "group_var": [name] * (steps * k),
            "group_value": list(labels) * steps,
            "n": np.tile(sizes.astype(np.int64), steps),
            "susceptible": counts[:, :, SUSCEPTIBLE].ravel().astype(np.int64),
            "infected": counts[:, :, INFECTED].ravel().astype(np.int64),
            "recovered": counts[:, :, RECOVERED].ravel().astype(np.int64),
        }))
    curves = pl.concat(frames).with_columns(adopted=pl.col("infected") + pl.col("recovered"))
    share = {f"share_{c}": pl.col(c) / pl.col("n") for c in ("susceptible", "infected", "recovered", "adopted")}
    return curves.with_columns(**share)


# --------------------------------------------------------------------------------------------------
# Charts and output


def diffusion_charts(result: DiffusionResult, max_series: int = MAX_CHART_SERIES) -> list[tuple[str, dict[str, Any]]]:
    """Line charts of the report contract (see :mod:`ingu.audit.charts`): ``(file stem, chart)``.

    One overall chart (adopted and currently infected shares; SIR adds recovered) and one per
    grouping (adopted share by group, the ``max_series`` largest groups).
    """
    curves = result.curves
    categories = [str(s) for s in range(result.steps + 1)]
    label = {"ic": "independent cascade", "lt": "linear threshold", "sir": "SIR"}[result.model]
    overall = curves.filter(pl.col("group_var") == ALL).sort("step")
    names = {"adopted": "adopted (ever)",
             "infected": "infected (now)" if result.model == "sir" else "adopted this step"}
    if result.model == "sir":
        names["recovered"] = "recovered"
    charts = [("adoption_overall", {
        "kind": "line", "title": f"Diffusion over the network — {label}", "x_label": "step",
        "y_label": "share of personas", "unit": "share", "categories": categories,
        "series": [{"name": title, "values": overall[f"share_{col}"].to_list()} for col, title in names.items()],
    })]
    stems: set[str] = set()
    for var in result.groupings:
        stem = _file_stem(var)
        while stem in stems:  # two column names that differ only in characters a file name drops
            stem += "_"
        stems.add(stem)
        rows = curves.filter(pl.col("group_var") == var)
        sizes = rows.filter(pl.col("step") == 0).sort(["n", "group_value"], descending=[True, False])
        shown = sizes["group_value"].to_list()[:max_series]
        title = f"Adopted share by {var} — {label}"
        if sizes.height > len(shown):
            title += f" (largest {len(shown)} of {sizes.height} groups)"
        series = [{"name": value,
                   "values": rows.filter(pl.col("group_value") == value).sort("step")["share_adopted"].to_list()}
                  for value in shown]
        charts.append((f"adoption_by_{stem}", {
            "kind": "line", "title": title, "x_label": "step", "y_label": "share adopted", "unit": "share",
            "categories": categories, "series": series}))
    return charts


def write_diffusion(result: DiffusionResult, out_dir: str | os.PathLike[str], *,
                    overwrite: bool = False) -> list[Path]:
    """Write ``curves.parquet``, ``curves.csv``, ``final_state.parquet`` and one SVG chart per grouping
    (``adoption_overall.svg``, ``adoption_by_<var>.svg``) into ``out_dir`` (created if missing), each
    atomically. Returns the paths written.

    Raises
    ------
    NetworkOutputError
        A file exists and ``overwrite`` is false (checked for all files before any is written).
    """
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from ingu.audit.charts import render_svg

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    charts = diffusion_charts(result)
    paths = {"curves": out / "curves.parquet", "csv": out / "curves.csv", "state": out / "final_state.parquet"}
    for stem, _ in charts:
        paths[stem] = out / f"{stem}.svg"
    for path in paths.values():
        check_target(path, (path.suffix,), overwrite=overwrite)

    meta = {b"ingu.diffusion": _json({"model": result.model, "params": result.params, "steps": result.steps,
                                      "seed": result.seed, "initial": result.initial.tolist(),
                                      "groupings": list(result.groupings)})}
    curves = result.curves.to_arrow()
    curves = curves.replace_schema_metadata(meta)
    write_file_atomic(paths["curves"], lambda tmp: pq.write_table(curves, tmp))
    write_file_atomic(paths["csv"], lambda tmp: pacsv.write_csv(curves, tmp))
    state = pa.table({"node": pa.array(np.arange(result.state.size, dtype=np.int64)),
                      "state": pa.DictionaryArray.from_arrays(pa.array(result.state.astype(np.int8)),
                                                              pa.array(STATES)),
                      "adopted_step": pa.array(result.adopted_step)}).replace_schema_metadata(meta)
    write_file_atomic(paths["state"], lambda tmp: pq.write_table(state, tmp))
    for stem, chart in charts:
        svg = render_svg(chart, standalone=True)
        write_file_atomic(paths[stem], lambda tmp, svg=svg: Path(tmp).write_text(svg, encoding="utf-8"))
    return list(paths.values())


def _file_stem(name: str) -> str:
    stem = re.sub(r"[^0-9A-Za-z_-]+", "_", name).strip("_")
    return stem or "group"


def _json(data: Any) -> bytes:
    import json

    return json.dumps(data, ensure_ascii=False).encode("utf-8")
