"""What the HTTP clients (the ``openai`` narrator, the LLM survey backends) say about a server's answers:
its error message, its URL without credentials, its token counts — short, and never a secret."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx


def server_message(response: httpx.Response, limit: int = 200) -> str:
    """The error message of a server's answer, at most ``limit`` characters."""
    try:
        data = response.json()
    except ValueError:
        return clip(" ".join(response.text.split()) or response.reason_phrase or "", limit)
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            error = error.get("message") or error
        if error is not None:
            return clip(error if isinstance(error, str) else str(error), limit)
    return clip(json.dumps(data, ensure_ascii=False), limit)


def public_url(url: str) -> str:
    """``url`` without user:password."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        parts = parts._replace(netloc=host)
    return urlunsplit(parts)


def token_count(value: Any) -> int:
    """A usage field as an int (0 when a server leaves it out or sends something else)."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
