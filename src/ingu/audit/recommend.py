"""Use recommendations derived from the verdicts, in the spirit of the paper's Table 10.

Each downstream task depends on some axes; a task is recommended only as far as the axes it rests
on passed. A skipped axis is "not audited", never silently fine.
"""

from __future__ import annotations

from typing import Any

from ingu.audit.axes.base import AxisResult

TASKS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Occupation-by-sex labour-market statistics", ("sex_x_occupation",), "occupational sex segregation"),
    ("Labour-force slices by sex and age", ("sex_x_age_x_lfp",), "participation by sex × age"),
    ("Military / institutional life-course analyses", ("sex_x_age_x_military",), "active duty by sex × age"),
    ("Major-by-occupation graduate analytics", ("major_x_occupation",), "field → occupation"),
    ("Name-based cohort cues (name ↔ age)", ("birthyear_x_sex_x_name",), "names by birth cohort"),
    ("Marital-status analyses by sex", ("sex_x_marital",), "marital status by sex"),
)
ALL_AXES = tuple(axis for _, axes, _ in TASKS for axis in axes)


def recommendations(axes: list[AxisResult], privacy: dict[str, Any], text: dict[str, Any] | None) -> list[dict[str, str]]:
    """The recommendation table: task, recommendation, reason."""
    by_id = {a.id: a for a in axes}
    out = [{"task": "Pipeline stress-testing, prompt scaffolding, persona-diversity sampling", "recommendation": "USE",
            "reason": "needs only plausible records; see the marginal baseline for the demographic spine"}]
    for task, needed, what in TASKS:
        verdicts = [by_id[a].verdict if a in by_id else "skip" for a in needed]
        if "flag" in verdicts:
            out.append({"task": task, "recommendation": "DO NOT USE", "reason": f"{what} flagged: {by_id[needed[0]].reason}"})
        elif "skip" in verdicts:
            out.append({"task": task, "recommendation": "NOT AUDITED", "reason": f"{what} could not be checked"})
        else:
            out.append({"task": task, "recommendation": "USE", "reason": f"{what} matches the official reference"})
    flagged = [a.id for a in axes if a.verdict == "flag"]
    micro = next((s for s in reversed(privacy.get("sets", [])) if s.get("records_below_k")), None)
    caution = []
    if flagged:
        caution.append(f"flagged joints ({', '.join(flagged)})")
    if micro:
        caution.append(f"{micro['records_below_k']:,} records in micro-cohorts (< k) on {len(micro['qi'])} quasi-identifiers")
    out.append({"task": "Persona retrieval for agent simulation", "recommendation": "USE WITH CAUTION" if caution else "USE",
                "reason": "; ".join(caution) if caution else "all audited joints pass"})
    audited = [a for a in axes if a.id in ALL_AXES]
    all_pass = audited and all(a.verdict == "pass" for a in audited)
    out.append({"task": "Silicon-sample estimates of population rates or attitudes",
                "recommendation": "USE WITH CAUTION" if all_pass else "DO NOT SUBSTITUTE",
                "reason": "joints pass, but attitudes are not in any reference: weight to official margins and validate "
                          "against real surveys" if all_pass else "joints that estimates condition on are flagged or unaudited; "
                          "use official statistics or native surveys"})
    if text is not None and text.get("all_empty"):
        out.append({"task": "Fine-tuning on the narratives", "recommendation": "NOT AUDITED",
                    "reason": "the text columns are empty"})
    elif text is not None:
        problems = [k for k in ("pii_hits", "name_contradictions", "age_contradictions") if text.get(k)]
        out.append({"task": "Fine-tuning on the narratives", "recommendation": "USE WITH CAUTION" if problems else "USE",
                    "reason": ("text checks found " + ", ".join(f"{text[k]:,} {k.replace('_', ' ')}" for k in problems))
                    if problems else "no PII patterns; names and stated ages agree with the records"})
    return out
