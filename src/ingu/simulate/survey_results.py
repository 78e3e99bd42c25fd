"""Real survey answer shares by group, read from the shipped ``ingu.reference`` survey tables.

:func:`reference_shares` turns the rows a question's ``reference`` (or ``model``) link points at into
``{group_var: {group_value: GroupShares}}`` over the question's choices, in choice order. Reference answers
are matched to choices by text after their leading code; answers that match no choice (typically ``-8
모르겠다``, when the questionnaire leaves it out) are dropped and the rest renormalised — the share dropped is
kept in ``GroupShares.dropped`` so a report can say so. A group whose published answers do not add up to a
whole distribution (news copies often print one answer per group) is marked ``complete=False`` and is not
used as a validation target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from ingu.simulate.groups import normalise_label
from ingu.simulate.questionnaire import Question, QuestionnaireError, ReferenceLink, strip_code

#: Printed percentages are rounded; a distribution is complete when its shares add up to 100 within this.
COMPLETE_TOLERANCE_PP = 1.5


@dataclass(frozen=True)
class GroupShares:
    """One group's answer distribution over a question's choices."""

    shares: np.ndarray  # (k,), sums to 1 when complete
    n: int | None  # respondents in the group, when the source gives it
    complete: bool
    dropped: float  # share (0–1) of answers that matched no choice and were dropped


def reference_shares(link: ReferenceLink, question: Question, *,
                     group_vars: Sequence[str] | None = None) -> dict[str, dict[str, GroupShares]]:
    """The real answer shares ``link`` points at, by group variable and group (see the module docstring)."""
    from ingu.reference.tables import load_table

    try:
        table = load_table(link.table)
    except Exception as exc:  # unknown table id, unreadable file
        raise QuestionnaireError(f"question {question.id!r}: reference table {link.table!r}: {exc}") from None
    rows = table.filter((pl.col("question_id") == link.question_id)
                        & (pl.col("year").cast(pl.String) == str(link.year)))
    if link.survey is not None:
        rows = rows.filter(pl.col("survey") == link.survey)
    if rows.is_empty():
        raise QuestionnaireError(
            f"question {question.id!r}: no rows in {link.table} for question_id {link.question_id!r}, "
            f"year {link.year}" + (f", survey {link.survey!r}" if link.survey else ""))
    surveys = rows["survey"].unique().to_list()
    if len(surveys) > 1:
        raise QuestionnaireError(f"question {question.id!r}: {link.table} has {link.question_id} {link.year} from "
                                 f"several surveys ({', '.join(surveys)}); set reference.survey")
    index = _choice_index(link, question, rows["answer"].unique().to_list())
    out: dict[str, dict[str, GroupShares]] = {}
    for (group_var, group_value), part in rows.group_by(["group_var", "group_value"], maintain_order=True):
        if group_vars is not None and group_var not in group_vars:
            continue
        shares = np.zeros(len(question.choices))
        dropped = 0.0
        for answer, share in zip(part["answer"].to_list(), part["share"].to_list()):
            if share is None:
                continue
            j = index.get(answer)
            if j is None:
                dropped += share
            else:
                shares[j] += share
        total = shares.sum() + dropped
        complete = abs(total - 100.0) <= COMPLETE_TOLERANCE_PP and shares.sum() > 0
        n_values = [v for v in part["n"].to_list() if v is not None]
        out.setdefault(group_var, {})[normalise_label(group_var, group_value)] = GroupShares(
            shares=shares / shares.sum() if shares.sum() > 0 else shares,
            n=int(max(n_values)) if n_values else None, complete=complete, dropped=dropped / 100.0)
    return out


def _choice_index(link: ReferenceLink, question: Question, answers: list[str]) -> dict[str, int]:
    """Reference answer label → choice index."""
    if link.answers is not None:
        index = {label: j for j, label in enumerate(link.answers)}
        unknown = [label for label in link.answers if label not in answers]
        if unknown:
            raise QuestionnaireError(f"question {question.id!r}: reference.answers {unknown} not among the table's "
                                     f"answers ({', '.join(sorted(answers))})")
        return index
    by_text = {c.strip(): j for j, c in enumerate(question.choices)}
    index = {}
    for a in answers:  # "모르겠다/선택할 수 없음/무응답" matches a choice written as any of its alternatives
        for text in (strip_code(a), *strip_code(a).split("/")):
            if text.strip() in by_text:
                index[a] = by_text[text.strip()]
                break
    if not index:
        raise QuestionnaireError(f"question {question.id!r}: none of the reference answers "
                                 f"({', '.join(sorted(answers))}) matches a choice; list them in reference.answers")
    unmatched = [c for j, c in enumerate(question.choices) if j not in set(index.values())]
    if unmatched:
        raise QuestionnaireError(f"question {question.id!r}: choice(s) {unmatched} match no reference answer "
                                 f"({', '.join(sorted(answers))}); list the table's labels in reference.answers")
    return index
