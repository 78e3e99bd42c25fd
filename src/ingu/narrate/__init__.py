"""Narratives: NPK's 13 text fields for each record, by a template, a local LLM or any OpenAI-compatible server.

Public API: :class:`~ingu.narrate.run.NarrationRun` (validate, retry, fall back, count),
:func:`~ingu.narrate.job.narrate_file` (checkpointed, resumable file runs),
:func:`~ingu.narrate.factory.make_narrator` (backends by name), :class:`~ingu.narrate.validate.Validator`,
:func:`~ingu.narrate.persona.build_personas`. See ``docs/narrate.md``.
"""

from ingu.narrate.base import Draft, Narrator, NarratorError, Request
from ingu.narrate.factory import NARRATORS, NarratorOptions, make_narrator

__all__ = ["NARRATORS", "Draft", "Narrator", "NarratorError", "NarratorOptions", "Request", "make_narrator"]
