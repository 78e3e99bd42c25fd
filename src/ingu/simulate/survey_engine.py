"""The engine the LLM survey backends share: the extraction cascade, the cache, seeds, the event loop.

:class:`SurveyEngine` asks every respondent of a question concurrently on an event loop it owns in a
background thread, and turns the answers into :class:`~ingu.simulate.backend.Answers`. What the cascade does,
and what is cached, is described in :mod:`ingu.simulate.llm_backend`; the backends there implement the one
thing that differs: how a request reaches the model (:meth:`SurveyEngine._send`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import pyarrow as pa
from jinja2 import TemplateError

from ingu.narrate.base import NarratorError
from ingu.narrate.cache import NarrationCache, cache_key
from ingu.narrate.persona import persona_key
from ingu.simulate.answer_parsing import (
    MAX_LOGPROB_CHOICES,
    AnswerProblem,
    ParsedAnswer,
    choice_distribution,
    first_token_logprobs,
    gbnf,
    parse_answer,
    response_format,
)
from ingu.simulate.backend import Answers
from ingu.simulate.questionnaire import Question
from ingu.simulate.survey_prompts import (
    CONTEXT_FIELDS,
    SurveyPrompts,
    feedback_for,
    respondent_contexts,
)
from ingu.simulate.survey_transport import (
    Failed,
    Rejected,
    Unusable,
    redactor,
)

APIS = ("chat", "completions")
CONSTRAIN = ("auto", "json_schema", "grammar", "off")
PICKS = ("draw", "argmax")
#: Tokens an answer may take, by question type (chat answers get +16 for JSON or a few words around it).
DEFAULT_MAX_TOKENS: dict[str, int] = {"single": 16, "likert": 16, "multi": 32, "numeric": 16, "open": 160}
_CHAT_EXTRA_TOKENS = 16
#: Unusable distributions (while none was usable yet) after which ``logprobs="auto"`` stops asking.
_LOGPROB_STRIKES = 8
#: Options a server may reject that a request can do without (each rejection drops one for the run).
_DROPPABLE = ("seed", "logprobs", "constraint")
_STAT_KEYS = ("respondents", "failed", "requests", "successes", "retries", "reasks", "unusable_answers",
              "logprob_requests", "logprob_unusable", "cache_hits", "cache_errors", "http_429", "http_5xx",
              "http_4xx", "timeouts", "connection_errors", "logprobs_fallbacks", "structured_fallbacks",
              "seed_fallbacks", "prompt_tokens", "completion_tokens")


class SurveyBackendError(RuntimeError):
    """An LLM survey backend cannot work at all (bad settings, key, URL or model; an unreachable server)."""


@dataclass
class _Outcome:
    """One respondent's answer while it is being asked for."""

    choice: int = -1
    probabilities: np.ndarray | None = None
    selected: tuple[int, ...] = ()
    value: float = math.nan
    text: str | None = None
    status: str = "failed"
    method: str = "failed"
    error: str | None = None
    retries: int = 0
    unreachable: bool = False

    def accept(self, parsed: ParsedAnswer, method: str, retries: int) -> None:
        if parsed.choice is not None:
            self.choice = parsed.choice
        if parsed.selected is not None:
            self.selected = parsed.selected
        if parsed.value is not None:
            self.value = parsed.value
        if parsed.text is not None:
            self.text = parsed.text
        self.method, self.retries = method, retries
        self.status = "retried" if retries else "ok"
        self.error = None

    def fail(self, error: str, retries: int | None = None) -> None:
        self.status, self.method, self.error = "failed", "failed", error
        self.choice, self.probabilities, self.selected, self.value = -1, None, (), math.nan
        if retries is not None:
            self.retries = retries


