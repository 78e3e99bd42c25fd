"""Build a survey backend by name from CLI-style options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ingu.simulate.backend import SurveyBackend

SURVEY_BACKENDS: tuple[str, ...] = ("model", "local", "openai")
#: Shipped questionnaires, by name (``ingu survey kgss_2016``).
QUESTIONNAIRE_DIR = Path(__file__).parent / "questionnaires"


class SurveyBackendError(ValueError):
    """An unknown backend or missing options for one."""


@dataclass
class SurveyBackendOptions:
    seed: int = 0
    base_url: str | None = None
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    api: str = "chat"
    concurrency: int = 8
    max_concurrency: int = 64
    timeout: float = 120.0
    cache_path: Path | None = None
    model_path: Path | None = None
    threads: int | None = None
    max_retries: int = 2


def resolve_questionnaire(name_or_path: str) -> Path:
    """A questionnaire file: the path itself, or a shipped one by name (``kgss_2016``)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    shipped = QUESTIONNAIRE_DIR / f"{name_or_path}.yaml"
    if shipped.exists():
        return shipped
    known = ", ".join(sorted(p.stem for p in QUESTIONNAIRE_DIR.glob("*.yaml")))
    raise SurveyBackendError(f"{name_or_path}: no such questionnaire file (shipped questionnaires: {known})")


def make_survey_backend(name: str, population: pa.Table, options: SurveyBackendOptions) -> SurveyBackend:
    """The backend ``name`` (:data:`SURVEY_BACKENDS`); ``population`` feeds the model backend's cell counts."""
    if name == "model":
        from ingu.simulate.model_backend import ModelSurveyBackend

        return ModelSurveyBackend(population, seed=options.seed)
    if name == "openai":
        if not options.base_url or not options.model:
            raise SurveyBackendError("the openai backend needs --base-url and --model")
        from ingu.simulate.llm_backend import OpenAISurveyBackend

        return OpenAISurveyBackend(options.base_url, options.model, api_key_env=options.api_key_env, api=options.api,
                                   concurrency=options.concurrency, max_concurrency=options.max_concurrency,
                                   timeout=options.timeout, max_retries=options.max_retries,
                                   cache=options.cache_path, seed=options.seed)
    if name == "local":
        from ingu.simulate.llm_backend import LocalSurveyBackend

        return LocalSurveyBackend(options.model_path, n_threads=options.threads, seed=options.seed,
                                  max_retries=options.max_retries)
    raise SurveyBackendError(f"unknown survey backend {name!r}; known: {', '.join(SURVEY_BACKENDS)}")
