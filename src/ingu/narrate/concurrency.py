"""Adaptive concurrency for the HTTP narrator: an AIMD limiter with a global pause for ``Retry-After``.

The limiter hands out request slots. It starts at ``initial`` slots, adds one slot after every
``increase_every`` successful requests (up to ``maximum``), and halves (down to ``minimum``) when the
server says it is overloaded (HTTP 429, 503, a timeout). A burst of overload signals from requests that
were all in flight at once counts as one signal: a request only halves the limit when no halving happened
since it started (each halving opens a new *epoch*; the request carries the epoch it started in).

:meth:`AdaptiveLimiter.pause` stops *all* new requests until a deadline (the server's ``Retry-After``);
requests already in flight are not affected (they cannot be). Waiters are served first come, first served.

The limiter is not thread-safe: use it from one event loop.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime


class AdaptiveLimiter:
    """AIMD concurrency limit plus a global pause; see the module docstring.

    Parameters
    ----------
    initial : int
        Starting number of concurrent slots.
    maximum : int
        Upper bound of the limit (never exceeded, also not by requests in flight).
    minimum : int
        Lower bound of the limit.
    increase_every : int
        Successes needed for one additive increase.
    """

    def __init__(self, initial: int, maximum: int, *, minimum: int = 1, increase_every: int = 8) -> None:
        if maximum < 1 or minimum < 1 or minimum > maximum:
            raise ValueError(f"bad concurrency bounds: minimum={minimum}, maximum={maximum}")
        if increase_every < 1:
            raise ValueError("increase_every must be ≥ 1")
        self.minimum = minimum
        self.maximum = maximum
        self.limit = max(minimum, min(maximum, initial))
        self.increase_every = increase_every
        self.in_flight = 0
        self.epoch = 0
        self.peak_limit = self.limit
        self.peak_in_flight = 0
        self.decreases = 0
        self.increases = 0
        self.paused_until = 0.0  # event-loop time (monotonic)
        self.pauses = 0
        self._successes = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    # --- slots -------------------------------------------------------------------------------------------

    async def acquire(self) -> int:
        """Wait for a slot (and for any pause to end); returns the epoch the request starts in."""
        loop = asyncio.get_running_loop()
        if not self._waiters and self.in_flight < self.limit and loop.time() >= self.paused_until:
            self._take()
            return self.epoch
        future: asyncio.Future[None] = loop.create_future()
        self._waiters.append(future)
        self._schedule_wake(loop)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # the slot was handed to us just as we were cancelled: give it on
            else:
                try:
                    self._waiters.remove(future)
                except ValueError:
                    pass
            raise
        return self.epoch

    def release(self) -> None:
        """Give a slot back."""
        self.in_flight -= 1
        self._wake()

    def _take(self) -> None:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def _wake(self) -> None:
        if not self._waiters:
            return
        loop = asyncio.get_running_loop()
        if loop.time() < self.paused_until:
            self._schedule_wake(loop)
            return
        while self._waiters and self.in_flight < self.limit:
            future = self._waiters.popleft()
            if future.done():  # cancelled while waiting
                continue
            self._take()
            future.set_result(None)

    def _schedule_wake(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop.time() < self.paused_until:
            if self._timer is None or self._timer.when() < self.paused_until:
                if self._timer is not None:
                    self._timer.cancel()
                self._timer = loop.call_at(self.paused_until, self._on_timer)
        elif self.in_flight < self.limit:
            self._wake()

    def _on_timer(self) -> None:
        self._timer = None
        self._wake()

    # --- signals -----------------------------------------------------------------------------------------

    def success(self) -> None:
        """A request succeeded: additive increase every ``increase_every`` successes."""
        self._successes += 1
        if self._successes >= self.increase_every:
            self._successes = 0
            if self.limit < self.maximum:
                self.limit += 1
                self.increases += 1
                self.peak_limit = max(self.peak_limit, self.limit)
                self._wake()

    def overload(self, epoch: int) -> bool:
        """The server is overloaded (429, 503, timeout): halve the limit once per epoch. True if it halved."""
        if epoch != self.epoch:
            return False  # a halving already happened since this request started
        self.epoch += 1
        self._successes = 0
        new = max(self.minimum, self.limit // 2)
        if new < self.limit:
            self.limit = new
            self.decreases += 1
            return True
        return False

    def pause(self, seconds: float) -> None:
        """Send no new request for ``seconds`` (extends, never shortens, a pause in force)."""
        if seconds <= 0:
            return
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        if until > self.paused_until:
            self.paused_until = until
            self.pauses += 1
            if self._waiters:
                self._schedule_wake(loop)

    def paused_for(self) -> float:
        """Seconds left of the pause in force (0 when none)."""
        return max(0.0, self.paused_until - asyncio.get_running_loop().time())


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The server's requested wait, from ``retry-after-ms`` (OpenAI) or ``Retry-After`` (RFC 9110 §10.2.3).

    ``Retry-After`` is either a number of seconds or an HTTP-date; a date in the past means 0. Returns
    ``None`` when the headers do not say (or say something unreadable).
    """
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            ms = float(value)
        except ValueError:
            ms = -1.0
        if ms >= 0:
            return ms / 1000.0
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return None if math.isnan(seconds) else max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


__all__ = ["AdaptiveLimiter", "retry_after_seconds"]
