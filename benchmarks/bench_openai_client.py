"""Throughput of the ``openai`` narrator's HTTP client vs a bare asyncio httpx client.

Run: python benchmarks/bench_openai_client.py [--n 2000] [--latency 0.05] [--concurrency 16 64] [--repeat 3]
     [--real [--real-n 16] [--real-parallel 4] [--real-max-tokens 48]]

Both clients talk to the same fake OpenAI server (``tests/fake_openai_server.py``, started as a subprocess so
it has its own interpreter and core) that answers every chat request after a fixed latency. Both send the same
payloads (the narrator's chat messages with a strict JSON schema) at the same fixed concurrency:

- bare: one :class:`httpx.AsyncClient`, an :class:`asyncio.Semaphore`, ``json.loads`` of each answer;
- ingu: :class:`~ingu.narrate.openai_backend.OpenAINarrator` (concurrency pinned: initial = max), no cache,
  everything it does per row included (prompt rendering, seeds, limiter, retries bookkeeping, answer parsing).

- bare-sharded: the same, spread over httpx clients of ≤ 8 connections each, as the narrator does
  (httpcore's pool spends O(connections²) CPU per request event, so one client with 64 connections is
  CPU-bound far below what 64 slots allow; this variant is the like-for-like baseline at high concurrency).

Prints requests/s of each and the ratios. The issue's bar: ingu within 10 % of bare (ratio ≥ 0.90). The
ceiling at latency L and concurrency C is C / L requests/s. ``--real`` adds the bare/ingu comparison against
Gemma 3 270M served by llama.cpp (:mod:`ingu.narrate.llama_server`; needs ``ingu[llm]``), with short answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fake_openai_server import make_personas, spawn  # (tests/ is on the path now)

from ingu.narrate.base import Request
from ingu.narrate.fields import FIELDS
from ingu.narrate.openai_backend import OpenAINarrator, _response_format
from ingu.narrate.prompts import PromptSet

MODEL = "fake"


def payloads(personas: list[dict], narrator: OpenAINarrator, fields: tuple[str, ...] = FIELDS) -> list[bytes]:
    """The request bodies the narrator sends for attempt 0 (same messages, seed, schema)."""
    prompts = narrator.prompts
    out = []
    for p in personas:
        body = {"model": narrator.model, "messages": prompts.messages(p, fields, ()),
                "temperature": narrator.temperature, "max_tokens": narrator._chat_max_tokens(fields),
                "seed": narrator._seed(p, 0, 0), "response_format": _response_format(fields)}
        out.append(json.dumps(body, ensure_ascii=False).encode())
    return out


async def bare(url: str, bodies: list[bytes], concurrency: int, warmup: list[bytes], timeout: float = 60.0,
               tokens: list[int] | None = None) -> float:
    """Requests/s of a plain semaphore-bounded httpx client (``tokens`` collects each answer's completion tokens)."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=timeout,
                                 headers={"Content-Type": "application/json"}) as client:
        semaphore = asyncio.Semaphore(concurrency)

        async def one(body: bytes) -> str:
            async with semaphore:
                response = await client.post(url + "/chat/completions", content=body)
            response.raise_for_status()
            answer = response.json()
            return answer["choices"][0]["message"]["content"], answer.get("usage", {}).get("completion_tokens", 0)

        await asyncio.gather(*(one(b) for b in warmup))
        start = time.perf_counter()
        answers = await asyncio.gather(*(one(b) for b in bodies))
        elapsed = time.perf_counter() - start
    assert len(answers) == len(bodies)
    if tokens is not None:
        tokens.extend(t for _, t in answers)
    return len(bodies) / elapsed


