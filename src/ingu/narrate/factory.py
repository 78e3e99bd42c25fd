"""Build a narrator backend by name from command-line style options (heavy imports stay lazy)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingu.narrate.base import Narrator, NarratorError

NARRATORS: tuple[str, ...] = ("template", "local", "openai")


@dataclass
class NarratorOptions:
    """Everything a backend may need; each backend reads its own part."""

    seed: int = 0
    bank_dir: Path | None = None
    template_dir: Path | None = None
    prompt_dir: Path | None = None
    # openai
    base_url: str | None = None
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    api: str = "chat"
    concurrency: int = 8
    max_concurrency: int = 64
    timeout: float = 120.0
    temperature: float = 0.8
    cache_path: Path | None = None
    # local
    model_path: Path | None = None
    threads: int | None = None


def make_narrator(name: str, options: NarratorOptions | None = None) -> Narrator:
    """The backend called ``name`` (``template``, ``local`` or ``openai``), configured by ``options``."""
    options = options or NarratorOptions()
    if name == "template":
        from ingu.narrate.template import TemplateNarrator

        return TemplateNarrator(seed=options.seed, bank_dir=options.bank_dir, template_dir=options.template_dir)
    if name == "openai":
        if not options.base_url or not options.model:
            raise NarratorError("the openai narrator needs --base-url (e.g. http://127.0.0.1:8000/v1) and --model")
        from ingu.narrate.openai_backend import OpenAINarrator
        from ingu.narrate.prompts import PromptSet

        # a path (not an open cache) so that close() closes it
        cache = str(options.cache_path) if options.cache_path else None
        return OpenAINarrator(options.base_url, options.model, api_key_env=options.api_key_env, api=options.api,
                              concurrency=options.concurrency, max_concurrency=options.max_concurrency,
                              timeout=options.timeout, temperature=options.temperature, cache=cache, seed=options.seed,
                              prompts=PromptSet(options.prompt_dir))
    if name == "local":
        from ingu.narrate.local_backend import LocalNarrator
        from ingu.narrate.prompts import PromptSet

        return LocalNarrator(options.model_path, n_threads=options.threads, seed=options.seed,
                             prompts=PromptSet(options.prompt_dir))
    raise NarratorError(f"unknown narrator {name!r}; choose one of {', '.join(NARRATORS)} (or 'none')")
