"""HTTP to an OpenAI-compatible server for the survey backends: retries, backoff, adaptive concurrency.

The same policy as the ``openai`` narrator (:mod:`ingu.narrate.openai_backend`), for requests whose options
differ (``logprobs``, ``grammar``, ``json_schema`` as well as ``response_format`` and ``seed``):

- 429 and connection errors are retried with capped exponential backoff and jitter until the per-request
  ``deadline``; a ``Retry-After`` pauses every new request (:class:`~ingu.narrate.concurrency.AdaptiveLimiter`);
- 5xx, 408, timeouts and 2xx answers without a JSON body are retried at most ``retries`` times;
- a 400 / 422 whose message names an option the request carried raises :class:`Rejected` (the backend then
  drops the option for the rest of the run); 401, 403 and 404 raise :class:`Unusable` (bad key, bad URL,
  unknown model: no respondent can be asked); anything else raises :class:`Failed` for this respondent.

Error messages start with a category and a colon (``HTTP 429: …``, ``timeout: …``, ``connection error: …``)
— :meth:`ingu.simulate.backend.Answers.counts` tallies by it. The API key travels only in the
``Authorization`` header; error texts are scrubbed of it by the caller's ``redact``.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Callable
from typing import Any

import httpx

from ingu.narrate.concurrency import AdaptiveLimiter, retry_after_seconds
from ingu.narrate.http_messages import public_url, server_message, token_count

#: Words in a 400/422 body that name each option a survey request may carry.
OPTION_WORDS: dict[str, re.Pattern[str]] = {
    "response_format": re.compile(r"response_format|json_schema|json schema|structured|guided", re.IGNORECASE),
    "grammar": re.compile(r"grammar|gbnf", re.IGNORECASE),
    "json_schema": re.compile(r"json_schema|json schema", re.IGNORECASE),
    "logprobs": re.compile(r"logprobs|top_logprobs|n_probs", re.IGNORECASE),
    "seed": re.compile(r"\bseed\b", re.IGNORECASE),
}
_SHARD = 8  # connections per httpx client (httpcore's pool costs O(connections²) CPU per request)


class Failed(Exception):
    """This request failed for good; ``str()`` is the respondent's error. ``connection``: never reached it."""

    def __init__(self, reason: str, *, connection: bool = False) -> None:
        super().__init__(reason)
        self.connection = connection


class Rejected(Exception):
    """The server refused an option the request carried (``option``: a key of :data:`OPTION_WORDS`)."""

    def __init__(self, option: str, reason: str) -> None:
        super().__init__(reason)
        self.option = option


class Unusable(Exception):
    """The server refuses all work (401 / 403 / 404)."""