async def bare_sharded(url: str, bodies: list[bytes], concurrency: int, warmup: list[bytes], shard: int = 8) -> float:
    """Requests/s of a bare client spread over httpx clients of ≤ ``shard`` connections (as the narrator does)."""
    count = -(-concurrency // shard)
    size = -(-concurrency // count)
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    clients = [httpx.AsyncClient(limits=limits, timeout=60.0, headers={"Content-Type": "application/json"})
               for _ in range(count)]
    load = [0] * count
    semaphore = asyncio.Semaphore(concurrency)

    async def one(body: bytes) -> str:
        async with semaphore:
            i = load.index(min(load))
            load[i] += 1
            try:
                response = await clients[i].post(url + "/chat/completions", content=body)
            finally:
                load[i] -= 1
        response.raise_for_status()
        return response.json()["choices"][0]["message"]["content"]

    try:
        await asyncio.gather(*(one(b) for b in warmup))
        start = time.perf_counter()
        answers = await asyncio.gather(*(one(b) for b in bodies))
        elapsed = time.perf_counter() - start
    finally:
        for client in clients:
            await client.aclose()
    assert len(answers) == len(bodies)
    return len(bodies) / elapsed


def ours(url: str, personas: list[dict], concurrency: int, warmup: list[dict], fields: tuple[str, ...] = FIELDS,
         model: str = MODEL, tokens: list[int] | None = None, **options) -> float:
    """HTTP requests/s of OpenAINarrator (one request per row in chat mode, plus any re-asks); ``tokens`` gets
    the run's completion-token total appended."""
    narrator = OpenAINarrator(url, model, concurrency=concurrency, max_concurrency=concurrency,
                              prompts=PromptSet(), **options)
    try:
        narrator.draft([Request(p, fields) for p in warmup])
        before = narrator.stats["requests"]
        tokens_before = narrator.stats["completion_tokens"]
        requests = [Request(p, fields) for p in personas]
        start = time.perf_counter()
        drafts = narrator.draft(requests)
        elapsed = time.perf_counter() - start
        sent = narrator.stats["requests"] - before
        if tokens is not None:
            tokens.append(narrator.stats["completion_tokens"] - tokens_before)
        failed = sum(d.error is not None for d in drafts)
        if model == MODEL:
            assert failed == 0, f"{failed} rows failed: {next(d.error for d in drafts if d.error)}"
            assert sent == len(personas)
        elif failed:
            print(f"  ({failed} rows ended with an error, e.g. {next(d.error for d in drafts if d.error)})")
    finally:
        narrator.close()
    return sent / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--real", action="store_true",
                        help="also against Gemma 3 270M served by llama.cpp (ingu.narrate.llama_server)")
    parser.add_argument("--real-n", type=int, default=16, help="requests per client in --real")
    parser.add_argument("--real-parallel", type=int, default=4, help="llama.cpp slots = client concurrency")
    parser.add_argument("--real-max-tokens", type=int, default=64)
    args = parser.parse_args()

    proc, url = spawn(0, "--latency", str(args.latency))
    try:
        personas = make_personas(args.n)
        probe = OpenAINarrator(url, MODEL)
        bodies = payloads(personas, probe)
        probe.close()
        print(f"fake server {url}, latency {args.latency * 1000:g} ms, N={args.n}, repeat {args.repeat} (median)")
        print(f"{'conc':>5} {'ceiling':>8} {'bare':>8} {'sharded':>8} {'ingu':>8} {'ingu/bare':>10} "
              f"{'ingu/sharded':>13}   (requests/s, median of {args.repeat})")
        for concurrency in args.concurrency:
            warm = personas[:concurrency]
            runs: dict[str, list[float]] = {"bare": [], "sharded": [], "ingu": []}
            for _ in range(args.repeat):  # interleave so drift hits all alike
                runs["bare"].append(asyncio.run(bare(url, bodies, concurrency, bodies[:concurrency])))
                runs["sharded"].append(asyncio.run(bare_sharded(url, bodies, concurrency, bodies[:concurrency])))
                runs["ingu"].append(ours(url, personas, concurrency, warm))
            b, sh, o = (statistics.median(runs[k]) for k in ("bare", "sharded", "ingu"))
            print(f"{concurrency:>5} {concurrency / args.latency:>8.0f} {b:>8.1f} {sh:>8.1f} {o:>8.1f} "
                  f"{o / b:>10.3f} {o / sh:>13.3f}   "
                  + "; ".join(f"{k} {', '.join(f'{x:.0f}' for x in v)}" for k, v in runs.items()))
    finally:
        proc.kill()
        proc.wait()
    if args.real:
        real(args.real_n, args.real_parallel, args.real_max_tokens, args.repeat)


def real(n: int, parallel: int, max_tokens: int, repeat: int) -> None:
    """The same comparison against a real server: Gemma 3 270M (Q4_K_M) in llama.cpp via xllamacpp.

    Short answers (the one-sentence ``persona`` field, ``max_tokens`` capped) so a CPU box finishes; the
    server's decoding dominates, so the ratio shows whether the client adds anything measurable.
    """
    try:
        from ingu.narrate.llama_server import DEFAULT_ALIAS, serve_gguf
    except ImportError as exc:
        print(f"--real: skipped ({exc})")
        return
    fields = ("persona",)
    personas = make_personas(n + parallel)
    warm, rows = personas[:parallel], personas[parallel:]
    with serve_gguf(parallel=parallel) as url:
        probe = OpenAINarrator(url, DEFAULT_ALIAS, max_tokens=max_tokens)
        bodies = payloads(rows, probe, fields)
        warm_bodies = payloads(warm, probe, fields)
        probe.close()
        print(f"real server {url} ({DEFAULT_ALIAS}, {parallel} slots), N={n}, max_tokens={max_tokens}")
        # answers differ in length (the model samples freely), so completion tokens/s is the like-for-like figure
        print(f"{'slots':>5} {'bare req/s':>11} {'ingu req/s':>11} {'bare tok/s':>11} {'ingu tok/s':>11} "
              f"{'tok/s ratio':>12}   (median of {repeat})")
        b_runs, o_runs, b_tok, o_tok = [], [], [], []
        for _ in range(repeat):
            used: list[int] = []
            rate = asyncio.run(bare(url, bodies, parallel, warm_bodies, timeout=600.0, tokens=used))
            b_runs.append(rate)
            b_tok.append(rate * sum(used) / len(used))
            used = []
            # max_reasks=0: one request per row, like the bare client (a re-ask chain would serialise the tail)
            rate = ours(url, rows, parallel, warm, fields, DEFAULT_ALIAS, tokens=used, max_tokens=max_tokens,
                        timeout=600.0, max_reasks=0)
            o_runs.append(rate)
            o_tok.append(rate * used[0] / len(rows))
        b, o = statistics.median(b_runs), statistics.median(o_runs)
        bt, ot = statistics.median(b_tok), statistics.median(o_tok)
        print(f"{parallel:>5} {b:>11.2f} {o:>11.2f} {bt:>11.1f} {ot:>11.1f} {ot / bt:>12.3f}"
              f"   (tok/s bare {', '.join(f'{x:.1f}' for x in b_tok)}; ingu {', '.join(f'{x:.1f}' for x in o_tok)})")

if __name__ == "__main__":
    main()
