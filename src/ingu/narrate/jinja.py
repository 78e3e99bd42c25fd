"""The sandboxed Jinja environment that renders every user-editable file (prompts, narrator templates).

Prompt and template files are data a user may download and edit, so they render in Jinja's
:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment`: no attribute access to internals, no mutation of
the context, undefined names are errors (a typo in a template must not become an empty sentence).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from jinja2 import StrictUndefined, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ingu.narrate.base import NarratorError
from ingu.narrate.fields import encode_list
from ingu.narrate.particles import attach


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    """The shared sandbox, with the ``josa`` filter (``{{ job|josa('으로') }}`` → ``간호사로``)."""
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False,
                                        trim_blocks=True, lstrip_blocks=True)
    env.filters["josa"] = attach
    env.filters["npk_list"] = encode_list
    return env


def compile_template(source: str, origin: str):
    """Compile ``source`` in the sandbox; a syntax error names ``origin`` (the file) and the line."""
    try:
        return environment().from_string(source)
    except TemplateSyntaxError as exc:
        raise NarratorError(f"{origin}:{exc.lineno}: template syntax error: {exc.message}") from None


def resolve(name: str, package_dir: Path, user_dir: Path | None) -> Path:
    """``user_dir/name`` when the user supplied one, else the packaged default."""
    if user_dir is not None and (user_dir / name).is_file():
        return user_dir / name
    path = package_dir / name
    if not path.is_file():
        raise NarratorError(f"template file {name!r} not found in {user_dir or package_dir}")
    return path


def fingerprint(*texts: str) -> str:
    """Short sha256 of template sources: part of cache keys and the run manifest."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\x00")
    return digest.hexdigest()[:16]
