"""A silicon survey run: sample personas, ask every question, weight, estimate, validate, write.

``run_survey`` is what ``ingu survey`` calls. Its output folder::

    answers.parquet       one row per respondent: uuid, group columns, weight, and per question the answer,
                          <id>__status, <id>__method, <id>__error (nothing dropped: failures are rows too)
    estimates.parquet/.csv weighted shares (means for numeric questions) overall and by group, with intervals
    validation.json/.md   per question and group: metrics vs the real survey, noise floor, baselines, verdict
                          (with --validate, for questions that have a reference)
    charts/<id>.svg       one chart per estimated question: overall shares with intervals (+ the real ones)
    manifest.json         questionnaire, personas file, sample design, weighting, backend, counts per question

Every file is written atomically; the manifest last.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from ingu.io.writers import write_file_atomic, write_text_atomic
from ingu.simulate.backend import SurveyBackend
from ingu.simulate.estimate import DEFAULT_GROUPS, estimate
from ingu.simulate.groups import SOURCE_COLUMNS
from ingu.simulate.questionnaire import Questionnaire
from ingu.simulate.sampling import DEFAULT_STRATA, draw_sample
from ingu.simulate.validation import validate_question
from ingu.simulate.weights import RAKING_VARS, population_margins, rake, reference_margins

MANIFEST_FORMAT = "ingu.survey_manifest/1"
#: Narrative fields handed to LLM backends as context when the personas file has them.
CONTEXT_FIELDS: tuple[str, ...] = ("persona", "professional_persona", "family_persona", "cultural_background")


def sample_columns(available: Sequence[str], *, needs_personas: bool) -> list[str]:
    """Columns to read from the personas file: what groups and weights need (+ everything for prompting)."""
    if needs_personas:
        return list(available)
    wanted = {"uuid", *(c for cols in SOURCE_COLUMNS.values() for c in cols)}
    return [c for c in available if c in wanted]


def run_survey(questionnaire: Questionnaire, population: pa.Table, backend: SurveyBackend, out_dir: str | Path, *,
               n: int, seed: int = 0, strata: Sequence[str] = DEFAULT_STRATA, margins: str = "reference",
               validate: bool = False, group_vars: Sequence[str] = DEFAULT_GROUPS,
               personas_source: str = "personas", on_question=None) -> dict[str, Any]:
    """Run the survey (see the module docstring) and return the manifest.

    Parameters
    ----------
    population : pa.Table
        The persona records to sample from (a whole file, or the columns :func:`sample_columns` names).
    margins : {"reference", "personas"}
        Where the raking margins come from (:mod:`ingu.simulate.weights`).
    on_question : callable, optional
        ``on_question(index, total, question_id)`` before each question, for progress display.
    """
    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "charts").mkdir(exist_ok=True)
    indices = draw_sample(population, n, seed, strata=strata)
    sample = population.take(pa.array(indices))
    rake_vars = [v for v in RAKING_VARS if all(c in sample.column_names for c in SOURCE_COLUMNS[v])]
    targets = (reference_margins(rake_vars, min_age=int(pa.compute.min(population["age"]).as_py()))
               if margins == "reference" else population_margins(population, rake_vars))
    weights, weighting = rake(sample, targets)
    personas = _personas(sample) if getattr(backend, "needs_personas", backend.name != "model") else None

    columns: dict[str, pa.Array] = {}
    if "uuid" in sample.column_names:
        columns["uuid"] = sample.column("uuid").combine_chunks()
    for name in ("sex", "age", "province", "education_level"):
        if name in sample.column_names:
            columns[name] = sample.column(name).combine_chunks()
    columns["weight"] = pa.array(weights)
    estimates_frames, validation, counts = [], [], {}
    for i, question in enumerate(questionnaire.questions):
        if on_question:
            on_question(i, len(questionnaire.questions), question.id)
        answers = backend.answer(sample, personas, question)
        if answers.n != sample.num_rows:
            raise RuntimeError(f"backend {backend.name} returned {answers.n} answers for {sample.num_rows} "
                               f"respondents to {question.id}")
        counts[question.id] = answers.counts()
        columns[question.id] = answers.column()
        columns[f"{question.id}__status"] = pa.array(answers.status.tolist(), pa.string())
        columns[f"{question.id}__method"] = pa.array(answers.method.tolist(), pa.string())
        columns[f"{question.id}__error"] = pa.array(answers.error, pa.string())
        frame = estimate(answers, sample, weights, group_vars=group_vars)
        estimates_frames.append(frame)
        fitted = getattr(backend, "models", {}).get(question.id) if backend.name == "model" else None
        if validate and question.reference is not None:
            result = validate_question(question, frame, fitted=question.model if fitted is not None else None,
                                       seed=seed)
            if result is not None:
                validation.append(result)
        write_text_atomic(out / "charts" / f"{_safe(question.id)}.svg", _chart(question, frame, validation))

    estimates = pl.concat(estimates_frames) if estimates_frames else pl.DataFrame()
    write_file_atomic(out / "answers.parquet", lambda tmp: pq.write_table(pa.table(columns), tmp))
    write_file_atomic(out / "estimates.parquet", lambda tmp: pq.write_table(estimates.to_arrow(), tmp))
    write_text_atomic(out / "estimates.csv", estimates.write_csv())
    if validate:
        write_text_atomic(out / "validation.json", json.dumps(validation, ensure_ascii=False, indent=1, default=_json))
        write_text_atomic(out / "validation.md", validation_markdown(validation))
    manifest = {
        "format": MANIFEST_FORMAT, "questionnaire": {"id": questionnaire.id, "source": questionnaire.source,
                                                     "questions": [q.id for q in questionnaire.questions]},
        "personas": {"source": personas_source, "rows": population.num_rows},
        "sample": {"n": int(sample.num_rows), "seed": seed, "strata": list(strata), "design": "stratified "
                   "proportional" if strata else "simple random"},
        "weighting": {"margins": margins, **weighting}, "backend": backend.describe(), "answers": counts,
        "validated": [v["question_id"] for v in validation],
        "verdicts": {v["question_id"]: v["verdict"]["text"] for v in validation},
        "overall_verdict": overall_verdict(validation),
        "seconds": round(time.perf_counter() - started, 3),
    }
    write_text_atomic(out / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1, default=_json))
    return manifest


def validation_markdown(validation: list[dict[str, Any]]) -> str:
    """The validation as a Markdown report: verdicts, then a table per question."""
    lines = ["# Silicon survey validation", "",
             "Mean over held-out group margins (total excluded). Lower is better; the noise floor is what a "
             "perfect simulator would score against a survey of the real group sizes.", ""]
    overall = overall_verdict(validation)
    if overall:
        lines += [f"**Overall:** {overall}", ""]
    for v in validation:
        lines += [f"- {v['verdict']['text']}"]
    for v in validation:
        s = v["summary"]
        lines += ["", f"## {v['question_id']}", "",
                  f"reference: {v['reference']}; fitted to: {v['fitted_to'] or 'nothing (not a fitted model)'}", "",
                  "| comparator | JSD | TV | Wasserstein |", "|---|---|---|---|"]
        for who in ("backend", "noise_floor", "uniform", "marginal", "fit_marginal"):
            if any(s[who][m] is not None for m in ("jsd", "tv", "wasserstein")):
                lines.append(f"| {who} | " + " | ".join("–" if s[who][m] is None else f"{s[who][m]:.4f}"
                                                         for m in ("jsd", "tv", "wasserstein")) + " |")
        if s["entropy_ratio"] is not None:
            lines += ["", f"entropy ratio (simulated / real): {s['entropy_ratio']:.3f}"]
        for var, r in v["rank_agreement"].items():
            rho = "–" if r["spearman"] is None else f"{r['spearman']:.2f}"
            lines.append(f"rank agreement by {var} ({r['groups']} groups, {r['score']}): Spearman {rho}")
        lines += ["", "| group | n | JSD | floor | marginal | uniform |", "|---|---|---|---|---|---|"]
        for g in v["groups"]:
            lines.append("| {} = {} | {} | {:.4f} | {} | {} | {:.4f} |".format(
                g["group_var"], g["group_value"], g["n"] or "–", g["backend"]["jsd"],
                "–" if g["noise_floor"]["jsd"] is None else f"{g['noise_floor']['jsd']:.4f}",
                f"{g['marginal']['jsd']:.4f}" if "marginal" in g else "–", g["uniform"]["jsd"]))
    return "\n".join(lines) + "\n"


def overall_verdict(validation: list[dict[str, Any]]) -> str | None:
    """One sentence over every question with held-out margins: mean JSD of the backend and the baselines."""
    held = [v["summary"] for v in validation if v["summary"]["held_out_groups"] and v["summary"]["backend"]["jsd"]
            is not None]
    if not held:
        return None
    mean = {who: float(np.mean([h[who]["jsd"] for h in held])) for who in ("backend", "uniform")}
    with_marginal = [h for h in held if h["marginal"]["jsd"] is not None]
    text = (f"across {len(held)} question(s) with held-out group margins, mean JSD {mean['backend']:.4f} vs "
            f"uniform {mean['uniform']:.4f}")
    if with_marginal:
        backend = float(np.mean([h["backend"]["jsd"] for h in with_marginal]))
        marginal = float(np.mean([h["marginal"]["jsd"] for h in with_marginal]))
        wins = sum(h["backend"]["jsd"] < h["marginal"]["jsd"] for h in with_marginal)
        text += (f" and national marginal {marginal:.4f} (backend {backend:.4f} on those); the backend beats the "
                 f"national marginal on {wins} of {len(with_marginal)} question(s) and "
                 f"{'beats' if backend < marginal else 'does NOT beat'} it on average")
    return text + "."


def _personas(sample: pa.Table) -> list[dict[str, Any]]:
    from ingu.narrate.persona import build_personas

    personas = build_personas(sample, source="personas")
    for name in CONTEXT_FIELDS:
        if name in sample.column_names:
            for persona, text in zip(personas, sample.column(name).to_pylist()):
                persona[name] = text or ""
    return personas


def _chart(question, frame: pl.DataFrame, validation: list[dict[str, Any]]) -> str:
    from ingu.audit.charts import render_svg

    total = frame.filter(pl.col("group_var") == "total")
    if question.type in ("single", "likert", "multi"):
        categories = total["answer"].to_list()
        series = [{"name": "simulated (weighted)", "values": total["estimate"].to_list(),
                   "low": total["low"].to_list(), "high": total["high"].to_list()}]
        real = next((v for v in validation if v["question_id"] == question.id), None)
        if real is not None:
            national = next((g for g in real["groups"] if g["group_var"] == "total"), None)
            if national is not None:
                series.append({"name": f"real ({real['reference'].get('year')})", "values": national["real"]})
        chart = {"kind": "bar", "title": f"{question.id}: {question.text[:60]}", "categories": categories,
                 "series": series, "x_label": "", "y_label": "share", "unit": "share"}
    elif question.type == "numeric":
        by_age = frame.filter(pl.col("group_var").is_in(["total", "age_band"]))
        chart = {"kind": "bar", "title": f"{question.id}: mean", "unit": question.unit or "",
                 "categories": by_age["group_value"].to_list(),
                 "series": [{"name": "weighted mean", "values": by_age["estimate"].to_list(),
                             "low": by_age["low"].to_list(), "high": by_age["high"].to_list()}]}
    else:
        chart = {"kind": "bar", "title": f"{question.id}: open answers (not estimated)", "categories": [],
                 "series": []}
    return render_svg(chart, standalone=True)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def _json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
