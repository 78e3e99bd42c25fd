"""The ``template`` narrator: offline, seeded, compositional Korean from phrase banks — the default.

Each of the 13 fields is a Jinja file in ``ingu/narrate/templates/<field>.j2`` (or a user's
``--templates DIR``) that composes sentences from the phrase bank (:mod:`ingu.narrate.bank`) and the
persona's own facts, attaching particles by rule (``{{ x|josa('을') }}``). All 13 are compiled into one
template and rendered in one call per persona, which is what makes thousands of personas a second possible.

Template context: ``p`` (the persona, :mod:`ingu.narrate.persona`), ``bank`` (the whole merged bank),
``occ`` / ``region`` / ``ages`` / ``family`` (the bank entries for the persona's occupation group, province,
age group and family situation), and the seeded choice functions ``pick(seq)``, ``sample(seq, k)``,
``chance(prob)`` and ``randint(a, b)``. The random stream is fixed by (seed, persona uuid, attempt): the same
persona renders the same text in every run, worker and chunking, and a retry renders a different one.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingu.narrate.bank import load_bank
from ingu.narrate.base import Draft, NarratorError, Request
from ingu.narrate.fields import FIELDS
from ingu.narrate.jinja import compile_template, fingerprint, resolve

PACKAGE_DIR = Path(__file__).with_name("templates")
#: between fields in the combined template; not whitespace, so Jinja's `{%- -%}` trimming cannot eat it
_SEPARATOR = "\ue000"


class TemplateNarrator:
    """Compose the 13 fields from phrase banks; see the module docstring.

    Parameters
    ----------
    seed : int
        Seed of the phrase choices (with the persona's uuid and the attempt number).
    bank_dir, template_dir : Path, optional
        Folders overriding packaged phrase-bank sections / field templates.
    """

    name = "template"

    def __init__(self, *, seed: int = 0, bank_dir: Path | None = None, template_dir: Path | None = None) -> None:
        self.seed = seed
        #: what rebuilds this narrator in a worker process (``TemplateNarrator(**config)``)
        self.config = {"seed": seed, "bank_dir": bank_dir, "template_dir": template_dir}
        self.bank = load_bank(bank_dir)
        sources = []
        for field in FIELDS:
            path = resolve(f"{field}.j2", PACKAGE_DIR, template_dir)
            text = path.read_text(encoding="utf-8")
            if _SEPARATOR in text:
                raise NarratorError(f"{path}: contains the reserved character U+E000")
            sources.append((path, text))
        for path, text in sources:  # compile one by one first so that an error names its file
            compile_template(text, str(path))
        self._template = compile_template(_SEPARATOR.join(text.strip("\n") for _, text in sources),
                                          "templates (combined)")
        self.version = fingerprint(*(text for _, text in sources), repr(sorted(self.bank.items())))
        for section in ("occupations", "regions", "ages", "families"):
            if section not in self.bank:
                raise NarratorError(f"phrase bank has no {section!r} section")

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "seed": self.seed, "templates_version": self.version}

    def render(self, persona: dict[str, Any], attempt: int = 0) -> dict[str, str]:
        """All 13 fields for ``persona``, whitespace-normalised."""
        rng = random.Random(_stream(self.seed, persona["uuid"], attempt))
        bank = self.bank
        occupations = bank["occupations"]
        context = {
            "p": persona,
            "bank": bank,
            "occ": occupations.get(persona["occupation_group"]) or occupations["worker"],
            "region": bank["regions"].get(persona["province"]) or bank["regions"]["default"],
            "ages": bank["ages"][persona["age_group"]],
            "family": bank["families"][persona["family_group"]],
            "pick": rng.choice,
            "sample": lambda seq, k: rng.sample(list(seq), min(k, len(seq))),
            "chance": lambda prob: rng.random() < prob,
            "randint": rng.randint,
        }
        parts = self._template.render(context).split(_SEPARATOR)
        if len(parts) != len(FIELDS):
            raise NarratorError(f"templates rendered {len(parts)} fields instead of {len(FIELDS)}")
        return {field: " ".join(text.split()) for field, text in zip(FIELDS, parts)}

    def draft(self, requests: Sequence[Request]) -> list[Draft]:
        drafts = []
        for request in requests:
            try:
                texts = self.render(dict(request.persona), request.attempt)
            except Exception as exc:  # a bad user template must fail the row, not the run
                drafts.append(Draft(error=f"template error: {type(exc).__name__}: {exc}"))
                continue
            drafts.append(Draft(texts={f: texts[f] for f in request.fields}))
        return drafts

    def close(self) -> None:
        pass


def _stream(seed: int, uuid: str, attempt: int) -> int:
    digest = hashlib.blake2b(f"{seed}\x1f{uuid}\x1f{attempt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")
