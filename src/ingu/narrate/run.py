"""A narration run: validate, retry, fall back, count — and checkpoint row groups so a killed run resumes.

Per batch of personas::

    attempt 0 … max_retries     narrator.draft(requests) → validator.check → failed fields go again,
                                with the findings as feedback
    fallback                    fields still failing are written by the template narrator (its own
                                attempts 0 … 3), and the row is flagged
    flags on the row            narration_status (ok / retried / fallback / failed), narration_retries,
                                narration_fallback_fields, narration_issues
    manifest                    every retry, fallback, finding code, backend error and token counted

:func:`narrate_file` runs that over a record file in row groups: each finished group is written to
``<output>.parts/part-NNNNN.parquet`` (atomically) and entered in ``manifest.json``; a rerun with the same
input and settings skips finished groups, so a killed run resumes without duplicates or gaps. The output
file appears only when every group is done.
"""

from __future__ import annotations

import multiprocessing
import time
import weakref
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ingu.narrate.base import Draft, Narrator, NarratorError, Request
from ingu.narrate.fields import FIELDS
from ingu.narrate.persona import build_personas
from ingu.narrate.template import TemplateNarrator
from ingu.narrate.validate import Finding, Validator

#: Columns added after the record's own: how each row's text came about.
NARRATION_COLUMNS: tuple[str, ...] = (
    "narration_status", "narration_retries", "narration_fallback_fields", "narration_issues",
)
STATUSES: tuple[str, ...] = ("ok", "retried", "fallback", "failed")
MANIFEST_FORMAT = "ingu.narration_manifest/1"
_FALLBACK_ATTEMPTS = 4
#: Below this many rows to go, worker processes cost more to start (~1.5 s: spawn + imports + the banks)
#: than they save (measured with benchmarks/bench_narrate.py: 10k rows 2,530/s in one process vs 2,299/s in
#: two; 50k rows 2,209/s vs 2,965/s).
POOL_MIN_ROWS = 20_000


@dataclass
class RunCounts:
    """What happened in a run; :meth:`as_dict` is the manifest's ``counts``."""

    rows: int = 0
    fields: int = 0
    first_pass_fields: int = 0  # fields accepted from the narrator's first attempt
    retried_fields: int = 0  # field re-requests made
    retry_successes: int = 0  # fields accepted on a retry
    fallback_fields: int = 0  # fields written by the template narrator instead
    failed_fields: int = 0  # fields still failing after the fallback (kept, flagged)
    statuses: Counter = field(default_factory=Counter)
    findings: Counter = field(default_factory=Counter)
    backend_errors: Counter = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_drafts: int = 0
    seconds: float = 0.0

    def add(self, other: RunCounts) -> None:
        for name, value in vars(other).items():
            mine = getattr(self, name)
            if isinstance(value, Counter):
                mine.update(value)
            else:
                setattr(self, name, mine + value)

    def as_dict(self) -> dict[str, Any]:
        out = {k: (dict(sorted(v.items())) if isinstance(v, Counter) else v) for k, v in vars(self).items()}
        out["pass_rate_without_fallback"] = (
            (self.fields - self.fallback_fields - self.failed_fields) / self.fields if self.fields else None)
        out["first_pass_rate"] = self.first_pass_fields / self.fields if self.fields else None
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunCounts:
        counts = cls()
        for name in vars(counts):
            if name in data:
                value = data[name]
                setattr(counts, name, Counter(value) if isinstance(getattr(counts, name), Counter) else value)
        return counts


