"""The ``openai`` narrator: any OpenAI-compatible server (OpenAI, vLLM, llama.cpp, SGLang, Ollama …).

Two APIs:

``chat`` (instruction-tuned models)
    one ``POST {base_url}/chat/completions`` per persona asking for all its requested fields as one JSON
    object; with structured output on (``structured="auto"`` or ``"json_schema"``) the request carries a
    strict JSON schema as ``response_format``. A server that rejects it (HTTP 400/422 about
    ``response_format`` / ``json_schema`` / grammar) makes ``auto`` switch structured output off for the rest
    of the run and ask again; a 400 that does not say why is asked again without the schema, and three rows
    in a row that work only that way switch it off too. Answers are read by
    :func:`~ingu.narrate.answers.parse_answer`; an unreadable one is asked again (``max_reasks`` times, each
    with another seed and a slightly higher temperature). ``max_tokens`` defaults to 200 + 250 per field.
``completions`` (base models)
    one ``POST {base_url}/completions`` per (persona, field) with the completion prompt, stopping at the
    end of the line; list fields accept a JSON / Python list or a comma list.

Transport: :class:`httpx.AsyncClient` s (one per 8 connections: httpcore's pool costs O(connections²) CPU
per request, so one client with 64 connections tops out near 100 requests/s) on an event loop the narrator
owns in a background thread (``ingu-openai``), started on the first :meth:`OpenAINarrator.draft` and kept
across batches (pooled connections, the concurrency limit it learnt). :meth:`~OpenAINarrator.draft` blocks
the calling thread until the batch is done; progress callbacks run in the calling thread; rows are admitted
2 × ``max_concurrency`` at a time, so prompts are rendered just ahead of sending. Concurrency is adaptive
(:class:`~ingu.narrate.concurrency.AdaptiveLimiter`: +1 slot every ``increase_every`` successes up to
``max_concurrency``, halved on 429 / 503 / timeouts, all new requests paused for a ``Retry-After``).

Cache (:class:`~ingu.narrate.cache.NarrationCache`): every request is looked up by the hash of its payload
first; only answers that parsed are stored, so a rerun of the same narration sends no request.

Retries: 429 and connection errors (a server being restarted) are retried with capped exponential backoff
and jitter until the per-request ``deadline``; 5xx, 408 and timeouts at most ``max_retries`` times. 401,
403 and 404 (bad key, bad URL, unknown model) stop the batch with :class:`~ingu.narrate.base.NarratorError`,
as does a batch in which every request failed to reach the server. Everything else ends in the row's
:attr:`~ingu.narrate.base.Draft.error`.

The API key is read once from the environment variable named by ``api_key_env`` and sent as
``Authorization: Bearer``; it never appears in ``repr``, :meth:`~OpenAINarrator.describe`, errors or the
cache (error texts from the server are scrubbed of it).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import queue
import random
import re
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from ingu.narrate.answers import AnswerError, parse_answer
from ingu.narrate.base import Draft, NarratorError, Request
from ingu.narrate.cache import NarrationCache, cache_key
from ingu.narrate.concurrency import AdaptiveLimiter, retry_after_seconds
from ingu.narrate.fields import LIST_FIELDS
from ingu.narrate.http_messages import clip, public_url, server_message, token_count
from ingu.narrate.local_backend import answer_prefix
from ingu.narrate.persona import persona_key
from ingu.narrate.prompts import PromptSet, json_schema

#: Signature of the progress callback: ``(rows_finished, completion_tokens)`` since the previous call.
ProgressCallback = Callable[[int, int], None]

APIS = ("chat", "completions")
STRUCTURED = ("auto", "json_schema", "off")
#: Default ``max_tokens``: chat answers get 250 per field asked plus 200 (Korean runs about one token per
#: one to two characters), at most 3072 so that prompt + answer fit a 4k context; completions get 512.
CHAT_TOKENS_PER_FIELD, CHAT_TOKENS_BASE, CHAT_TOKENS_MAX = 250, 200, 3072
COMPLETION_MAX_TOKENS = 512
#: Words in a 400/422 body that mean "this server cannot do structured output".
_STRUCTURED_REJECTION = re.compile(r"response_format|json_schema|json schema|grammar|guided|structured",
                                   re.IGNORECASE)
_SEED_REJECTION = re.compile(r"\bseed\b", re.IGNORECASE)
_REASK_FEEDBACK = "이전 답변은 요청한 JSON 객체가 아니었습니다. 요청한 키만 가진 JSON 객체 하나로만 답하십시오."
#: Rows in a row that must get an unexplained 400 with the schema and an answer without it before
#: ``structured="auto"`` gives the schema up (a 400 that names response_format / json_schema is enough).
_SCHEMA_STRIKES = 3
_SHARD = 8  # connections per httpx client (see OpenAINarrator._make_client)
_STAT_KEYS = ("rows", "rows_failed", "rows_cached", "requests", "successes", "retries", "http_429", "http_5xx",
              "http_4xx", "timeouts", "connection_errors", "malformed", "reasks", "cache_hits",
              "structured_fallbacks", "seed_fallbacks", "cache_errors", "prompt_tokens", "completion_tokens")


class _Fatal(Exception):
    """The server refuses all work (bad key, bad URL, unknown model): stop the batch."""


class _Failed(Exception):
    """This request failed for good; ``reason`` goes to the draft. ``connection``: never reached the server."""

    def __init__(self, reason: str, *, connection: bool = False) -> None:
        super().__init__(reason)
        self.connection = connection


class _Rejected(Exception):
    """The server refused a request (400/422) carrying an option (``response_format`` or ``seed``).

    ``certain``: the message names the option; otherwise the caller may try once without it.
    """

    def __init__(self, option: str, reason: str, *, certain: bool = True) -> None:
        super().__init__(reason)
        self.option = option
        self.certain = certain


class OpenAINarrator:
    """Narrate with an OpenAI-compatible HTTP server; see the module docstring.

    Parameters
    ----------
    base_url : str
        The API root, ``…/v1`` included (``https://api.openai.com/v1``, ``http://127.0.0.1:8080/v1``).
    model : str
        Model name sent with every request.
    api_key_env : str
        Environment variable holding the API key (read once, here); unset means no ``Authorization``.
    api : {"chat", "completions"}
        Chat (one JSON answer per persona) or completions (one request per persona × field).
    concurrency, max_concurrency : int
        Initial and maximum number of requests in flight (adaptive in between).
    timeout : float
        Seconds one HTTP request may take (connect ≤ 10 s, then read/write inactivity).
    max_retries : int
        Retries of one request after 5xx / 408 / timeouts (429 and connection errors retry until
        ``deadline``).
    temperature : float
        Sampling temperature of attempt 0; retries add 0.05 per attempt (at most +0.3).
    max_tokens : int, optional
        Per request; default: chat 200 + 250 per field asked (at most 3072), completions 512.
    structured : {"auto", "json_schema", "off"}
        Structured output in chat mode: try and fall back (``auto``), require (``json_schema``), never.
    cache : NarrationCache or path, optional
        Answer cache. A path opens one that :meth:`close` closes; a passed cache stays open.
    prompts : PromptSet, optional
        Prompt files (the packaged ones by default).
    on_progress : callable, optional
        ``on_progress(rows, completion_tokens)``: increments since the previous call, called in the thread
        that called :meth:`draft` as requests of the batch finish (bursts are coalesced into one call; a
        row asked again at a later attempt counts again). Settable later as an attribute. An exception
        it raises cancels the batch and propagates from :meth:`draft`.
    deadline : float
        Seconds one request (with all its retries) may take before its row fails.
    max_reasks : int
        Extra asks after an answer that cannot be read (malformed JSON, empty text).
    increase_every : int
        Successes per +1 of the concurrency limit.
    backoff_base, backoff_cap : float
        Exponential backoff: ``base · 2^n`` seconds (with jitter), at most ``cap``.
    seed : int
        Run seed mixed into every request's seed.
    send_seed : bool
        Send ``seed`` (dropped for the rest of the run if the server rejects it).
    """

    name = "openai"

    def __init__(self, base_url: str, model: str, *, api_key_env: str = "OPENAI_API_KEY", api: str = "chat",
                 concurrency: int = 16, max_concurrency: int = 64, timeout: float = 60.0, max_retries: int = 6,
                 temperature: float = 0.8, max_tokens: int | None = None, structured: str = "auto",
                 cache: NarrationCache | str | Path | None = None, prompts: PromptSet | None = None,
                 on_progress: ProgressCallback | None = None, deadline: float = 300.0, max_reasks: int = 2,
                 increase_every: int = 8, backoff_base: float = 0.5, backoff_cap: float = 10.0, seed: int = 0,
                 send_seed: bool = True) -> None:
        if api not in APIS:
            raise NarratorError(f"api must be one of {', '.join(APIS)}, got {api!r}")
        if structured not in STRUCTURED:
            raise NarratorError(f"structured must be one of {', '.join(STRUCTURED)}, got {structured!r}")
        if not base_url or not urlsplit(base_url).scheme.startswith("http"):
            raise NarratorError(f"base_url must be an http(s) URL, got {public_url(base_url)!r}")
        if concurrency < 1 or max_concurrency < 1:
            raise NarratorError("concurrency and max_concurrency must be ≥ 1")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api = api
        self.api_key_env = api_key_env
        self.__key = os.environ.get(api_key_env) or None if api_key_env else None
        self.concurrency = min(concurrency, max_concurrency)
        self.max_concurrency = max_concurrency
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.temperature = float(temperature)
        self.max_tokens = int(max_tokens) if max_tokens else None  # None: by the number of fields
        self.structured = structured
        self.deadline = float(deadline)
        self.max_reasks = int(max_reasks)
        self.increase_every = int(increase_every)
        self.backoff_base = float(backoff_base)
        self.backoff_cap = float(backoff_cap)
        self.seed = int(seed)
        self.on_progress = on_progress
        self.prompts = prompts or PromptSet()
        self._owns_cache = cache is not None and not isinstance(cache, NarrationCache)
        self.cache: NarrationCache | None = (NarrationCache(cache) if not isinstance(cache, NarrationCache | None)
                                             else cache)
        self._structured_on = api == "chat" and structured != "off"
        self._seed_on = bool(send_seed)
        self._schema_strikes = 0  # rows whose schema request got a bare 400 and whose plain request worked
        self._stats: dict[str, int] = dict.fromkeys(_STAT_KEYS, 0)
        self._limiter = AdaptiveLimiter(self.concurrency, max_concurrency, increase_every=self.increase_every)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._clients: list[httpx.AsyncClient] = []
        self._client_load: list[int] = []
        self._admission: asyncio.Semaphore | None = None
        self._closed = False
        self._start_lock = threading.Lock()
        self._running: set[Any] = set()  # batches in flight (concurrent futures), cancelled by close()

    # --- the protocol --------------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """Settings for the run manifest (the key's variable name and whether it is set, never the key)."""
        return {
            "backend": self.name, "base_url": public_url(self.base_url), "model": self.model, "api": self.api,
            "prompts_version": self.prompts.version, "structured": self.structured,
            "temperature": self.temperature, "max_tokens": self.max_tokens or "auto", "seed": self.seed,
            "concurrency": self.concurrency, "max_concurrency": self.max_concurrency, "timeout": self.timeout,
            "max_retries": self.max_retries, "deadline": self.deadline, "api_key_env": self.api_key_env,
            "api_key_set": self.__key is not None,
            "cache": str(self.cache.path) if self.cache is not None else None,
        }

    def draft(self, requests: Sequence[Request]) -> list[Draft]:
        """One draft per request, in order; blocks until the batch is done.

        Raises
        ------
        NarratorError
            The server refuses all work (401/403/404), every request of the batch failed to reach it, or
            the narrator is closed.
        """
        requests = list(requests)
        if not requests:
            return []
        loop = self._ensure_started()
        if threading.current_thread() is self._thread:
            raise NarratorError("OpenAINarrator.draft() called from its own event-loop thread")
        callback = self.on_progress
        events: queue.SimpleQueue[tuple[int, int] | None] | None = queue.SimpleQueue() if callback else None
        future = asyncio.run_coroutine_threadsafe(self._batch(requests, events), loop)
        self._running.add(future)
        future.add_done_callback(self._running.discard)
        try:
            if events is not None and callback is not None:
                future.add_done_callback(lambda _: events.put(None))
                done = False
                while not done:
                    item = events.get()
                    rows = tokens = 0
                    while True:  # coalesce whatever else is waiting into one callback
                        if item is None:
                            done = True
                        else:
                            rows += item[0]
                            tokens += item[1]
                        try:
                            item = events.get_nowait()
                        except queue.Empty:
                            break
                    if rows or tokens:
                        callback(rows, tokens)
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def close(self) -> None:
        """Close connections, stop the event-loop thread, close an owned cache. Idempotent."""
        with self._start_lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        for future in list(self._running):  # a draft() blocked in another thread ends with CancelledError
            future.cancel()
        if loop is not None and thread is not None:
            if self._clients:
                try:
                    asyncio.run_coroutine_threadsafe(self._close_clients(), loop).result(timeout=10)
                except Exception:  # noqa: BLE001, S110 - closing must not fail
                    pass
                self._clients = []
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            if not thread.is_alive():
                loop.close()
        if self._owns_cache and self.cache is not None:
            self.cache.close()

    def __enter__(self) -> OpenAINarrator:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"OpenAINarrator(base_url={public_url(self.base_url)!r}, model={self.model!r}, api={self.api!r}, "
                f"api_key_env={self.api_key_env!r})")

    @property
    def stats(self) -> dict[str, int]:
        """Counters of this narrator's lifetime (a snapshot).

        ``rows rows_failed rows_cached requests successes retries http_429 http_5xx http_4xx timeouts
        connection_errors malformed reasks cache_hits structured_fallbacks seed_fallbacks cache_errors
        prompt_tokens completion_tokens concurrency peak_concurrency in_flight peak_in_flight concurrency_decreases
        pauses``.
        """
        out = dict(self._stats)
        limiter = self._limiter
        out.update(concurrency=limiter.limit, peak_concurrency=limiter.peak_limit, in_flight=limiter.in_flight,
                   peak_in_flight=limiter.peak_in_flight, concurrency_decreases=limiter.decreases,
                   pauses=limiter.pauses)
        return out

    @property
    def structured_active(self) -> bool:
        """Whether chat requests currently carry a JSON schema (False after a fallback)."""
        return self._structured_on

    # --- the event loop ------------------------------------------------------------------------------------

    def _ensure_started(self) -> asyncio.AbstractEventLoop:
        with self._start_lock:
            if self._closed:
                raise NarratorError("the openai narrator is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=_run_loop, args=(loop,), name="ingu-openai", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
                asyncio.run_coroutine_threadsafe(self._make_client(), loop).result()
            return self._loop

    async def _make_client(self) -> None:
        # httpcore's pool does O(connections²) work per request event, which makes one client with 64
        # connections CPU-bound at ~120 requests/s: spread the slots over clients of ≤ _SHARD connections
        # each, and send every request through the least-loaded one.
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.__key is not None:
            headers["Authorization"] = f"Bearer {self.__key}"
        shards = -(-self.max_concurrency // _SHARD)
        per_shard = -(-self.max_concurrency // shards)
        tls = httpx.create_ssl_context()  # one for all clients (loading the CA bundle takes ~25 ms)
        self._clients = [
            httpx.AsyncClient(
                headers=headers, verify=tls,
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
                limits=httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard,
                                    keepalive_expiry=60.0),
            )
            for _ in range(shards)
        ]
        self._client_load = [0] * shards
        # rows admitted at once: enough to keep every slot busy, few enough that prompts are rendered (and
        # the cache read) just ahead of sending, not for the whole batch up front
        self._admission = asyncio.Semaphore(2 * self.max_concurrency)

    async def _close_clients(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self._clients), return_exceptions=True)
        await asyncio.get_running_loop().shutdown_asyncgens()

    async def _batch(self, requests: list[Request],
                     events: queue.SimpleQueue[tuple[int, int] | None] | None) -> list[Draft]:
        one = self._chat if self.api == "chat" else self._completions
        failures: list[_Failed] = []  # rows whose requests never reached the server
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._row(one, request, events, failures)) for request in requests]
        except* _Fatal as fatal:
            raise NarratorError(self._redact(str(fatal.exceptions[0]))) from None
        drafts = [task.result() for task in tasks]
        if len(failures) == len(requests):  # (only requests that never reached the server are listed)
            raise NarratorError(f"cannot reach {public_url(self.base_url)}: every request of the batch failed "
                                f"({self._redact(str(failures[0]))})")
        return drafts

    async def _row(self, one: Callable[[Request, Draft, list[_Failed]], Any], request: Request,
                   events: queue.SimpleQueue[tuple[int, int] | None] | None, failures: list[_Failed]) -> Draft:
        draft = Draft()
        try:
            async with self._admission:  # type: ignore[union-attr]
                await one(request, draft, failures)
        except (_Fatal, asyncio.CancelledError):
            raise
        except Exception as exc:  # noqa: BLE001 - one bad row must not fail the batch
            draft.error = f"internal error: {type(exc).__name__}: {exc}"
        if draft.error is not None:
            draft.error = self._redact(draft.error)
        stats = self._stats
        stats["rows"] += 1
        if draft.error is not None:
            stats["rows_failed"] += 1
        if draft.cached:
            stats["rows_cached"] += 1
        if events is not None:
            events.put((1, draft.completion_tokens))
        return draft

    # --- chat ----------------------------------------------------------------------------------------------

    async def _chat(self, request: Request, draft: Draft, failures: list[_Failed]) -> None:
        fields = tuple(request.fields)
        if not fields:
            return
        ask = 0
        problem = ""
        probing = False  # asking once without the schema after a 400 that did not say why
        while ask <= self.max_reasks:
            feedback = tuple(request.feedback) + ((_REASK_FEEDBACK,) if ask else ())
            payload: dict[str, Any] = {
                "model": self.model, "messages": self.prompts.messages(request.persona, fields, feedback),
                "temperature": self._temperature(request.attempt + ask),
                "max_tokens": self._chat_max_tokens(fields),
            }
            if self._seed_on:
                payload["seed"] = self._seed(request.persona, request.attempt, ask)
            structured = self._structured_on and not probing
            if structured:
                payload["response_format"] = _response_format(fields)
            key = None
            if self.cache is not None:
                key = cache_key("chat", self.model, payload)
                keys = [key]
                if structured and self.structured == "auto":
                    # an answer to the same request without the schema (from a run on a server that
                    # rejected it) is as good: a rerun after a fallback then costs no request either
                    keys.append(cache_key("chat", self.model,
                                          {k: v for k, v in payload.items() if k != "response_format"}))
                texts = self._from_cache(keys, lambda text: _parse_chat(text, fields))
                if texts is not None:
                    draft.cached = draft.requests == 0
                    self._accept(draft, texts, fields)
                    return
            try:
                data = await self._post("/chat/completions", payload, draft)
            except _Rejected as rejected:
                if rejected.option == "response_format" and structured:
                    if self.structured == "json_schema":
                        raise _Fatal(f"the server rejects structured output (structured='json_schema'): "
                                     f"{rejected}") from None
                    if rejected.certain:
                        self._structured_off()
                    else:
                        probing = True
                        problem = str(rejected)
                    continue  # the same ask without the schema
                if rejected.option == "seed" and "seed" in payload:
                    if self._seed_on:
                        self._seed_on = False
                        self._stats["seed_fallbacks"] += 1
                    continue
                draft.error = str(rejected) if not probing else problem
                return
            except _Failed as failed:
                if failed.connection:
                    failures.append(failed)
                draft.error = str(failed) if not probing else problem
                return
            if probing:  # without the schema it worked: one strike against the schema
                probing = False
                self._schema_strikes += 1
                if self._schema_strikes >= _SCHEMA_STRIKES:
                    self._structured_off()
            elif structured:
                self._schema_strikes = 0  # the server does take the schema
            text, finish = _chat_content(data)
            try:
                texts = _parse_chat(text, fields)
            except AnswerError as exc:
                self._stats["malformed"] += 1
                problem = str(exc) if finish != "length" else f"answer cut at max_tokens ({exc})"
                ask += 1
                if ask <= self.max_reasks:
                    self._stats["reasks"] += 1
                continue
            if key is not None:
                self._store(key, text, data.get("usage"))
            self._accept(draft, texts, fields)
            return
        draft.error = f"malformed answer after {self.max_reasks + 1} asks: {problem}"

    def _structured_off(self) -> None:
        if self._structured_on:
            self._structured_on = False
            self._stats["structured_fallbacks"] += 1

    def _from_cache(self, keys: Sequence[str], read: Callable[[str], Any]) -> Any:
        """The first stored answer under ``keys`` that ``read`` accepts (read's result), or None."""
        for key in keys:
            try:
                hit = self.cache.get(key)  # type: ignore[union-attr]
            except sqlite3.Error:  # a broken or locked cache costs requests, not rows
                self._stats["cache_errors"] += 1
                return None
            if hit is None:
                continue
            try:
                value = read(hit.text)
            except AnswerError:  # only parsed answers are stored, but prompts or parsers can change
                continue
            if value is not None:
                self._stats["cache_hits"] += 1
                return value
        return None

    def _store(self, key: str, text: str, usage: Any) -> None:
        try:
            self.cache.put(key, text, usage if isinstance(usage, Mapping) else None)  # type: ignore[union-attr]
        except sqlite3.Error:
            self._stats["cache_errors"] += 1

    @staticmethod
    def _accept(draft: Draft, texts: dict[str, str], fields: Sequence[str]) -> None:
        draft.texts.update(texts)
        missing = [f for f in fields if f not in texts]
        if missing:
            draft.error = f"answer lacks {', '.join(missing)}"

    # --- completions ---------------------------------------------------------------------------------------

    async def _completions(self, request: Request, draft: Draft, failures: list[_Failed]) -> None:
        fields = tuple(request.fields)
        if not fields:
            return
        results = await asyncio.gather(*(self._complete_field(request, field, draft) for field in fields))
        errors = []
        unreachable = []
        for field, (text, error, _, failed) in zip(fields, results):
            if text is not None:
                draft.texts[field] = text
            elif error:
                errors.append(f"{field}: {error}")
            if failed is not None and failed.connection:
                unreachable.append(failed)
        if len(unreachable) == len(fields):
            failures.append(unreachable[0])
        draft.cached = all(hit for _, _, hit, _ in results) and draft.requests == 0
        if errors:
            draft.error = "; ".join(errors) if len(errors) < 3 else f"{errors[0]}; … ({len(errors)} fields failed)"

    async def _complete_field(self, request: Request, field: str,
                              draft: Draft) -> tuple[str | None, str | None, bool, _Failed | None]:
        ask = 0
        problem = ""
        prompt = self.prompts.completion(request.persona, field)
        # the prompt already begins the answer ("○○○ 씨는", "['"): the field is that start + the continuation
        prefix = answer_prefix(prompt)
        while ask <= self.max_reasks:
            payload: dict[str, Any] = {
                "model": self.model, "prompt": prompt, "max_tokens": self.max_tokens or COMPLETION_MAX_TOKENS,
                "temperature": self._temperature(request.attempt + ask), "stop": ["\n"],
            }
            if self._seed_on:
                payload["seed"] = self._seed(request.persona, request.attempt, ask, field)
            key = None
            if self.cache is not None:
                key = cache_key("completions", self.model, payload)
                value = self._from_cache([key], lambda text: _field_value(field, prefix + text))
                if value is not None:
                    return value, None, True, None
            try:
                data = await self._post("/completions", payload, draft)
            except _Rejected as rejected:
                if rejected.option == "seed" and "seed" in payload:
                    if self._seed_on:
                        self._seed_on = False
                        self._stats["seed_fallbacks"] += 1
                    continue
                return None, str(rejected), False, None
            except _Failed as failed:
                return None, str(failed), False, failed
            text, finish = _completion_text(data)
            value = _field_value(field, prefix + text)
            if value is None:
                self._stats["malformed"] += 1
                problem = f"unusable completion {clip(text)!r}"
                if finish == "length":
                    problem += " (cut at max_tokens)"
                ask += 1
                if ask <= self.max_reasks:
                    self._stats["reasks"] += 1
                continue
            if key is not None:
                self._store(key, text, data.get("usage"))
            return value, None, False, None
        return None, f"malformed answer after {self.max_reasks + 1} asks: {problem}", False, None

    # --- transport -----------------------------------------------------------------------------------------

    async def _post(self, path: str, payload: dict[str, Any], draft: Draft) -> dict[str, Any]:
        """POST with retries; the decoded JSON body of a 2xx answer, or :class:`_Failed` / :class:`_Rejected`."""
        clients, load = self._clients, self._client_load
        limiter = self._limiter
        stats = self._stats
        loop = asyncio.get_running_loop()
        url = self.base_url + path
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        deadline = loop.time() + self.deadline
        transient = 0  # 5xx / timeouts: bounded by max_retries
        tries = 0  # all retries: the backoff exponent
        while True:
            epoch = await limiter.acquire()
            stats["requests"] += 1
            draft.requests += 1
            wait: float | None = None  # the server's Retry-After, when it sent one
            shard = load.index(min(load)) if len(load) > 1 else 0
            load[shard] += 1
            try:
                response = await clients[shard].post(url, content=body)
            except (httpx.LocalProtocolError, httpx.UnsupportedProtocol) as exc:  # our fault: do not retry
                load[shard] -= 1
                limiter.release()
                raise _Failed(f"request error ({type(exc).__name__}: {exc})") from None
            except httpx.TimeoutException:
                load[shard] -= 1
                limiter.release()
                limiter.overload(epoch)
                stats["timeouts"] += 1
                transient += 1
                reason, connection, bounded = f"timeout after {self.timeout:g} s", False, True
            except httpx.TransportError as exc:
                load[shard] -= 1
                limiter.release()
                stats["connection_errors"] += 1
                reason, connection, bounded = f"connection error ({type(exc).__name__})", True, False
                if isinstance(exc, httpx.ConnectError):  # the server is down: hold everyone back a little
                    limiter.pause(self._backoff(tries) / 2)
            except BaseException:
                load[shard] -= 1
                limiter.release()
                raise
            else:
                load[shard] -= 1
                limiter.release()
                status = response.status_code
                if status < 300:
                    try:
                        data = response.json()
                        if not isinstance(data, dict):
                            raise ValueError("not an object")  # noqa: TRY004 - handled right below
                    except ValueError:
                        stats["http_5xx"] += 1  # a 2xx without a JSON body: a broken proxy; retry as a 5xx
                        transient += 1
                        reason, connection, bounded = f"HTTP {status} with a non-JSON body", False, True
                    else:
                        limiter.success()
                        stats["successes"] += 1
                        usage = data.get("usage") or {}
                        prompt_tokens = token_count(usage.get("prompt_tokens"))
                        completion_tokens = token_count(usage.get("completion_tokens"))
                        draft.prompt_tokens += prompt_tokens
                        draft.completion_tokens += completion_tokens
                        stats["prompt_tokens"] += prompt_tokens
                        stats["completion_tokens"] += completion_tokens
                        return data
                elif status == 429:
                    stats["http_429"] += 1
                    limiter.overload(epoch)
                    wait = retry_after_seconds(response.headers)
                    if wait is not None:
                        limiter.pause(min(wait, max(0.0, deadline - loop.time())))
                    reason, connection, bounded = f"HTTP 429: {server_message(response)}", False, False
                elif status >= 500 or status == 408:
                    stats["http_5xx" if status >= 500 else "http_4xx"] += 1
                    transient += 1
                    if status == 503:
                        limiter.overload(epoch)
                        wait = retry_after_seconds(response.headers)
                        if wait is not None:
                            limiter.pause(min(wait, max(0.0, deadline - loop.time())))
                    reason, connection, bounded = f"HTTP {status}: {server_message(response)}", False, True
                else:
                    stats["http_4xx"] += 1
                    message = server_message(response)
                    if status in (401, 403, 404):
                        raise _Fatal(f"HTTP {status} from {public_url(url)}: {message}")
                    if status in (400, 422):
                        if "seed" in payload and _SEED_REJECTION.search(message):
                            raise _Rejected("seed", f"HTTP {status}: {message}")
                        if "response_format" in payload:
                            raise _Rejected("response_format", f"HTTP {status}: {message}",
                                            certain=bool(_STRUCTURED_REJECTION.search(message)))
                    raise _Failed(f"HTTP {status}: {message}")
            # a retryable failure
            if bounded and transient > self.max_retries:
                raise _Failed(f"{reason} (after {self.max_retries} retries)", connection=connection)
            delay = max(self._backoff(tries), wait or 0.0)
            if loop.time() + delay > deadline:
                raise _Failed(f"{reason} (deadline of {self.deadline:g} s passed)", connection=connection)
            tries += 1
            stats["retries"] += 1
            draft.retries += 1
            if wait:
                delay = 0.0  # the limiter's pause holds this request (and all others) until Retry-After
            if delay > 0:
                await asyncio.sleep(delay)

    def _backoff(self, tries: int) -> float:
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** min(tries, 30)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    # --- helpers -------------------------------------------------------------------------------------------

    def _seed(self, persona: Mapping[str, Any], attempt: int, ask: int, field: str = "") -> int:
        text = f"{self.seed}\x1f{persona_key(persona)}\x1f{attempt}\x1f{ask}\x1f{field}"
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") & 0x7FFFFFFF

    def _chat_max_tokens(self, fields: Sequence[str]) -> int:
        if self.max_tokens:
            return self.max_tokens
        return min(CHAT_TOKENS_MAX, CHAT_TOKENS_BASE + CHAT_TOKENS_PER_FIELD * len(fields))

    def _temperature(self, tries: int) -> float:
        return round(self.temperature + 0.05 * min(tries, 6), 3)

    def _redact(self, text: str) -> str:
        key = self.__key
        if key and key in text:
            text = text.replace(key, "***")
        return text


