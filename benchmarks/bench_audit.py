"""Audit speed and memory (issue 3 bars): prints figures, asserts nothing.

1. 1M structured records (our output, narratives empty): the full audit, target < 30 s.
2. 1M NPK-shaped records — NPK's 26 columns with all 13 text columns filled (≈ 150–400 characters
   each, built from real NPK narratives with per-row names and ages), as Parquet shards like NPK's
   release: the full audit incl. text checks, target < 3 min and peak memory < 6 GB.

Each audit runs in a fresh subprocess so its peak RSS is measured alone (``ru_maxrss`` of children).

    python benchmarks/bench_audit.py [--rows 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "npk_sample_rows.jsonl"
SHARD_ROWS = 100_000


def audit(path: Path, out: Path, profile: str) -> tuple[float, float]:
    """Run ``ingu audit`` in a child process; return (seconds, peak RSS in GB of that child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ingu.cli", "audit", str(path), "--profile", profile, "--out", str(out)],
                   check=True, capture_output=True)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024**2


def make_structured(rows: int, path: Path) -> None:
    from ingu.io.writers import write_records
    from ingu.model.build import load_model
    from ingu.sample.sampler import generate, plan

    write_records(path, generate(plan(load_model()), rows, 20241231))


def make_npk_shaped(structured: Path, directory: Path) -> int:
    """NPK's 26 columns from our records, text columns filled row by row (vectorised per shard)."""
    from ingu.io.schema import NPK_COLUMNS, TEXT_COLUMNS

    samples = [json.loads(line) for line in FIXTURE.read_text("utf-8").splitlines()]
    directory.mkdir(parents=True, exist_ok=True)
    frame = pl.read_parquet(structured)
    total = 0
    for shard, offset in enumerate(range(0, frame.height, SHARD_ROWS)):
        part = frame.slice(offset, SHARD_ROWS).with_columns(pl.col(pl.Categorical).cast(pl.Utf8))
        pick = pl.Series(range(part.height)) % len(samples)
        columns = {}
        for column in TEXT_COLUMNS:
            # The body of a real NPK narrative with its first name replaced by this record's name and
            # its age by this record's age, so name/age checks run on every row.
            bodies = [s[column].split(" 씨", 1)[-1] for s in samples]
            body = pl.Series(bodies).gather(pick)
            columns[column] = pl.concat_str([part["name"], pl.lit(" 씨"), body, pl.lit(f" ({column})"),
                                             pl.lit(" 올해 "), part["age"].cast(pl.Utf8), pl.lit("세인 그는 …")])
        shard_frame = part.with_columns(**{c: v for c, v in columns.items()}).select(NPK_COLUMNS)
        shard_frame.write_parquet(directory / f"train-{shard:05d}.parquet")
        total += shard_frame.height
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="work directory to keep (default: a temp dir)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="ingu-bench-audit-"))
    work.mkdir(parents=True, exist_ok=True)
    structured = work / "ours.parquet"
    if not structured.exists():
        started = time.perf_counter()
        make_structured(args.rows, structured)
        print(f"generated {args.rows:,} structured records in {time.perf_counter() - started:.1f} s")
    seconds, peak = audit(structured, work / "report-ours", "ingu")
    print(f"audit, {args.rows:,} structured records (ingu profile): {seconds:.1f} s, peak RSS {peak:.2f} GB "
          "(target < 30 s)")

    shards = work / "npk-shaped"
    if not shards.exists():
        started = time.perf_counter()
        rows = make_npk_shaped(structured, shards)
        size = sum(p.stat().st_size for p in shards.glob("*.parquet")) / 1024**3
        print(f"built {rows:,} NPK-shaped records with 13 text columns ({size:.2f} GB Parquet) in "
              f"{time.perf_counter() - started:.1f} s")
    seconds, peak = audit(shards, work / "report-npk", "npk")
    print(f"audit, NPK-shaped records with all narratives (npk profile): {seconds:.1f} s, peak RSS {peak:.2f} GB "
          "(targets < 180 s, < 6 GB)")
    print(f"work directory: {work}")


if __name__ == "__main__":
    main()