def narrated_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with the 13 text fields as strings (added at NPK's positions if absent) + narration flags."""
    fields = [f for f in schema if f.name not in NARRATION_COLUMNS]
    names = [f.name for f in fields]
    for text_field in FIELDS:
        if text_field in names:
            fields[names.index(text_field)] = pa.field(text_field, pa.string())
        else:
            fields.append(pa.field(text_field, pa.string()))
    fields += [pa.field("narration_status", pa.string()), pa.field("narration_retries", pa.int16()),
               pa.field("narration_fallback_fields", pa.string()), pa.field("narration_issues", pa.string())]
    return pa.schema(fields)


class NarrationRun:
    """Narrate record tables with one backend, validating every field; reusable across row groups.

    Parameters
    ----------
    narrator : Narrator
        The backend. The template narrator is also the fallback; pass ``fallback`` to configure it.
    max_retries : int
        Re-requests of a failing field before falling back (0 = fall back at once).
    fields : sequence of str
        Fields to write (default all 13); others keep the input's text.
    batch_size : int
        Personas handed to ``narrator.draft`` at once (LLM backends parallelise within a batch).
    on_rows : callable, optional
        ``on_rows(rows_done, completion_tokens)`` after each batch, for progress bars.
    workers : int
        Processes for the template narrator (pure-Python CPU work; LLM backends parallelise inside
        ``draft`` instead). Rows are split into contiguous slices; duplicates across slices are caught
        afterwards and those fields re-rendered (so, in that rare case only, the text depends on the number
        of workers).
    """

    def __init__(self, narrator: Narrator, *, fallback: TemplateNarrator | None = None, max_retries: int = 2,
                 fields: Sequence[str] = FIELDS, batch_size: int = 256, validator: Validator | None = None,
                 on_rows: Callable[[int, int], None] | None = None, workers: int = 1) -> None:
        unknown = [f for f in fields if f not in FIELDS]
        if unknown:
            raise NarratorError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
        self.narrator = narrator
        self.fallback = fallback or (narrator if isinstance(narrator, TemplateNarrator) else TemplateNarrator())
        self.max_retries = max_retries
        self.fields = tuple(f for f in FIELDS if f in fields)
        self.batch_size = batch_size
        self.validator = validator or Validator()
        self.on_rows = on_rows
        self.workers = max(1, workers)
        self._pool = None
        self._inline = False
        self.counts = RunCounts()  # the whole run
        self.last_counts = RunCounts()  # the last narrate_table call (one checkpointed row group)

    def expect_rows(self, rows: int) -> None:
        """Tell the run how many rows it will narrate in all: too few for worker processes to pay off
        (:data:`POOL_MIN_ROWS`) and it stays in this process."""
        self._inline = self._pool is None and rows < POOL_MIN_ROWS

    def narrate_table(self, table: pa.Table, *, source: str = "records") -> pa.Table:
        """``table`` with the text fields written and the narration columns added."""
        if (self.workers > 1 and not self._inline and isinstance(self.narrator, TemplateNarrator)
                and table.num_rows >= 2 * self.batch_size):
            return self._narrate_in_processes(table, source)
        started = time.perf_counter()
        personas = build_personas(table, source=source)
        counts = RunCounts()
        columns: dict[str, list[str]] = {f: [] for f in self.fields}
        flags: dict[str, list[Any]] = {c: [] for c in NARRATION_COLUMNS}
        for start in range(0, len(personas), self.batch_size):
            batch = personas[start:start + self.batch_size]
            texts, meta = self._narrate_batch(batch, counts)
            for row_texts, row_meta in zip(texts, meta):
                for f in self.fields:
                    columns[f].append(row_texts[f])
                for c in NARRATION_COLUMNS:
                    flags[c].append(row_meta[c])
            if self.on_rows:
                self.on_rows(len(batch), counts.completion_tokens)
        counts.rows = len(personas)
        counts.seconds = time.perf_counter() - started
        self.counts.add(counts)
        self.last_counts = counts
        out = table.drop_columns([c for c in NARRATION_COLUMNS if c in table.column_names])
        for f in self.fields:
            array = pa.array(columns[f], pa.string())
            if f in out.column_names:
                out = out.set_column(out.column_names.index(f), f, array)
            else:
                out = out.append_column(f, array)
        for f in FIELDS:  # fields not narrated now still exist in the output schema
            if f not in out.column_names:
                out = out.append_column(f, pa.array([""] * table.num_rows, pa.string()))
        for c, type_ in zip(NARRATION_COLUMNS, (pa.string(), pa.int16(), pa.string(), pa.string())):
            out = out.append_column(c, pa.array(flags[c], type_))
        return out.select(narrated_schema(table.schema).names)

    def _narrate_in_processes(self, table: pa.Table, source: str) -> pa.Table:
        started = time.perf_counter()
        n = table.num_rows
        bounds = [n * k // self.workers for k in range(self.workers + 1)]
        tasks = [(_to_ipc(table.slice(lo, hi - lo)), source) for lo, hi in zip(bounds[:-1], bounds[1:])]
        results = self._worker_pool().map(_narrate_slice, tasks)
        parts, counts = [], RunCounts()
        for payload, part_counts in results:
            parts.append(_from_ipc(payload))
            counts.add(RunCounts.from_dict(part_counts))
        out = pa.concat_tables(parts)
        out = self._resolve_cross_slice_duplicates(out, counts, source)
        counts.seconds = time.perf_counter() - started
        self.counts.add(counts)
        self.last_counts = counts
        if self.on_rows:
            self.on_rows(n, 0)
        return out

    def _worker_pool(self):
        """Worker processes, started once per run. ``spawn``, not ``fork``: Arrow's and polars' thread pools
        do not survive a fork, and a forked child can deadlock. Each worker rebuilds the narrators from
        their ``config``."""
        if self._pool is None:
            spec = {"narrator": self.narrator.config, "fallback": self.fallback.config,
                    "max_retries": self.max_retries, "fields": self.fields, "batch_size": self.batch_size}
            self._pool = multiprocessing.get_context("spawn").Pool(self.workers, initializer=_start_worker,
                                                                   initargs=(spec,))
            self._pool_finalizer = weakref.finalize(self, self._pool.terminate)
        return self._pool

    def close(self) -> None:
        """Stop worker processes (if any were started). The run can still be used; they restart on demand."""
        if self._pool is not None:
            self._pool_finalizer()
            self._pool = None

    def _resolve_cross_slice_duplicates(self, out: pa.Table, counts: RunCounts, source: str) -> pa.Table:
        """Register every text in this process's validator; re-render fields that repeat across slices."""
        personas = None
        columns = {f: out.column(f).to_pylist() for f in self.fields}
        retries = out.column("narration_retries").to_pylist()
        status = out.column("narration_status").to_pylist()
        changed = False
        for i in range(out.num_rows):
            row = {f: columns[f][i] for f in self.fields}
            dup = [x.field for x in self.validator.check(_MinimalPersona, row, duplicates_only=True)]
            if not dup:
                continue
            changed = True
            personas = personas or build_personas(out, source=source)
            counts.findings["duplicate"] += len(dup)
            for attempt in range(20, 20 + _FALLBACK_ATTEMPTS * 4):
                texts = self.fallback.render(personas[i], attempt)
                if not self.validator.check(personas[i], {f: texts[f] for f in dup}):
                    break
            for f in dup:
                columns[f][i] = texts[f]
            counts.retried_fields += len(dup)
            retries[i] += 1
            if status[i] == "ok":
                status[i] = "retried"
        if not changed:
            return out
        for f in self.fields:
            out = out.set_column(out.column_names.index(f), f, pa.array(columns[f], pa.string()))
        out = out.set_column(out.column_names.index("narration_retries"), "narration_retries",
                             pa.array(retries, pa.int16()))
        return out.set_column(out.column_names.index("narration_status"), "narration_status",
                              pa.array(status, pa.string()))

    def _narrate_batch(self, personas: list[dict[str, Any]], counts: RunCounts):
        n = len(personas)
        texts: list[dict[str, str]] = [{} for _ in range(n)]
        retries = [0] * n
        issues: list[list[str]] = [[] for _ in range(n)]
        fallback_fields: list[list[str]] = [[] for _ in range(n)]
        pending = {i: (self.fields, ()) for i in range(n)}
        counts.fields += n * len(self.fields)
        for attempt in range(self.max_retries + 1):
            if not pending:
                break
            order = sorted(pending)
            requests = [Request(personas[i], pending[i][0], attempt, pending[i][1]) for i in order]
            drafts = self._draft(self.narrator, requests, counts)
            pending = {}
            for i, request, draft in zip(order, requests, drafts):
                failed, feedback = self._accept(personas[i], request.fields, draft, texts[i], counts)
                accepted = len(request.fields) - len(failed)
                if attempt:
                    counts.retry_successes += accepted
                else:
                    counts.first_pass_fields += accepted
                if failed:
                    pending[i] = (failed, feedback)
                    issues[i] = list(feedback)
                    if attempt < self.max_retries:
                        retries[i] += 1
                        counts.retried_fields += len(failed)
                else:
                    issues[i] = []
        # fall back to the template narrator for whatever still fails
        still_failing: list[tuple[str, ...]] = [()] * n
        for i, (failed, _feedback) in sorted(pending.items()):
            fallback_fields[i] = list(failed)
            counts.fallback_fields += len(failed)
            remaining, last, draft = failed, (), Draft()
            for attempt in range(_FALLBACK_ATTEMPTS):
                draft = self.fallback.draft([Request(personas[i], remaining, attempt)])[0]
                remaining, last = self._accept(personas[i], remaining, draft, texts[i], RunCounts())
                if not remaining:
                    break
            if remaining:  # keep the fallback's text rather than nothing; the row says why
                counts.failed_fields += len(remaining)
                still_failing[i] = remaining
                issues[i] = list(last)
                for f in remaining:
                    texts[i][f] = draft.texts.get(f, "")
        meta = []
        for i in range(n):
            status = ("failed" if still_failing[i] else "fallback" if fallback_fields[i]
                      else "retried" if retries[i] else "ok")
            counts.statuses[status] += 1
            meta.append({"narration_status": status, "narration_retries": retries[i],
                         "narration_fallback_fields": ",".join(fallback_fields[i]),
                         "narration_issues": "; ".join(issues[i])})
        return texts, meta

    def _draft(self, narrator: Narrator, requests: list[Request], counts: RunCounts) -> list[Draft]:
        drafts = narrator.draft(requests)
        if len(drafts) != len(requests):
            raise NarratorError(f"{narrator.name} returned {len(drafts)} drafts for {len(requests)} requests")
        for draft in drafts:
            counts.prompt_tokens += draft.prompt_tokens
            counts.completion_tokens += draft.completion_tokens
            counts.cached_drafts += int(draft.cached)
            if draft.error:
                counts.backend_errors[_error_kind(draft.error)] += 1
        return drafts

    def _accept(self, persona: dict[str, Any], fields: tuple[str, ...], draft: Draft, texts: dict[str, str],
                counts: RunCounts) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Take the draft's passing fields into ``texts``; return (failed fields, feedback lines)."""
        got = {f: draft.texts[f] for f in fields if draft.texts.get(f)}
        findings: list[Finding] = self.validator.check(persona, got) if got else []
        bad = {x.field for x in findings}
        for x in findings:
            counts.findings[x.code] += 1
        for f, text in got.items():
            if f not in bad:
                texts[f] = text
        failed = tuple(f for f in fields if f not in got or f in bad)
        feedback = tuple(str(x) for x in findings)
        if draft.error:
            feedback += (f"backend: {draft.error}",)
        missing = [f for f in fields if f not in got]
        if missing and not draft.error:
            feedback += (f"missing fields: {', '.join(missing)}",)
        return failed, feedback


#: stands in for a persona when only duplicates are checked
_MinimalPersona = {"name": "", "age": 0, "sex": "", "province": ""}
_WORKER_RUN: NarrationRun | None = None


def _start_worker(spec: dict[str, Any]) -> None:
    """Worker initializer: build this process's run (narrators, fresh validator) once."""
    global _WORKER_RUN
    _WORKER_RUN = NarrationRun(TemplateNarrator(**spec["narrator"]), fallback=TemplateNarrator(**spec["fallback"]),
                               max_retries=spec["max_retries"], fields=spec["fields"], batch_size=spec["batch_size"])


def _narrate_slice(task: tuple[bytes, str]) -> tuple[bytes, dict[str, Any]]:
    """Worker: narrate one slice (Arrow IPC in and out) with a fresh validator; counts of this slice only."""
    payload, source = task
    _WORKER_RUN.validator.forget()  # duplicates across slices are the parent's to resolve
    out = _WORKER_RUN.narrate_table(_from_ipc(payload), source=source)
    return _to_ipc(out), _WORKER_RUN.last_counts.as_dict()


def _to_ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _from_ipc(payload: bytes) -> pa.Table:
    return pa.ipc.open_stream(payload).read_all()


def _error_kind(error: str) -> str:
    """A short bucket for an error message (the manifest counts buckets, not messages)."""
    head = error.split(":", 1)[0].strip().lower()
    return head[:40] or "error"
