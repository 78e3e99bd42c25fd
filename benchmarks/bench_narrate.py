"""The template narrator's bars on 10,000 personas: speed, pass rate, duplicates, lengths vs NPK.

Run: python benchmarks/bench_narrate.py [N] [SEED]. Samples N records (default 10,000), then narrates them
with the template narrator through the full run (persona building, rendering, every validator, retries and
fallback accounting) and prints:

- personas/s for the run (bar: ≥ 2,000/s on the project's 2-core machine), and for rendering alone;
- the share of personas passing every validator with no fallback (bar: ≥ 99.5 %), findings by code;
- identical texts per field (bar: none) and empty fields (bar: none);
- the median length per field next to NPK's (bar: within 0.5× – 2×).
"""

from __future__ import annotations

import statistics
import sys
import time


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    import pyarrow as pa

    from ingu.model.build import load_model
    from ingu.narrate.fields import FIELDS, NPK_MEDIAN_LENGTH
    from ingu.narrate.persona import build_personas
    from ingu.narrate.run import NarrationRun
    from ingu.narrate.template import TemplateNarrator
    from ingu.sample.sampler import generate, plan

    records = pa.concat_tables(list(generate(plan(load_model()), n, seed)))
    narrator = TemplateNarrator(seed=seed)

    t = time.perf_counter()
    personas = build_personas(records)
    for persona in personas:
        narrator.render(persona)
    render_s = time.perf_counter() - t

    run1 = NarrationRun(narrator, batch_size=1024)
    t = time.perf_counter()
    run1.narrate_table(records)
    run1_s = time.perf_counter() - t
    run = NarrationRun(narrator, batch_size=1024, workers=2)
    t = time.perf_counter()
    out = run.narrate_table(records)
    run_s = time.perf_counter() - t
    counts = run.counts.as_dict()
    statuses = counts["statuses"]
    clean = statuses.get("ok", 0) + statuses.get("retried", 0)
    print(f"personas: {n:,} (seed {seed})")
    print(f"build personas + render:  {render_s:6.2f} s  ({n / render_s:,.0f}/s)")
    print(f"full run, 1 process:      {run1_s:6.2f} s  ({n / run1_s:,.0f}/s)")
    print(f"full run, 2 processes:    {run_s:6.2f} s  ({n / run_s:,.0f}/s; bar ≥ 2,000/s)")
    print(f"statuses: {statuses}")
    print(f"passing with no fallback: {clean / n:.4%}  (first attempt: {statuses.get('ok', 0) / n:.4%}; bar ≥ 99.5 %)")
    print(f"findings: {counts['findings'] or 'none'}")
    print(f"{'field':30} {'median':>7} {'NPK':>5} {'ratio':>6} {'dup':>4} {'empty':>5}")
    for field in FIELDS:
        texts = out.column(field).to_pylist()
        median = statistics.median(len(t) for t in texts)
        duplicates = len(texts) - len(set(texts))
        empty = sum(1 for t in texts if not t)
        print(f"{field:30} {median:7.0f} {NPK_MEDIAN_LENGTH[field]:5d} {median / NPK_MEDIAN_LENGTH[field]:6.2f} "
              f"{duplicates:4d} {empty:5d}")


if __name__ == "__main__":
    main()
