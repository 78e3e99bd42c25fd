"""Homophily network and diffusion speed (issue 5 bars): prints figures, asserts nothing.

1. Build a network over 100,000 sampled personas with the default spec: target < 60 s, every
   attribute's assortativity within 0.05 of its target (the report's achieved vs target).
2. Write it: edge-list Parquet and streamed GraphML (seconds, sizes).
3. 100 diffusion steps each of IC, LT and SIR on it, with curves by sex, age band and province:
   target < 30 s each.
4. Determinism: the same seed again gives identical edges and curves; another seed different edges.

    python benchmarks/bench_network.py [--rows 100000] [--mean-degree 10] [--seed 20241231] [--keep DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--mean-degree", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=20241231)
    parser.add_argument("--keep", type=Path, default=None, help="write outputs here instead of a temp dir")
    args = parser.parse_args()

    from ingu.model.build import load_model
    from ingu.sample.sampler import generate, plan
    from ingu.simulate.diffusion import diffuse, make_model, write_diffusion
    from ingu.simulate.network import NetworkSpec, build_network, write_network

    started = time.perf_counter()
    table = pa.concat_tables(list(generate(plan(load_model()), args.rows, args.seed)))
    print(f"sample {args.rows:,} personas: {time.perf_counter() - started:.2f} s")

    spec = NetworkSpec.from_dict({"mean_degree": args.mean_degree})
    started = time.perf_counter()
    network = build_network(table, spec, seed=args.seed)
    build_s = time.perf_counter() - started
    report = network.report
    print(f"\nbuild: {build_s:.2f} s (target < 60 s), {report.iterations} calibration build(s), "
          f"{report.n_edges:,} edges")
    print(f"mean degree: {report.mean_degree:.3f} (target {report.target_mean_degree:g}); "
          f"min degree {network.degree().min()}, max {network.degree().max()}")
    print(f"{'attribute':<11} {'column':<17} {'target':>7} {'achieved':>9} {'|diff|':>7} {'q':>7}  status")
    for a in report.attributes:
        target = "-" if a.target is None else f"{a.target:.3f}"
        achieved = "-" if a.achieved is None else f"{a.achieved:.4f}"
        diff = "-" if a.target is None or a.achieved is None else f"{abs(a.achieved - a.target):.4f}"
        print(f"{a.name:<11} {a.column:<17} {target:>7} {achieved:>9} {diff:>7} {a.match_probability:>7.3f}  "
              f"{a.status}")
    print(f"all targets within {report.tolerance}: {report.ok}")

    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        edges, graphml = out / "network.parquet", out / "network.graphml"
        started = time.perf_counter()
        write_network(network, edges, overwrite=True)
        parquet_s = time.perf_counter() - started
        started = time.perf_counter()
        write_network(network, out / "network_2.parquet", graphml, overwrite=True)
        both_s = time.perf_counter() - started
        print(f"\nwrite Parquet alone: {parquet_s:.2f} s ({edges.stat().st_size / 1e6:.1f} MB); "
              f"Parquet + GraphML: {both_s:.2f} s (GraphML {graphml.stat().st_size / 1e6:.1f} MB)")

        print("\n100-step diffusion (curves overall and by sex, age_band, province), target < 30 s each:")
        models = {"ic": make_model("ic", p=0.1), "lt": make_model("lt"), "sir": make_model("sir", beta=0.05, gamma=0.1)}
        results = {}
        for name, model in models.items():
            started = time.perf_counter()
            result = diffuse(network, model, 100, seed=args.seed, initial=50, table=table,
                             group_by=["sex", "age_band", "province"])
            seconds = time.perf_counter() - started
            results[name] = result
            final = result.final().filter(result.final()["group_var"] == "all").row(0, named=True)
            started = time.perf_counter()
            write_diffusion(result, out / f"diffusion_{name}", overwrite=True)
            print(f"  {name:<4} {seconds:6.2f} s  adopted at step 100: {final['share_adopted']:.1%}  "
                  f"(write {time.perf_counter() - started:.2f} s)")

    print("\ndeterminism:")
    again = build_network(table, spec, seed=args.seed)
    same_edges = np.array_equal(again.src, network.src) and np.array_equal(again.dst, network.dst)
    other = build_network(table, spec, seed=args.seed + 1)
    differs = not (other.n_edges == network.n_edges and np.array_equal(other.src, network.src)
                   and np.array_equal(other.dst, network.dst))
    print(f"  same seed → identical edges: {same_edges}; other seed → different edges: {differs}")
    for name, model in models.items():
        rerun = diffuse(again, model, 100, seed=args.seed, initial=50, table=table,
                        group_by=["sex", "age_band", "province"])
        print(f"  {name}: same seed → identical curves: {rerun.curves.equals(results[name].curves)}")


if __name__ == "__main__":
    main()
