"""A small OpenAI-compatible server for the survey backend tests (stdlib asyncio, in-process thread).

Serves ``POST /v1/chat/completions`` and ``POST /v1/completions`` and answers survey prompts the way
:mod:`ingu.simulate.survey_prompts` writes them: the question is the text after the last ``질문`` marker; its
numbered lines (``1. …``) are the choices, ``A에서 B 사이`` is a numeric range, ``최대 N개`` a multi question,
anything else an open one; the respondent's name is read from ``이름: …`` or ``응답자: …``. A valid answer is
fixed by the name (choice ``hash(name) % k + 1``).

How it answers:

- ``logprobs`` asked for (chat ``logprobs: true``, completions ``logprobs: N``): with ``logprobs=True`` the
  first token's ``top_logprobs`` put ``logprob_mass`` on the choice numbers, shared by :attr:`weights`
  (default ``k, k-1, …, 1``; choice 1's share split between tokens ``"1"`` and ``" 1"``) and the rest on
  ``"답"`` and ``"저"``; ``logprobs_format`` ``"chat"`` (``logprobs.content``, also llama.cpp's completions) or
  ``"legacy"`` (``logprobs.top_logprobs`` as ``{token: logprob}``). With ``logprobs=False`` the option is
  ignored (no ``logprobs`` in the answer), with ``reject_logprobs`` it is a 400 naming it.
- ``response_format``: ``{"answer": …}`` as JSON (``reject_response_format``: a 400 naming it).
- ``grammar``: the bare answer (``reject_grammar``: a 400 naming it).
- otherwise prose around the answer in chat (``제 생각에는 3번입니다.``), the bare answer in completions.

Faults, by arrival order of requests (``script``; normal answers after it runs out): ``ok``, ``429`` /
``429:S`` (Retry-After S seconds), ``500``, ``503``, ``400``, ``hang`` (no answer for ``hang_seconds``),
``drop`` (close the connection), ``malformed`` (a 200 whose body is not JSON), ``garbage`` (an answer
without any choice, number or Korean), ``outofrange`` (a choice number past the last / a number above the
range / more choices than allowed).

``api_key`` requires ``Authorization: Bearer <key>`` (401 otherwise); ``echo_auth`` makes error bodies quote
the Authorization header, like a careless server. ``log`` lists every request (path, payload, action,
status, arrival time).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

_CHOICE_LINE = re.compile(r"^\s*(\d+)\.\s+\S", re.MULTILINE)
_RANGE = re.compile(r"(-?\d+(?:\.\d+)?)에서 (-?\d+(?:\.\d+)?) 사이")
_MOST = re.compile(r"최대 (\d+)개")
_NAME = (re.compile(r"이름:\s*([가-힣]{2,4})"), re.compile(r"응답자:\s*([가-힣]{2,4})"))
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass
class Entry:
    """One request as the server saw it."""

    path: str
    payload: dict[str, Any]
    action: str
    status: int = 200
    arrived: float = field(default_factory=time.time)


@dataclass
class Asked:
    """What the prompt asks: ``kind`` (choice / multi / numeric / open), ``k`` choices, ``most``, range."""

    kind: str
    k: int = 0
    most: int = 0
    low: float = 0.0
    high: float = 0.0


def read_question(prompt: str) -> Asked:
    """The question of a survey prompt (see the module docstring)."""
    block = prompt[prompt.rfind("질문"):] if "질문" in prompt else prompt
    k = len(_CHOICE_LINE.findall(block))
    most = _MOST.search(block)
    if k and most:
        return Asked("multi", k=k, most=int(most.group(1)))
    if k:
        return Asked("choice", k=k)
    found = _RANGE.search(block)
    if found:
        return Asked("numeric", low=float(found.group(1)), high=float(found.group(2)))
    return Asked("open")


def find_name(prompt: str) -> str:
    for pattern in _NAME:
        found = pattern.findall(prompt)
        if found:
            return found[-1]
    return "홍길동"


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "little")


class FakeSurveyServer:
    """See the module docstring. ``start()`` / ``stop()`` or use as a context manager."""

    def __init__(self, *, script: list[str] | tuple[str, ...] = (), logprobs: bool = True,
                 logprobs_format: str = "chat", logprob_mass: float = 0.9, weights: list[float] | None = None,
                 reject_response_format: bool = False, reject_grammar: bool = False, reject_logprobs: bool = False,
                 retry_after: float = 1.0, hang_seconds: float = 5.0, api_key: str | None = None,
                 echo_auth: bool = False, latency: float = 0.0) -> None:
        self.script: deque[str] = deque(script)
        self.logprobs = logprobs
        self.logprobs_format = logprobs_format
        self.logprob_mass = logprob_mass
        self.weights = weights
        self.reject_response_format = reject_response_format
        self.reject_grammar = reject_grammar
        self.reject_logprobs = reject_logprobs
        self.retry_after = retry_after
        self.hang_seconds = hang_seconds
        self.api_key = api_key
        self.echo_auth = echo_auth
        self.latency = latency
        self.log: list[Entry] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # --- lifecycle ---------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> int:
        return len(self.log)

    def start(self) -> FakeSurveyServer:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._connection, "127.0.0.1", 0))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-survey", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                writer.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
            if not self._thread.is_alive():
                loop.close()
        self._loop = None

    def __enter__(self) -> FakeSurveyServer:  # noqa: PYI034
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- HTTP --------------------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:]) if k}
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                answer = await self._handle(method, target, headers, body)
                if answer is None:  # drop
                    return
                status, extra, payload = answer
                data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
                out = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", "Content-Type: application/json",
                       f"Content-Length: {len(data)}", *(f"{k}: {v}" for k, v in extra.items())]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _handle(self, method: str, target: str, headers: dict[str, str],
                      body: bytes) -> tuple[int, dict[str, str], Any] | None:
        path = target.split("?", 1)[0]
        if method != "POST" or path not in ("/v1/chat/completions", "/v1/completions"):
            return 404, {}, {"error": {"message": f"no route {method} {path}"}}
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, {}, {"error": {"message": "body is not JSON"}}
        entry = Entry(path=path, payload=payload, action="ok")
        self.log.append(entry)
        auth = headers.get("authorization", "")
        leak = f" (Authorization: {auth})" if self.echo_auth and auth else ""
        if self.api_key is not None and auth != f"Bearer {self.api_key}":
            entry.status = 401
            return 401, {}, {"error": {"message": f"Incorrect API key provided: {auth[7:]}"}}
        action = self.script.popleft() if self.script else "ok"
        entry.action = action
        kind, _, arg = action.partition(":")
        if kind == "429":
            entry.status = 429
            wait = float(arg or self.retry_after)
            return 429, {"Retry-After": f"{wait:g}"}, {"error": {"message": "rate limited" + leak}}
        if kind in ("500", "503", "400"):
            entry.status = int(kind)
            return int(kind), {}, {"error": {"message": "server trouble" + leak}}
        if kind == "drop":
            entry.status = 0
            return None
        if kind == "malformed":
            return 200, {}, b"<html>proxy error</html>"
        if kind == "hang":
            await asyncio.sleep(self.hang_seconds)
        wants_logprobs = bool(payload.get("logprobs")) or "top_logprobs" in payload
        rejected = ((self.reject_logprobs and wants_logprobs and "logprobs") or
                    (self.reject_response_format and "response_format" in payload and "response_format") or
                    (self.reject_grammar and "grammar" in payload and "grammar"))
        if rejected:
            entry.status = 400
            message = {"logprobs": "logprobs is not supported by this model",
                       "response_format": "'response_format' of type 'json_schema' is not supported",
                       "grammar": "Unrecognized request argument supplied: grammar"}[rejected]
            return 400, {}, {"error": {"message": message + leak, "type": "invalid_request_error"}}
        if self.latency:
            await asyncio.sleep(self.latency)
        return 200, {}, self._answer(path, payload, kind, wants_logprobs)

    # --- answers -----------------------------------------------------------------------------------------

    def _answer(self, path: str, payload: dict[str, Any], kind: str, wants_logprobs: bool) -> dict[str, Any]:
        chat = path.endswith("/chat/completions")
        if chat:
            prompt = "\n".join(str(m.get("content", "")) for m in payload.get("messages") or [])
        else:
            prompt = str(payload.get("prompt", ""))
        asked = read_question(prompt)
        name = find_name(prompt)
        value = self._value(asked, name, kind)
        if "response_format" in payload:
            text = json.dumps({"answer": value}, ensure_ascii=False)
        elif isinstance(value, list):
            text = ", ".join(value)
        else:
            text = str(value)
            if chat and "grammar" not in payload and asked.kind == "choice" and kind not in ("garbage", "outofrange"):
                text = f"제 생각에는 {text}번입니다."
        choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
        if wants_logprobs and self.logprobs and asked.kind == "choice":
            top = self._top(asked.k)
            text = top[0][0]
            choice["logprobs"] = self._logprobs(top)
        if chat:
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice["text"] = text
        return {"id": "fake", "object": "chat.completion" if chat else "text_completion", "model": payload.get("model"),
                "choices": [choice],
                "usage": {"prompt_tokens": len(prompt) // 2, "completion_tokens": max(1, len(text) // 2)}}

    def _value(self, asked: Asked, name: str, kind: str) -> Any:
        if kind == "garbage":
            return "???"
        j = _hash(name) % max(asked.k, 1) + 1
        if asked.kind == "choice":
            return str(asked.k + 5) if kind == "outofrange" else str(j)
        if asked.kind == "multi":
            if kind == "outofrange":
                return [str(i) for i in range(1, asked.k + 1)]
            picks = sorted({1, j})[: asked.most]
            return [str(i) for i in picks]
        if asked.kind == "numeric":
            if kind == "outofrange":
                return asked.high * 10 + 7
            return math.floor((asked.low + asked.high) / 2)
        return f"{name}은 요즘 물가가 가장 걱정입니다."

    def expected_distribution(self, k: int) -> list[float]:
        """The distribution over ``k`` choices that the log-probabilities encode (normalised)."""
        weights = self.weights or [float(k - i) for i in range(k)]
        total = sum(weights)
        return [w / total for w in weights]

    def _top(self, k: int) -> list[tuple[str, float]]:
        shares = [p * self.logprob_mass for p in self.expected_distribution(k)]
        top = [("1", math.log(shares[0] * 0.75)), (" 1", math.log(shares[0] * 0.25))]
        top += [(str(j + 1), math.log(s)) for j, s in enumerate(shares) if j > 0 and s > 0]
        rest = 1.0 - self.logprob_mass
        if rest > 0:
            top += [("답", math.log(rest * 0.6)), ("저", math.log(rest * 0.4))]
        return sorted(top, key=lambda t: -t[1])

    def _logprobs(self, top: list[tuple[str, float]]) -> dict[str, Any]:
        first, logprob = top[0]
        if self.logprobs_format == "legacy":
            return {"tokens": [first], "token_logprobs": [logprob], "top_logprobs": [dict(top)], "text_offset": [0]}
        alternatives = [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in top]
        return {"content": [{"token": first, "logprob": logprob, "bytes": list(first.encode()),
                             "top_logprobs": alternatives}]}
