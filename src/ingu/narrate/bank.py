"""Phrase banks: the curated Korean words and clauses the template narrator composes from.

A bank is a folder of YAML files (``ingu/narrate/banks/`` by default). Every top-level key of every file
becomes one entry of the merged bank, so a user can override a single section (``occupations``) by a file
in their own folder that defines that key. Leaves are lists of strings; the template narrator picks among
them. Loading validates the shape so that a typo fails at start-up, naming the file and the key, not in the
middle of a 10-million-row run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ingu.narrate.base import NarratorError

PACKAGE_DIR = Path(__file__).with_name("banks")


def load_bank(directory: Path | None = None) -> dict[str, Any]:
    """The merged phrase bank: the packaged files, then ``directory``'s files overriding top-level keys."""
    bank: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    for folder in (PACKAGE_DIR, directory):
        if folder is None:
            continue
        if not folder.is_dir():
            raise NarratorError(f"phrase-bank folder {folder} does not exist")
        for path in sorted(folder.glob("*.yaml")):
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                raise NarratorError(f"{path}: not valid YAML: {exc}") from None
            if not isinstance(data, dict):
                raise NarratorError(f"{path}: a phrase bank must be a mapping of sections, got {type(data).__name__}")
            for key, value in data.items():
                _check(value, f"{path}: {key}")
                bank[key] = value
                origin[key] = path
    return bank


def _check(value: Any, where: str) -> None:
    """Leaves must be non-empty lists of non-empty strings; inner nodes mappings with string keys."""
    if isinstance(value, dict):
        for key, inner in value.items():
            _check(inner, f"{where}.{key}")
    elif isinstance(value, list):
        if not value:
            raise NarratorError(f"{where}: empty list (a pick from it would fail)")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise NarratorError(f"{where}[{i}]: expected a non-empty string, got {item!r}")
    elif not isinstance(value, (str, int, float)):
        raise NarratorError(f"{where}: unsupported value {value!r}")
