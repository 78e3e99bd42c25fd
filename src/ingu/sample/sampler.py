"""Vectorised ancestral sampling of records from a fitted model.

Rows are generated in fixed blocks of :data:`BLOCK` rows; block ``b`` draws from its own
``SeedSequence(seed, spawn_key=(b,))``, so the rows are identical whatever ``chunk_size`` (the size of
the batches handed to the writer) or the number of worker threads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from ingu.model.build import FittedModel
from ingu.sample.columns import OutputColumn, output_columns, render, where_columns
from ingu.sample.posterior import SamplingTable, draw, posterior_tables
from ingu.sample.where import parse_where

BLOCK = 65_536
ROOT = ("province", "district", "sex", "age")


class SamplingError(ValueError):
    """Invalid sampling request (n, seed, chunk size)."""


@dataclass
class Plan:
    """Everything needed to draw any block: posterior tables, output columns, optional cell counts."""

    tables: list[SamplingTable]
    columns: dict[str, OutputColumn]
    probability: float
    cells: np.ndarray | None = None  # cumulative whole-person counts per (district, sex, age) cell
    cell_shape: tuple[int, int, int] | None = None
    province_of_district: np.ndarray | None = None


def plan(model: FittedModel, where: str | None = None, *, full_population: bool = False) -> Plan:
    """Compile a model (and an optional ``--where`` condition) into a sampling plan."""
    from ingu.reference import load_table

    ksco = load_table("vocab_ksco7")
    names = dict(zip(ksco["code"].to_list(), ksco["name"].to_list()))
    columns = output_columns(model.network, names)
    evidence = parse_where(where, where_columns(columns)) if where else {}
    if full_population and evidence:
        raise SamplingError("--full-population takes no --where: it is every adult of Korea")
    tables, probability = posterior_tables(model.network, evidence)
    result = Plan(tables, columns, probability)
    if full_population:
        _attach_cells(model, result)
    return result


def _attach_cells(model: FittedModel, p: Plan) -> None:
    """Whole-person counts per district × sex × age cell, summing to the registered adult total."""
    net = model.network
    joint = net.marginal(["district", "sex", "age"])
    total = model.reports["geography"]["adult_counts"]["total"]
    expected = joint.ravel() * total
    counts = np.floor(expected).astype(np.int64)
    # Largest remainder: hand the leftover persons to the cells with the largest fractions.
    short = total - counts.sum()
    order = np.argsort(-(expected - counts), kind="stable")[:short]
    counts[order] += 1
    p.cells = np.cumsum(counts)
    p.cell_shape = joint.shape
    prov = net["district"].cpt  # (province, district) one-hot by construction
    p.province_of_district = prov.argmax(axis=0).astype(np.int32)


def population_size(p: Plan) -> int:
    return int(p.cells[-1]) if p.cells is not None else 0


def sample_block(p: Plan, seed: int, block: int, n: int, start: int = 0) -> pa.Table:
    """Rows ``start … start+n`` of block ``block`` (``n ≤ BLOCK``) as a record table."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))
    codes: dict[str, np.ndarray] = {}
    fixed = p.cells is not None
    if fixed:
        rows = np.arange(block * BLOCK, block * BLOCK + BLOCK)
        cell = np.searchsorted(p.cells, rows, side="right")
        cell = np.minimum(cell, len(p.cells) - 1)
        d, s, a = np.unravel_index(cell, p.cell_shape)
        codes.update(district=d.astype(np.int32), sex=s.astype(np.int32), age=a.astype(np.int32),
                     province=p.province_of_district[d])
    for t in p.tables:
        u = rng.random(BLOCK)  # always drawn, so every variable's stream is the same in both modes
        if fixed and t.name in ROOT:
            continue
        codes[t.name] = draw(t, codes, u)
    uuid_bytes = rng.integers(0, 256, size=(BLOCK, 16), dtype=np.uint8)
    sl = slice(start, start + n)
    return render(p.columns, {k: v[sl] for k, v in codes.items()}, uuid_bytes[sl])


def generate(
    p: Plan,
    n: int,
    seed: int,
    *,
    chunk_size: int = BLOCK,
    workers: int = 1,
    on_rows: Callable[[int], None] | None = None,
) -> Iterator[pa.Table]:
    """Yield record tables of ``chunk_size`` rows (the last may be shorter), ``n`` rows in all."""
    if n <= 0:
        raise SamplingError(f"-n must be a positive number of records, got {n}")
    if chunk_size <= 0:
        raise SamplingError(f"--chunk-size must be positive, got {chunk_size}")
    if seed < 0:
        raise SamplingError(f"--seed must be a non-negative integer, got {seed}")
    n_blocks = -(-n // BLOCK)

    def make(b: int) -> pa.Table:
        return sample_block(p, seed, b, min(BLOCK, n - b * BLOCK))

    pending: list[pa.Table] = []
    buffered = 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        # Bounded look-ahead: at most 2 × workers blocks in flight keeps memory flat.
        window = max(1, 2 * workers)
        futures = [pool.submit(make, b) for b in range(min(window, n_blocks))]
        next_block = len(futures)
        while futures:
            table = futures.pop(0).result()
            if next_block < n_blocks:
                futures.append(pool.submit(make, next_block))
                next_block += 1
            pending.append(table)
            buffered += table.num_rows
            while buffered >= chunk_size:
                merged = pa.concat_tables(pending)
                out, rest = merged.slice(0, chunk_size), merged.slice(chunk_size)
                pending, buffered = ([rest] if rest.num_rows else []), rest.num_rows
                if on_rows:
                    on_rows(out.num_rows)
                yield out
    if buffered:
        out = pa.concat_tables(pending)
        if on_rows:
            on_rows(out.num_rows)
        yield out


def to_frame(tables: Iterator[pa.Table]) -> pl.DataFrame:
    """Collect generated tables into one polars frame (for tests and small runs)."""
    return pl.from_arrow(pa.concat_tables(list(tables)))
