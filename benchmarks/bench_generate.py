"""Speed of `ingu generate`: 1M structured records to Parquet vs a bare-numpy categorical chain.

Run: python benchmarks/bench_generate.py [N]. Prints seconds for (a) the model load (cached fit),
(b) ingu sampling + Parquet writing, (c) a bare-numpy chain that samples as many categorical
columns (same cardinalities, each conditioned on the previous column) and writes them to Parquet,
and the ratio (b)/(c). The issue's bars: (b) < 20 s and (b) ≤ 8 × (c).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def bare_numpy_chain(cards: list[int], n: int, path: Path, seed: int = 0) -> None:
    """Sample a Markov chain of categorical columns with inverse-CDF lookups; write Parquet."""
    rng = np.random.default_rng(seed)
    cols = {}
    prev = np.zeros(n, dtype=np.int64)
    prev_card = 1
    for i, k in enumerate(cards):
        cpt = rng.dirichlet(np.ones(k), size=prev_card)
        flat = (np.cumsum(cpt, axis=1) + np.arange(prev_card)[:, None]).ravel()
        cur = np.searchsorted(flat, prev + rng.random(n)) - prev * k
        cur = np.clip(cur, 0, k - 1)
        cols[f"c{i}"] = pa.DictionaryArray.from_arrays(cur.astype(np.int32), pa.array([str(j) for j in range(k)]))
        prev, prev_card = cur, k
    pq.write_table(pa.table(cols), path, compression="zstd")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    from ingu.io.writers import open_writer
    from ingu.model.build import load_model
    from ingu.sample.sampler import generate, plan

    t = time.perf_counter()
    model = load_model()
    load_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        p = plan(model)
        with open_writer(Path(tmp) / "ingu.parquet") as w:
            for table in generate(p, n, 1, workers=2):
                w.write(table)
        ingu_s = time.perf_counter() - t
        cards = [v.card for v in model.network.variables]
        t = time.perf_counter()
        bare_numpy_chain(cards, n, Path(tmp) / "bare.parquet")
        bare_s = time.perf_counter() - t
    print(f"records: {n:,}  categorical variables: {len(cards)}")
    print(f"model load (cached fit): {load_s:6.2f} s")
    print(f"ingu sample + Parquet:   {ingu_s:6.2f} s   ({n / ingu_s:,.0f} records/s)")
    print(f"bare numpy chain:        {bare_s:6.2f} s")
    print(f"ratio ingu / bare:       {ingu_s / bare_s:6.2f} ×  (bar: ≤ 8 ×; absolute bar: < 20 s)")


if __name__ == "__main__":
    main()