class SurveyEngine:
    """The cascade, cache, seeds and event loop the backends share (:mod:`ingu.simulate.llm_backend`).

    Subclasses set ``api`` and implement :meth:`_send` (one request → the server's JSON answer, or
    :class:`~ingu.simulate.survey_transport.Failed` / ``Rejected`` / ``Unusable``) and the hooks
    :meth:`_start` (blocking set-up, before the loop), :meth:`_open` / :meth:`_aclose` (in the loop) and
    :meth:`_stop` (after it).
    """

    name = "llm"
    api = "chat"

    def __init__(self, *, model: str, seed: int, temperature: float, max_retries: int, logprobs: bool | str,
                 constrain: str, top_logprobs: int, min_logprob_mass: float, pick: str,
                 max_tokens: Mapping[str, int] | int | None, cache: NarrationCache | str | Path | None,
                 prompts: SurveyPrompts | str | Path | None, context_fields: Sequence[str], admission: int) -> None:
        if logprobs not in (True, False, "auto"):
            raise SurveyBackendError(f"logprobs must be True, False or 'auto', got {logprobs!r}")
        if constrain not in CONSTRAIN:
            raise SurveyBackendError(f"constrain must be one of {', '.join(CONSTRAIN)}, got {constrain!r}")
        if pick not in PICKS:
            raise SurveyBackendError(f"pick must be one of {', '.join(PICKS)}, got {pick!r}")
        if max_retries < 0 or not 1 <= top_logprobs <= 20 or not 0.0 <= min_logprob_mass <= 1.0:
            raise SurveyBackendError(f"max_retries ≥ 0, top_logprobs in 1–20 and min_logprob_mass in 0–1 are "
                                     f"required (got {max_retries}, {top_logprobs}, {min_logprob_mass})")
        unknown_fields = [f for f in context_fields if f not in CONTEXT_FIELDS]
        if unknown_fields:
            raise SurveyBackendError(f"unknown context narrative(s) {', '.join(unknown_fields)}; "
                                     f"known: {', '.join(CONTEXT_FIELDS)}")
        self.model = model
        self.seed = int(seed)
        self.temperature = float(temperature)
        self.max_retries = int(max_retries)
        self.logprobs = logprobs
        self.constrain = constrain
        self.top_logprobs = int(top_logprobs)
        self.min_logprob_mass = float(min_logprob_mass)
        self.pick = pick
        self.max_tokens = dict(DEFAULT_MAX_TOKENS)
        if isinstance(max_tokens, int):
            self.max_tokens = dict.fromkeys(DEFAULT_MAX_TOKENS, max_tokens)
        elif max_tokens:
            unknown = set(max_tokens) - set(DEFAULT_MAX_TOKENS)
            if unknown:
                raise SurveyBackendError(f"max_tokens for unknown question type(s): {', '.join(sorted(unknown))}")
            self.max_tokens.update(max_tokens)
        try:
            self.prompts = prompts if isinstance(prompts, SurveyPrompts) else SurveyPrompts(prompts)
        except NarratorError as exc:  # a prompt file that does not compile, a folder that is not there
            raise SurveyBackendError(str(exc)) from None
        self.context_fields = tuple(context_fields)
        self._owns_cache = cache is not None and not isinstance(cache, NarrationCache)
        self.cache: NarrationCache | None = (NarrationCache(cache) if not isinstance(cache, NarrationCache | None)
                                             else cache)
        self.stats: dict[str, int] = dict.fromkeys(_STAT_KEYS, 0)
        self._logprobs_on = bool(logprobs)
        self._logprob_usable = 0
        self._constraint = self._initial_constraint()
        self._seed_on = True
        self._admission_size = admission
        self._redact: Callable[[str], str] = redactor(None)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    def _initial_constraint(self) -> str | None:
        if self.constrain == "off":
            return None
        if self.constrain == "auto":
            return "json_schema" if self.api == "chat" else "grammar"
        if self.constrain == "json_schema" and self.api != "chat":
            raise SurveyBackendError("constrain='json_schema' needs api='chat' (completions are constrained by "
                                     "a grammar: constrain='grammar')")
        return self.constrain

    # --- the protocol ------------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """Settings for the run manifest (never a secret)."""
        return {
            "backend": self.name, "model": self.model, "api": self.api, "prompts_version": self.prompts.version,
            "context_fields": list(self.context_fields), "seed": self.seed, "temperature": self.temperature,
            "max_retries": self.max_retries, "logprobs": self.logprobs, "logprobs_active": self._logprobs_on,
            "top_logprobs": self.top_logprobs, "min_logprob_mass": self.min_logprob_mass, "pick": self.pick,
            "constrain": self.constrain, "constraint_active": self._constraint, "max_tokens": dict(self.max_tokens),
            "cache": str(self.cache.path) if self.cache is not None else None,
        }

    def answer(self, sample: pa.Table, personas: list[dict[str, Any]] | None, question: Question) -> Answers:
        """Every row's answer to ``question``, one entry per row, in order (:mod:`ingu.simulate.llm_backend`).

        Raises
        ------
        SurveyBackendError
            The backend cannot work at all (bad key or URL, no model, no respondent reached the server), or
            it is closed.
        ValueError
            ``personas`` does not match ``sample`` row for row.
        """
        contexts = respondent_contexts(sample, personas, fields=self.context_fields)
        if not contexts:
            return _assemble(question, [])
        loop = self._ensure_started()
        if threading.current_thread() is self._thread:
            raise SurveyBackendError("answer() called from the backend's own event-loop thread")
        future = asyncio.run_coroutine_threadsafe(self._ask_all(contexts, question), loop)
        try:
            outcomes = future.result()
        except BaseException:
            future.cancel()
            raise
        return _assemble(question, outcomes)

    def close(self) -> None:
        """Stop the event loop, release the server / connections, close an owned cache. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            try:
                asyncio.run_coroutine_threadsafe(self._aclose(), loop).result(timeout=10)
            except Exception:  # noqa: BLE001, S110 - closing must not fail
                pass
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            if not thread.is_alive():
                loop.close()
        self._stop()
        if self._owns_cache and self.cache is not None:
            self.cache.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- hooks -------------------------------------------------------------------------------------------

    async def _send(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _start(self) -> None:
        """Blocking set-up before the first question (load a model)."""

    async def _open(self) -> None:
        """Set-up inside the event loop (HTTP clients)."""

    async def _aclose(self) -> None:
        """Tear-down inside the event loop."""

    def _stop(self) -> None:
        """Tear-down after the event loop stopped."""

    # --- the event loop ----------------------------------------------------------------------------------

    def _ensure_started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise SurveyBackendError(f"the {self.name} survey backend is closed")
            if self._loop is None:
                self._start()
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=_run_loop, args=(loop,), name=f"ingu-survey-{self.name}",
                                          daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
                asyncio.run_coroutine_threadsafe(self._open(), loop).result()
            return self._loop

    async def _ask_all(self, contexts: list[dict[str, Any]], question: Question) -> list[_Outcome]:
        admission = asyncio.Semaphore(self._admission_size)

        async def one(context: dict[str, Any]) -> _Outcome:
            async with admission:
                return await self._respondent(context, question)

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(context)) for context in contexts]
        except* Unusable as unusable:
            raise SurveyBackendError(self._redact(str(unusable.exceptions[0]))) from None
        outcomes = [task.result() for task in tasks]
        self.stats["respondents"] += len(outcomes)
        self.stats["failed"] += sum(o.status == "failed" for o in outcomes)
        if all(o.unreachable for o in outcomes):
            raise SurveyBackendError(f"cannot reach the {self.name} server: every respondent's request failed "
                                     f"({outcomes[0].error})")
        return outcomes

    # --- the cascade -------------------------------------------------------------------------------------

    async def _respondent(self, context: dict[str, Any], question: Question) -> _Outcome:
        out = _Outcome()
        try:
            by_logprobs = (question.type in ("single", "likert") and self._logprobs_on
                           and len(question.choices) <= MAX_LOGPROB_CHOICES)
            if by_logprobs and await self._by_logprobs(context, question, out):
                return out
            await self._by_asking(context, question, out)
        except Failed as failed:
            out.fail(self._redact(str(failed)))
            out.unreachable = failed.connection
        except (Unusable, asyncio.CancelledError):
            raise
        except TemplateError as exc:  # a user's prompt file that does not render for this persona
            out.fail(f"prompt: {type(exc).__name__}: {exc}"[:300])
        except Exception as exc:  # noqa: BLE001 - one respondent must not stop the question
            out.fail(self._redact(f"internal error: {type(exc).__name__}: {exc}"[:300]))
        return out

    async def _by_logprobs(self, context: dict[str, Any], question: Question, out: _Outcome) -> bool:
        """Step 1; True when the respondent is answered (by its distribution or the constrained token)."""
        envelope, payload = await self._call(lambda: self._payload(context, question, logprobs=True))
        if "logprobs" not in payload and "top_logprobs" not in payload:
            return False  # the server rejected the option while we asked: on to step 2
        self.stats["logprob_requests"] += 1
        top = envelope["top"]
        if top is None:
            if self.logprobs == "auto" and self._logprobs_on:
                self._logprobs_on = False
                self.stats["logprobs_fallbacks"] += 1
        else:
            distribution, mass = choice_distribution([tuple(t) for t in top], len(question.choices))
            if mass >= max(self.min_logprob_mass, 1e-12):
                self._logprob_usable += 1
                out.probabilities = distribution
                out.choice = self._pick(context, question, distribution)
                out.method, out.status, out.text = "logprobs", "ok", envelope["text"]
                return True
            self.stats["logprob_unusable"] += 1
            if (self.logprobs == "auto" and self._logprobs_on and self._logprob_usable == 0
                    and self.stats["logprob_unusable"] >= _LOGPROB_STRIKES):
                self._logprobs_on = False
                self.stats["logprobs_fallbacks"] += 1
        if _constrained(payload):  # the sampled token was held to a choice number: an answer already
            try:
                parsed = parse_answer(question, envelope["text"])
            except AnswerProblem:
                return False
            out.accept(parsed, "constrained", 0)
            out.text = envelope["text"]
            return True
        return False

    async def _by_asking(self, context: dict[str, Any], question: Question, out: _Outcome) -> None:
        """Steps 2 and 3: a constrained or free answer, parsed; re-asked with feedback when unusable."""
        feedback: dict[str, str] | None = None
        problem: AnswerProblem | None = None
        text, finish = "", None
        for ask in range(self.max_retries + 1):
            envelope, payload = await self._call(
                lambda ask=ask, feedback=feedback: self._payload(context, question, logprobs=False, ask=ask,
                                                                 feedback=feedback))
            text, finish = envelope["text"], envelope["finish"]
            try:
                parsed = parse_answer(question, text)
            except AnswerProblem as exc:
                problem = exc
                self.stats["unusable_answers"] += 1
                feedback = feedback_for(text, exc.kind, question)
                if ask < self.max_retries:
                    self.stats["reasks"] += 1
                continue
            out.accept(parsed, "constrained" if _constrained(payload) else "parsed", ask)
            if question.type != "open":
                out.text = text
            return
        assert problem is not None
        cut = "; cut at max_tokens" if finish == "length" else ""
        out.fail(self._redact(f"{problem.kind}: {problem} (after {self.max_retries + 1} asks{cut})"),
                 retries=self.max_retries)
        out.text = text

    async def _call(self, build: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
        """One request through the cache: ``({"text", "finish", "top"}, the payload sent)``.

        A rejected option is dropped (for the run) and the request built again without it.
        """
        kind = self.api
        path = "/chat/completions" if kind == "chat" else "/completions"
        for _ in range(len(_DROPPABLE) + 1):
            payload = build()
            key = cache_key(f"survey-{kind}", self.model, payload) if self.cache is not None else None
            if key is not None:
                hit = self._from_cache(key)
                if hit is not None:
                    return hit, payload
            try:
                data = await self._send(path, payload)
            except Rejected as rejected:
                if not self._drop(rejected):
                    raise Failed(f"rejected: {rejected}") from None
                continue
            envelope = {"text": _answer_text(data), "finish": _finish_reason(data), "top": None}
            top = first_token_logprobs(data)
            if top is not None:
                envelope["top"] = [list(t) for t in top]
            if key is not None:
                self._store(key, envelope, data.get("usage"))
            return envelope, payload
        raise Failed("rejected: the server refused the request with every optional setting dropped")

    def _drop(self, rejected: Rejected) -> bool:
        """Turn off the option a server rejected; False when it was not one that can be dropped."""
        option = rejected.option
        if option == "seed":
            if self._seed_on:
                self._seed_on = False
                self.stats["seed_fallbacks"] += 1
            return True
        if option == "logprobs":
            if self._logprobs_on:
                self._logprobs_on = False
                self.stats["logprobs_fallbacks"] += 1
            return True
        if option in ("response_format", "grammar", "json_schema"):
            if self._constraint is not None:
                self._constraint = None
                self.stats["structured_fallbacks"] += 1
            return True
        return False

    # --- requests ----------------------------------------------------------------------------------------

    def _payload(self, context: dict[str, Any], question: Question, *, logprobs: bool, ask: int = 0,
                 feedback: Mapping[str, str] | None = None) -> dict[str, Any]:
        constraint = self._constraint
        logprobs = logprobs and self._logprobs_on  # off once the server rejected the option
        use_schema = constraint == "json_schema" and not logprobs and question.type != "open"
        payload: dict[str, Any] = {"model": self.model}
        if self.api == "chat":
            style = "label" if logprobs else "json" if use_schema else "free"
            payload["messages"] = self.prompts.messages(context, question, style=style, feedback=feedback)
        else:
            payload["prompt"] = self.prompts.completion(context, question, feedback=feedback)
        extra = _CHAT_EXTRA_TOKENS if self.api == "chat" and question.type != "open" else 0
        payload["max_tokens"] = 1 if logprobs else self.max_tokens[question.type] + extra
        payload["temperature"] = round(self.temperature + 0.1 * min(ask, 3), 3)
        if self._seed_on:
            payload["seed"] = self._seed(context, question, "logprobs" if logprobs else "answer", ask)
        if logprobs:
            if self.api == "chat":
                payload["logprobs"] = True
                payload["top_logprobs"] = self.top_logprobs
            else:
                payload["logprobs"] = self.top_logprobs
        if use_schema:
            payload["response_format"] = response_format(question)
        elif constraint == "grammar":
            # with llama.cpp the log-probabilities are read before the grammar applies: the distribution is
            # the model's own, and the sampled token is a valid answer when the distribution is unusable
            payload["grammar"] = gbnf(question)
        if self.api == "completions" or "grammar" in payload:
            payload["stop"] = ["\n"]
        return payload

    def _seed(self, context: Mapping[str, Any], question: Question, step: str, ask: int) -> int:
        text = f"{self.seed}\x1f{persona_key(context['persona'])}\x1f{question.id}\x1f{step}\x1f{ask}"
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") & 0x7FFFFFFF

    def _pick(self, context: Mapping[str, Any], question: Question, distribution: np.ndarray) -> int:
        if self.pick == "argmax":
            return int(np.argmax(distribution))
        rng = np.random.default_rng(self._seed(context, question, "draw", 0))
        return int(rng.choice(len(distribution), p=distribution / distribution.sum()))

    # --- cache -------------------------------------------------------------------------------------------

    def _from_cache(self, key: str) -> dict[str, Any] | None:
        try:
            hit = self.cache.get(key)  # type: ignore[union-attr]
        except sqlite3.Error:  # a broken or locked cache costs requests, not answers
            self.stats["cache_errors"] += 1
            return None
        if hit is None:
            return None
        try:
            envelope = json.loads(hit.text)
        except ValueError:
            return None
        if not isinstance(envelope, dict) or not isinstance(envelope.get("text"), str):
            return None
        self.stats["cache_hits"] += 1
        return {"text": envelope["text"], "finish": envelope.get("finish"), "top": envelope.get("top")}

    def _store(self, key: str, envelope: dict[str, Any], usage: Any) -> None:
        try:
            self.cache.put(key, json.dumps(envelope, ensure_ascii=False),  # type: ignore[union-attr]
                           usage if isinstance(usage, Mapping) else None)
        except sqlite3.Error:
            self.stats["cache_errors"] += 1




# --- helpers ---------------------------------------------------------------------------------------------------


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    loop.run_forever()


def _constrained(payload: Mapping[str, Any]) -> bool:
    return "response_format" in payload or "grammar" in payload


def _answer_text(data: Mapping[str, Any]) -> str:
    try:
        choice = data["choices"][0]
    except (KeyError, IndexError, TypeError):
        return ""
    if not isinstance(choice, Mapping):
        return ""
    message = choice.get("message")
    text = message.get("content") if isinstance(message, Mapping) else choice.get("text")
    return text if isinstance(text, str) else ""


def _finish_reason(data: Mapping[str, Any]) -> str | None:
    try:
        reason = data["choices"][0].get("finish_reason")
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    return reason if isinstance(reason, str) else None


def _assemble(question: Question, outcomes: list[_Outcome]) -> Answers:
    """The :class:`Answers` of ``outcomes`` (one per respondent, in order)."""
    n, k = len(outcomes), len(question.choices)
    columns: dict[str, Any] = {}
    if question.type in ("single", "likert"):
        columns["choice"] = np.array([o.choice for o in outcomes], dtype=np.int64)
        if any(o.probabilities is not None for o in outcomes):
            # answers not read from log-probabilities enter as the one-hot of their choice: what was observed
            probabilities = np.full((n, k), np.nan)
            for i, o in enumerate(outcomes):
                if o.status != "failed":
                    probabilities[i] = o.probabilities if o.probabilities is not None else np.eye(k)[o.choice]
            columns["probabilities"] = probabilities
    elif question.type == "multi":
        selected = np.zeros((n, k), dtype=bool)
        for i, o in enumerate(outcomes):
            selected[i, list(o.selected)] = True
        columns["selected"] = selected
    elif question.type == "numeric":
        columns["value"] = np.array([o.value for o in outcomes], dtype=np.float64)
    return Answers(question=question, n=n, text=[o.text for o in outcomes],
                   status=np.array([o.status for o in outcomes], dtype=object),
                   method=np.array([o.method for o in outcomes], dtype=object),
                   error=[o.error for o in outcomes], retries=np.array([o.retries for o in outcomes], dtype=np.int16),
                   **columns)
