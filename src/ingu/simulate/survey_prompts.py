"""Prompts that ask a persona one survey question, rendered from Jinja files a user can copy and edit.

The packaged files live in ``ingu/simulate/prompts/``: ``survey_system.j2`` and ``survey_user.j2`` (chat
servers: a system and a user message) and ``survey_completion.j2`` (base models: a worked example, then this
respondent and the question, ending with ``"답: "``). A ``directory`` holding files of the same names
replaces them. They render in the project's sandbox (:mod:`ingu.narrate.jinja`): undefined names are errors.

The context of a respondent is its persona dict (:func:`ingu.narrate.persona.build_personas`: name, sex,
age, district, education, occupation, marital status, family type …) and some of its narratives
(:data:`CONTEXT_FIELDS` by default), taken from the persona dict or, failing that, from the sample table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from ingu.narrate.base import NarratorError
from ingu.narrate.jinja import compile_template, fingerprint, resolve
from ingu.simulate.questionnaire import Question

PACKAGE_DIR = Path(__file__).with_name("prompts")
FILES = ("survey_system.j2", "survey_user.j2", "survey_completion.j2")
#: Narratives given as context (when the persona has them), with the label the prompt shows.
CONTEXT_LABELS: dict[str, str] = {
    "persona": "소개",
    "professional_persona": "직업 생활",
    "family_persona": "가족",
    "cultural_background": "자라 온 배경",
}
CONTEXT_FIELDS: tuple[str, ...] = tuple(CONTEXT_LABELS)
#: Styles of answer a prompt asks for (see ``survey_user.j2``).
STYLES = ("label", "json", "free")
class SurveyPrompts:
    """The rendered-prompt side of the LLM survey backends.

    Parameters
    ----------
    directory : Path, optional
        A folder with replacement ``survey_system.j2`` / ``survey_user.j2`` / ``survey_completion.j2``; files it
        lacks fall back to the packaged ones.

    Raises
    ------
    NarratorError
        ``directory`` does not exist, or a prompt file does not compile (the message names file and line).
    """

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory is not None else None
        if self.directory is not None and not self.directory.is_dir():
            raise NarratorError(f"prompt folder {self.directory}: no such directory")
        sources = {}
        for name in FILES:
            path = resolve(name, PACKAGE_DIR, self.directory)
            sources[name] = (path, path.read_text(encoding="utf-8"))
        self._templates = {name: compile_template(text, str(path)) for name, (path, text) in sources.items()}
        self.version = fingerprint(*(text for _, text in sources.values()))

    def messages(self, context: Mapping[str, Any], question: Question, *, style: str = "free",
                 feedback: Mapping[str, str] | None = None) -> list[dict[str, str]]:
        """Chat messages (system + user) asking the respondent of ``context`` the ``question``."""
        if style not in STYLES:
            raise ValueError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
        user = self._templates["survey_user.j2"].render(
            p=context["persona"], narratives=context["narratives"], q=question_context(question), style=style,
            feedback=feedback)
        return [{"role": "system", "content": self._templates["survey_system.j2"].render().strip()},
                {"role": "user", "content": user.strip()}]

    def completion(self, context: Mapping[str, Any], question: Question, *,
                   feedback: Mapping[str, str] | None = None) -> str:
        """A completion prompt ending where the answer starts (``"답: "``)."""
        text = self._templates["survey_completion.j2"].render(
            p=context["persona"], narratives=context["narratives"], q=question_context(question), style="label",
            feedback=feedback)
        return text.rstrip("\n")


def question_context(question: Question) -> dict[str, Any]:
    """What the templates see of a question (the range as short text: ``0``, ``10``, ``2.5``)."""
    return {
        "id": question.id, "type": question.type, "text": question.text, "choices": list(question.choices),
        "max_choices": question.max_choices or len(question.choices),
        "low": f"{question.min:g}" if question.min is not None else None,
        "high": f"{question.max:g}" if question.max is not None else None,
        "unit": question.unit,
    }


def feedback_for(answer: str, kind: str, question: Question) -> dict[str, str]:
    """The ``feedback`` context of a re-ask: the previous answer (short) and, in Korean, what was wrong with it
    (``kind``: an :class:`~ingu.simulate.answer_parsing.AnswerProblem` kind)."""
    answer = " ".join(answer.split()) or "(빈 답)"
    if len(answer) > 60:
        answer = answer[:60] + "…"
    k = len(question.choices)
    if kind == "out of range" and question.type == "numeric":
        problem = f"{question.min:g}에서 {question.max:g} 사이의 숫자가 아닙니다"
    elif kind == "out of range":
        problem = f"보기 번호는 1에서 {k}까지입니다"
    elif kind == "too many choices":
        problem = f"최대 {question.max_choices or k}개까지만 고를 수 있습니다"
    elif question.type == "open":
        problem = "한국어 문장으로 된 답이 아닙니다"
    else:
        problem = "요청한 형식의 답이 아닙니다"
    return {"answer": answer, "problem": problem}


def respondent_contexts(sample: pa.Table, personas: Sequence[Mapping[str, Any]] | None, *,
                        fields: Sequence[str] = CONTEXT_FIELDS, source: str = "sample") -> list[dict[str, Any]]:
    """One prompt context per row of ``sample``: ``{"persona": dict, "narratives": [[label, text], …]}``.

    ``personas`` (same rows, same order) is used when given, else built from ``sample``. A narrative is taken
    from the persona dict, else from the sample's column of that name; empty ones are left out.

    Raises
    ------
    ValueError
        ``personas`` does not have one entry per row, or ``fields`` names an unknown narrative.
    """
    unknown = [f for f in fields if f not in CONTEXT_LABELS]
    if unknown:
        raise ValueError(f"unknown context narrative(s) {', '.join(unknown)}; known: {', '.join(CONTEXT_LABELS)}")
    if personas is None:
        from ingu.narrate.persona import build_personas

        personas = build_personas(sample, source=source)
    if len(personas) != sample.num_rows:
        raise ValueError(f"{source}: {len(personas)} personas for {sample.num_rows} sample rows; give one per row")
    columns = {f: sample.column(f).to_pylist() for f in fields if f in sample.column_names}
    contexts = []
    for i, persona in enumerate(personas):
        narratives = []
        for f in fields:
            text = persona.get(f) or (columns[f][i] if f in columns else None)
            if isinstance(text, str) and text.strip():
                narratives.append([CONTEXT_LABELS[f], " ".join(text.split())])
        contexts.append({"persona": persona, "narratives": narratives})
    return contexts
