"""Stream every registered adult of Korea to Parquet; print seconds and peak memory.

Run: python benchmarks/bench_full_population.py [OUT_DIR]. Bars: < 10 minutes, peak RSS < 4 GB.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    out = out_dir / "korea_adults_2024.parquet"
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ingu.cli", "generate", "--full-population", "--seed", "1",
                    "-o", str(out), "--overwrite", "--chunk-size", "262144"], check=True)
    seconds = time.perf_counter() - t
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(out).metadata
    print(f"rows: {meta.num_rows:,}  row groups: {meta.num_row_groups}  size: {out.stat().st_size / 1e9:.2f} GB")
    print(f"wall time: {seconds:.0f} s (bar < 600 s)   peak RSS: {peak_kb / 1e6:.2f} GB (bar < 4 GB)")
    out.unlink()


if __name__ == "__main__":
    main()
