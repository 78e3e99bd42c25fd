"""Prompts for the LLM narrators, rendered from Jinja files a user can copy and edit.

The packaged files live in ``ingu/narrate/prompts/``: ``system.j2`` and ``user.j2`` (chat servers),
``completion.j2`` (base models such as the ``local`` Gemma 3 270M: a completion prompt with worked
examples). ``--prompts DIR`` replaces any of them by a file of the same name in ``DIR``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ingu.narrate.fields import FIELD_DESCRIPTIONS, LIST_FIELDS
from ingu.narrate.jinja import compile_template, fingerprint, resolve

PACKAGE_DIR = Path(__file__).with_name("prompts")
FILES = ("system.j2", "user.j2", "completion.j2")


class PromptSet:
    """The rendered-prompt side of the LLM narrators.

    Parameters
    ----------
    directory : Path, optional
        A folder with replacement ``system.j2`` / ``user.j2`` / ``completion.j2``; files it lacks fall back
        to the packaged ones.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        sources = {}
        for name in FILES:
            path = resolve(name, PACKAGE_DIR, directory)
            sources[name] = (path, path.read_text(encoding="utf-8"))
        self._templates = {name: compile_template(text, str(path)) for name, (path, text) in sources.items()}
        self.version = fingerprint(*(text for _, text in sources.values()))

    def system(self) -> str:
        """The system message."""
        return self._templates["system.j2"].render().strip()

    def user(self, persona: Mapping[str, Any], fields: Sequence[str], feedback: Sequence[str] = ()) -> str:
        """The user message asking for ``fields`` of ``persona`` as one JSON object."""
        return self._templates["user.j2"].render(p=persona, fields=list(fields), descriptions=FIELD_DESCRIPTIONS,
                                                 feedback=list(feedback)).strip()

    def messages(self, persona: Mapping[str, Any], fields: Sequence[str],
                 feedback: Sequence[str] = ()) -> list[dict[str, str]]:
        """Chat messages (system + user) for an OpenAI-compatible ``/v1/chat/completions``."""
        return [{"role": "system", "content": self.system()},
                {"role": "user", "content": self.user(persona, fields, feedback)}]

    def completion(self, persona: Mapping[str, Any], field: str) -> str:
        """A completion-style prompt (worked examples, then this persona) ending where ``field``'s text starts."""
        return self._templates["completion.j2"].render(p=persona, field=field,
                                                       description=FIELD_DESCRIPTIONS[field]).rstrip(" ")


def json_schema(fields: Sequence[str]) -> dict[str, Any]:
    """JSON schema of an answer holding ``fields`` (strings; list fields as arrays of 3–5 strings)."""
    properties: dict[str, Any] = {}
    for field in fields:
        if field in LIST_FIELDS:
            properties[field] = {"type": "array", "items": {"type": "string"}, "minItems": 3, "maxItems": 5}
        else:
            properties[field] = {"type": "string"}
    return {"type": "object", "properties": properties, "required": list(fields), "additionalProperties": False}
