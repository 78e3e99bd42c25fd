"""The one interface every narrator backend implements, and what passes between it and the run.

The run (:mod:`ingu.narrate.run`) hands a backend a batch of :class:`Request` — a persona, the fields still
needed, and the attempt number — and gets back one :class:`Draft` per request, in order. A backend never
raises for one bad row: it returns a draft with ``error`` set (and whatever fields it did get), so the run can
retry, fall back to the template narrator, and count it. Backends raise :class:`NarratorError` only when
they cannot work at all (no model file, a server that refuses every connection past the retry budget …).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


class NarratorError(RuntimeError):
    """A narrator cannot run (missing extra, missing model, unusable server, bad prompt files)."""


@dataclass(frozen=True)
class Request:
    """Narrate ``fields`` for ``persona``.

    ``attempt`` is 0 on the first try and counts retries; backends must make a retry differ from the try it
    repeats (another seed, another temperature, another phrase choice) or retrying is pointless. ``feedback``
    lists the validator findings of the previous attempt (for prompts that want to say what went wrong).
    """

    persona: Mapping[str, Any]
    fields: tuple[str, ...]
    attempt: int = 0
    feedback: tuple[str, ...] = ()


@dataclass
class Draft:
    """What a backend produced for one request.

    ``texts`` maps field → text in NPK's final form (list fields as ``"['a', 'b']"`` strings). Fields missing
    from ``texts`` count as failed. ``error`` says why, when something went wrong (a timeout, an unparsable
    answer) — never secrets. Token counts are the server's usage figures where it reports them.
    """

    texts: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    requests: int = 0  # HTTP / model calls made (0 for a cache hit or the template narrator)
    retries: int = 0  # transport-level retries inside the backend (429, 5xx, timeouts)


@runtime_checkable
class Narrator(Protocol):
    """A narrative backend: ``template``, ``local`` or ``openai``."""

    name: str

    def describe(self) -> dict[str, Any]:
        """Settings for the run manifest: backend, model, prompt version … (never an API key)."""
        ...

    def draft(self, requests: Sequence[Request]) -> list[Draft]:
        """One draft per request, in order. Must not raise for a single bad row."""
        ...

    def close(self) -> None:
        """Release models, connections and servers."""
        ...