class HttpTransport:
    """POST JSON to ``base_url`` with the retry policy of the module docstring; use from one event loop.

    Parameters
    ----------
    base_url : str
        The API root, ``…/v1`` included.
    api_key : str, optional
        Sent as ``Authorization: Bearer``.
    timeout : float
        Seconds one HTTP request may take (connect ≤ 10 s).
    retries : int
        Retries after 5xx / 408 / timeouts.
    deadline : float
        Seconds one request may take with all its retries.
    concurrency, max_concurrency : int
        Initial and maximum requests in flight (adaptive in between).
    backoff_base, backoff_cap : float
        Backoff ``base · 2^n`` seconds (with jitter), at most ``cap``.
    stats : dict
        Counters to add to (``requests successes retries http_429 http_5xx http_4xx timeouts connection_errors
        prompt_tokens completion_tokens``).
    """

    def __init__(self, base_url: str, *, api_key: str | None, timeout: float, retries: int, deadline: float,
                 concurrency: int, max_concurrency: int, backoff_base: float, backoff_cap: float,
                 stats: dict[str, int]) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.deadline = deadline
        self.max_concurrency = max_concurrency
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.stats = stats
        self.limiter = AdaptiveLimiter(concurrency, max_concurrency)
        self._api_key = api_key
        self._clients: list[httpx.AsyncClient] = []
        self._load: list[int] = []

    async def open(self) -> None:
        """Create the HTTP clients (in the event loop that will use them)."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key}"
        shards = -(-self.max_concurrency // _SHARD)
        per_shard = -(-self.max_concurrency // shards)
        tls = httpx.create_ssl_context()
        self._clients = [
            httpx.AsyncClient(headers=headers, verify=tls,
                              timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
                              limits=httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard))
            for _ in range(shards)
        ]
        self._load = [0] * shards

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self._clients), return_exceptions=True)
        self._clients = []

    async def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST ``payload`` to ``base_url + path``; the decoded JSON object of a 2xx answer.

        Raises :class:`Failed`, :class:`Rejected` or :class:`Unusable` (see the module docstring).
        """
        limiter, stats = self.limiter, self.stats
        loop = asyncio.get_running_loop()
        url = self.base_url + path
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        deadline = loop.time() + self.deadline
        transient = tries = 0
        while True:
            epoch = await limiter.acquire()
            stats["requests"] += 1
            wait: float | None = None
            shard = self._load.index(min(self._load))
            self._load[shard] += 1
            try:
                response = await self._clients[shard].post(url, content=body)
            except (httpx.LocalProtocolError, httpx.UnsupportedProtocol) as exc:
                raise Failed(f"request error: {type(exc).__name__}: {exc}") from None
            except httpx.TimeoutException:
                limiter.overload(epoch)
                stats["timeouts"] += 1
                transient += 1
                reason, connection, bounded = f"timeout: no answer within {self.timeout:g} s", False, True
            except httpx.TransportError as exc:
                stats["connection_errors"] += 1
                reason, connection, bounded = f"connection error: {type(exc).__name__}", True, False
                if isinstance(exc, httpx.ConnectError):
                    limiter.pause(self._backoff(tries) / 2)
            else:
                status = response.status_code
                if status < 300:
                    data = _json_object(response)
                    if data is not None:
                        limiter.success()
                        stats["successes"] += 1
                        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
                        stats["prompt_tokens"] += token_count(usage.get("prompt_tokens"))
                        stats["completion_tokens"] += token_count(usage.get("completion_tokens"))
                        return data
                    stats["http_5xx"] += 1  # a broken proxy: retried like a server error
                    transient += 1
                    reason, connection, bounded = f"HTTP {status}: the body is not a JSON object", False, True
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
                        raise Unusable(f"HTTP {status} from {public_url(url)}: {message}")
                    if status in (400, 422):
                        for option, words in OPTION_WORDS.items():
                            if _carries(payload, option) and words.search(message):
                                raise Rejected(option, f"HTTP {status}: {message}")
                    raise Failed(f"HTTP {status}: {message}")
            finally:
                self._load[shard] -= 1
                limiter.release()
            if bounded and transient > self.retries:
                raise Failed(f"{reason} (after {self.retries} retries)", connection=connection)
            delay = max(self._backoff(tries), wait or 0.0)
            if loop.time() + delay > deadline:
                raise Failed(f"{reason} (gave up: the deadline of {self.deadline:g} s passed)", connection=connection)
            tries += 1
            stats["retries"] += 1
            if not wait and delay > 0:  # with Retry-After, the limiter's pause holds every request instead
                await asyncio.sleep(delay)

    def _backoff(self, tries: int) -> float:
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** min(tries, 30)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def _carries(payload: dict[str, Any], option: str) -> bool:
    if option == "logprobs":
        return bool(payload.get("logprobs")) or "top_logprobs" in payload or "n_probs" in payload
    return option in payload


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def redactor(secret: str | None) -> Callable[[str], str]:
    """A function that replaces ``secret`` in a text by ``***`` (the identity when there is none)."""
    if not secret:
        return lambda text: text
    return lambda text: text.replace(secret, "***")