# --- module helpers -----------------------------------------------------------------------------------------


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    loop.run_forever()


@lru_cache(maxsize=256)
def _response_format(fields: tuple[str, ...]) -> dict[str, Any]:
    """The strict JSON-schema ``response_format`` for ``fields`` (shared, never mutated)."""
    return {"type": "json_schema", "json_schema": {"name": "persona", "schema": json_schema(fields), "strict": True}}


def _parse_chat(text: str, fields: Sequence[str]) -> dict[str, str]:
    texts = parse_answer(text, fields)
    if not texts:
        raise AnswerError(f"no requested field in the answer: {clip(text)!r}")
    return texts


def _chat_content(data: Mapping[str, Any]) -> tuple[str, str | None]:
    try:
        choice = data["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return "", None
    return (content if isinstance(content, str) else ""), choice.get("finish_reason")


def _completion_text(data: Mapping[str, Any]) -> tuple[str, str | None]:
    try:
        choice = data["choices"][0]
        text = choice["text"]
    except (KeyError, IndexError, TypeError):
        return "", None
    return (text if isinstance(text, str) else ""), choice.get("finish_reason")


def _field_value(field: str, text: str) -> str | None:
    """A completion's text as the field's value (list fields in NPK's form), or None when unusable."""
    text = text.strip()
    if not text:
        return None
    if field in LIST_FIELDS:
        try:
            value = parse_answer(json.dumps({field: text}, ensure_ascii=False), [field]).get(field)
        except AnswerError:
            return None
        return value or None
    return " ".join(text.split())
