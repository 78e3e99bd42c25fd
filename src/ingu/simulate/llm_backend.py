"""The LLM survey backends: ``openai`` (any OpenAI-compatible server) and ``local`` (a GGUF model in-process).

Both ask every respondent the question with the persona's record and some of its narratives as context
(:mod:`ingu.simulate.survey_prompts`) and read the answer with a cascade that degrades gracefully
(:mod:`ingu.simulate.answer_parsing`):

1. **log-probabilities** (single / likert with ≤ 9 choices): one token is asked for, the first token's
   ``top_logprobs`` become a distribution over the choice numbers (the ``probabilities`` row), and ``choice``
   is a draw from it seeded by (run seed, persona, question) — ``pick="argmax"`` takes the most likely choice
   instead. A draw keeps the sample's answer shares equal to the model's, an argmax would give every
   respondent of a kind the modal answer. When less than ``min_logprob_mass`` of the probability sits on
   choice numbers, the respondent goes on to 2. With ``logprobs="auto"`` a server whose answers carry no
   log-probabilities (or that rejects the option) is not asked for them again in this backend's lifetime,
   nor is one whose first 8 distributions were all unusable.
2. **constrained choice**: chat servers get ``response_format`` with the JSON schema ``{"answer": …}``;
   completions (and ``constrain="grammar"``) a llama.cpp GBNF grammar. A 400 / 422 naming the option turns
   it off for the rest of the run (``constrain`` ``"auto"``), and the respondent is asked again without it.
3. **parse and re-ask**: the free answer is parsed (a number, a choice's text, fuzzily; a list; a number in
   range; a Korean sentence) and, when unusable, asked again with the problem as feedback, another seed and a
   slightly higher temperature, at most ``max_retries`` times.

Every respondent ends ``ok`` (first ask), ``retried`` (after re-asks) or ``failed`` with its error (429 past
the deadline, timeouts, garbage, out of range …; the text before the first colon is its category) — one
respondent never raises. A backend raises :class:`SurveyBackendError` only when it cannot work at all (bad key
or URL, no model file, no respondent could reach the server).

Cache: every request is looked up first by the hash of (endpoint, model, full payload incl. seed) in a
:class:`~ingu.narrate.cache.NarrationCache`; every answer the server gave (its text and first-token
log-probabilities) is stored, usable or not, so that a rerun replays the same asks and sends no request.
Transport failures are not stored. Seeds are fixed by (run seed, persona facts, question id, step, ask).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ingu.narrate.base import NarratorError
from ingu.narrate.cache import NarrationCache
from ingu.narrate.http_messages import public_url
from ingu.simulate.survey_engine import (
    APIS,
    DEFAULT_MAX_TOKENS,
    SurveyBackendError,
    SurveyEngine,
)
from ingu.simulate.survey_prompts import CONTEXT_FIELDS, SurveyPrompts
from ingu.simulate.survey_transport import Failed, HttpTransport, Rejected, redactor

__all__ = ["DEFAULT_MAX_TOKENS", "LocalSurveyBackend", "OpenAISurveyBackend", "SurveyBackendError"]


class OpenAISurveyBackend(SurveyEngine):
    """Ask an OpenAI-compatible server (OpenAI, vLLM, llama.cpp, SGLang, Ollama …); see the module docstring.

    Parameters
    ----------
    base_url : str
        The API root, ``…/v1`` included.
    model : str
        Model name sent with every request.
    api_key_env : str
        Environment variable holding the API key (read once, here); unset means no ``Authorization``.
    api : {"chat", "completions"}
        Chat messages (instruction-tuned models) or a completion prompt ending in ``"답: "`` (base models).
    concurrency, max_concurrency : int
        Initial and maximum requests in flight (adaptive: halved on 429 / 503 / timeouts).
    timeout : float
        Seconds one HTTP request may take.
    max_retries : int
        Re-asks after an unusable answer (what :attr:`Answers.retries` counts).
    http_retries : int
        Retries of one request after 5xx / 408 / timeouts (429 and connection errors retry until
        ``deadline``).
    deadline : float
        Seconds one request may take with all its retries.
    cache : NarrationCache or path, optional
        Answer cache (a path opens one that :meth:`close` closes).
    seed : int
        Run seed; every request's seed derives from it, the persona, the question, the step and the ask.
    temperature : float
        Sampling temperature of the first ask; re-asks add 0.1 each (at most +0.3).
    logprobs : bool or "auto"
        Read answer distributions from log-probabilities (single / likert ≤ 9 choices): always ask (True),
        never (False), or ask until the server shows it gives none ("auto").
    constrain : {"auto", "json_schema", "grammar", "off"}
        How answers are constrained: auto = ``json_schema`` (``response_format``) for chat, ``grammar``
        (llama.cpp GBNF) for completions; dropped for the run when the server rejects it.
    top_logprobs : int
        Alternatives asked per token (1–20; OpenAI's legacy completions allow at most 5).
    min_logprob_mass : float
        Probability the choice numbers must hold together for a distribution to be used.
    pick : {"draw", "argmax"}
        ``choice`` from a distribution: a seeded draw, or the most likely choice.
    max_tokens : int or mapping, optional
        Per question type (:data:`DEFAULT_MAX_TOKENS`).
    prompts : SurveyPrompts or path, optional
        Prompt files (a folder of replacements, or the packaged ones).
    context_fields : sequence of str
        Narratives given as context (:data:`~ingu.simulate.survey_prompts.CONTEXT_FIELDS`).
    backoff_base, backoff_cap : float
        Exponential backoff of retries, seconds.
    """

    name = "openai"

    def __init__(self, base_url: str, model: str, *, api_key_env: str = "OPENAI_API_KEY", api: str = "chat",
                 concurrency: int = 16, max_concurrency: int = 64, timeout: float = 60.0, max_retries: int = 2,
                 http_retries: int = 4, deadline: float = 300.0, cache: NarrationCache | str | Path | None = None,
                 seed: int = 0, temperature: float = 0.7, logprobs: bool | str = "auto", constrain: str = "auto",
                 top_logprobs: int = 20, min_logprob_mass: float = 0.3, pick: str = "draw",
                 max_tokens: Mapping[str, int] | int | None = None, prompts: SurveyPrompts | str | Path | None = None,
                 context_fields: Sequence[str] = CONTEXT_FIELDS, backoff_base: float = 0.5,
                 backoff_cap: float = 10.0) -> None:
        if api not in APIS:
            raise SurveyBackendError(f"api must be one of {', '.join(APIS)}, got {api!r}")
        if not base_url or not urlsplit(base_url).scheme.startswith("http"):
            raise SurveyBackendError(f"base_url must be an http(s) URL, got {public_url(base_url)!r}")
        if concurrency < 1 or max_concurrency < 1:
            raise SurveyBackendError("concurrency and max_concurrency must be ≥ 1")
        self.api = api
        super().__init__(model=model, seed=seed, temperature=temperature, max_retries=max_retries,
                         logprobs=logprobs, constrain=constrain, top_logprobs=top_logprobs,
                         min_logprob_mass=min_logprob_mass, pick=pick, max_tokens=max_tokens, cache=cache,
                         prompts=prompts, context_fields=context_fields, admission=2 * max_concurrency)
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        key = (os.environ.get(api_key_env) or None) if api_key_env else None
        self._key_set = key is not None
        self._redact = redactor(key)
        self.concurrency = min(concurrency, max_concurrency)
        self.max_concurrency = max_concurrency
        self.timeout = float(timeout)
        self.http_retries = int(http_retries)
        self.deadline = float(deadline)
        self._transport = HttpTransport(self.base_url, api_key=key, timeout=self.timeout, retries=self.http_retries,
                                        deadline=self.deadline, concurrency=self.concurrency,
                                        max_concurrency=max_concurrency, backoff_base=float(backoff_base),
                                        backoff_cap=float(backoff_cap), stats=self.stats)

    def describe(self) -> dict[str, Any]:
        """Settings for the run manifest (the key's variable name and whether it is set, never the key)."""
        out = super().describe()
        out.update(base_url=public_url(self.base_url), api_key_env=self.api_key_env, api_key_set=self._key_set,
                   concurrency=self.concurrency, max_concurrency=self.max_concurrency, timeout=self.timeout,
                   http_retries=self.http_retries, deadline=self.deadline)
        return out

    def __repr__(self) -> str:
        return (f"OpenAISurveyBackend(base_url={public_url(self.base_url)!r}, model={self.model!r}, "
                f"api={self.api!r}, api_key_env={self.api_key_env!r})")

    async def _open(self) -> None:
        await self._transport.open()

    async def _aclose(self) -> None:
        await self._transport.aclose()

    async def _send(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await self._transport.post(path, payload)


class LocalSurveyBackend(SurveyEngine):
    """Ask a local GGUF model (default Gemma 3 270M, ``ingu[llm]``) run in-process by llama.cpp.

    The model is a base model: it gets the completion prompt (``survey_completion.j2``); answers are
    constrained by GBNF grammars, single / likert answers read from log-probabilities first. Calls go
    straight to llama.cpp's server engine (``xllamacpp``), ``parallel`` at a time; it also listens on
    127.0.0.1, locked with a random API key.

    Parameters
    ----------
    model_path : Path, optional
        A GGUF file; default: Gemma 3 270M from the ``ingu[llm]`` extra.
    parallel : int
        Calls decoded together (llama.cpp slots, continuous batching).
    n_threads : int, optional
        CPU threads; default: the cores this process may use.
    n_ctx : int
        Context tokens per slot.
    seed, temperature, max_retries, logprobs, top_logprobs, min_logprob_mass, pick, max_tokens, cache,
    prompts, context_fields
        As :class:`OpenAISurveyBackend` (``logprobs`` defaults to True: llama.cpp gives them).
    grammar : bool
        Constrain answers with GBNF grammars (off: parse-and-retry only).
    """

    name = "local"
    api = "completions"

    def __init__(self, model_path: Path | str | None = None, *, parallel: int = 4, n_threads: int | None = None,
                 n_ctx: int = 2048, seed: int = 0, temperature: float = 0.7, max_retries: int = 2,
                 logprobs: bool | str = True, top_logprobs: int = 20, min_logprob_mass: float = 0.3,
                 pick: str = "draw", max_tokens: Mapping[str, int] | int | None = None,
                 cache: NarrationCache | str | Path | None = None, prompts: SurveyPrompts | str | Path | None = None,
                 context_fields: Sequence[str] = CONTEXT_FIELDS, grammar: bool = True) -> None:
        from ingu.narrate.local_backend import default_threads, load_xllamacpp
        from ingu.narrate.model_files import resolve_model_path

        if parallel < 1 or n_ctx < 256:
            raise SurveyBackendError(f"local survey backend: parallel must be ≥ 1 and n_ctx ≥ 256 "
                                     f"(got {parallel}, {n_ctx})")
        try:
            self.xlc = load_xllamacpp()  # fail early, before any model work, when the extra is missing
            self.model_file = resolve_model_path(model_path)
        except NarratorError as exc:
            raise SurveyBackendError(str(exc)) from None
        super().__init__(model=f"{self.model_file.name}@{self.model_file.sha256[:16]}", seed=seed,
                         temperature=temperature, max_retries=max_retries, logprobs=logprobs,
                         constrain="grammar" if grammar else "off", top_logprobs=top_logprobs,
                         min_logprob_mass=min_logprob_mass, pick=pick, max_tokens=max_tokens, cache=cache,
                         prompts=prompts, context_fields=context_fields, admission=2 * parallel)
        self.parallel = parallel
        self.n_threads = n_threads or default_threads()
        self.n_ctx = n_ctx
        self.grammar = grammar
        self._server: Any = None
        self._pool: ThreadPoolExecutor | None = None

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        engine = f"llama.cpp via xllamacpp {getattr(self.xlc, '__version__', '?')}"
        out.update(self.model_file.describe(), engine=engine, parallel=self.parallel, threads=self.n_threads,
                   n_ctx=self.n_ctx, grammar=self.grammar)
        return out

    def _start(self) -> None:
        from ingu.narrate.local_backend import server_params, start_server

        params = server_params(self.model_file, n_threads=self.n_threads, parallel=self.parallel,
                               slot_ctx=self.n_ctx, api_key=secrets.token_urlsafe(24), http_threads=1)
        try:
            self._server = start_server(params)
        except NarratorError as exc:
            raise SurveyBackendError(str(exc)) from None
        self._pool = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="ingu-survey-local")

    def _stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        server, self._server = self._server, None
        del server  # xllamacpp stops the engine and frees the model when the Server is collected

    async def _send(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in payload.items() if k != "model"}
        body["cache_prompt"] = True
        self.stats["requests"] += 1
        loop = asyncio.get_running_loop()
        try:
            response = await loop.run_in_executor(self._pool, self._server.handle_completions, body)
        except Exception as exc:  # noqa: BLE001 - the engine refused the call: this respondent's failure
            raise Failed(f"llama.cpp: {type(exc).__name__}: {exc}"[:200]) from None
        if not isinstance(response, dict) or "error" in response:
            error = response.get("error") if isinstance(response, dict) else response
            message = str(error.get("message", error) if isinstance(error, dict) else error)[:200]
            if "grammar" in message.lower() and "grammar" in body:
                raise Rejected("grammar", f"llama.cpp: {message}")
            raise Failed(f"llama.cpp: {message}")
        self.stats["successes"] += 1
        usage = response.get("usage") or {}
        self.stats["prompt_tokens"] += int(usage.get("prompt_tokens") or 0)
        self.stats["completion_tokens"] += int(usage.get("completion_tokens") or 0)
        return response
