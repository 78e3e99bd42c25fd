"""The ``local`` narrator (Gemma 3 270M in llama.cpp, ``ingu[llm]``) through a full narration run.

Run: python benchmarks/bench_local.py [N] [SEED] [--retries R] [--parallel P] [--fields f1,f2,...]

Samples N records (default 12), narrates all 13 fields (or ``--fields``) with the local model through
:class:`~ingu.narrate.run.NarrationRun` — validators, R retries (default 1) with the findings as feedback,
template fallback — and prints what the issue asks to be reported: the share of fields that passed the
validators on the first attempt, after retries, and that fell back to the template narrator; findings by code
and by field; seconds per persona, tokens/s. Offline; a 2-core machine takes ~20 s per persona for 13 fields.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=12)
    parser.add_argument("seed", nargs="?", type=int, default=1)
    parser.add_argument("--retries", type=int, default=1)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--fields", default="", help="comma-separated subset of the 13 fields")
    args = parser.parse_args()

    import pyarrow as pa

    from ingu.model.build import load_model
    from ingu.narrate.fields import FIELDS
    from ingu.narrate.local_backend import LocalNarrator
    from ingu.narrate.run import NarrationRun
    from ingu.sample.sampler import generate, plan

    fields = tuple(f for f in args.fields.split(",") if f) or FIELDS
    records = pa.concat_tables(list(generate(plan(load_model()), args.n, args.seed)))
    with LocalNarrator(parallel=args.parallel, seed=args.seed) as narrator:
        narrator.start()
        run = NarrationRun(narrator, max_retries=args.retries, fields=fields, batch_size=args.n)
        start = time.perf_counter()
        out = run.narrate_table(records)
        seconds = time.perf_counter() - start
        stats = dict(narrator.stats)
    c = run.counts
    print(f"local model: {args.n} personas × {len(fields)} fields = {c.fields} fields, seed {args.seed}, "
          f"{args.retries} retr{'y' if args.retries == 1 else 'ies'}, {args.parallel} slots")
    print(f"passed first time:        {c.first_pass_fields:5d}  {c.first_pass_fields / c.fields:7.2%}")
    print(f"retried (requests):       {c.retried_fields:5d}  ({c.retry_successes} then passed)")
    print(f"passed without fallback:  {c.fields - c.fallback_fields - c.failed_fields:5d}  "
          f"{(c.fields - c.fallback_fields - c.failed_fields) / c.fields:7.2%}")
    print(f"fell back to template:    {c.fallback_fields:5d}  {c.fallback_fields / c.fields:7.2%}")
    print(f"failed after fallback:    {c.failed_fields:5d}")
    print(f"row statuses: {dict(c.statuses)}")
    print(f"findings by code: {dict(c.findings.most_common())}")
    fell_back = Counter(f for cell in out.column("narration_fallback_fields").to_pylist() if cell
                        for f in cell.split(","))
    print(f"fallbacks by field: {dict(fell_back.most_common())}")
    if c.backend_errors:
        print(f"backend errors: {dict(c.backend_errors)}")
    print(f"time: {seconds:.1f} s, {seconds / args.n:.1f} s per persona; {stats['requests']} model calls, "
          f"{stats['completion_tokens']} completion tokens ({stats['completion_tokens'] / seconds:.1f} tokens/s)")


if __name__ == "__main__":
    main()
