"""Silicon surveys with the offline ``model`` backend: questionnaires, sampling, raking, estimates, planted-model
recovery, validation against the shipped KGSS results, and ``ingu survey``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ingu.cli import app
from ingu.simulate.estimate import estimate, wilson_interval
from ingu.simulate.groups import group_labels
from ingu.simulate.model_backend import ModelSurveyBackend, ResponseModel, fit_response_model
from ingu.simulate.questionnaire import QuestionnaireError, load_questionnaire, parse_questionnaire
from ingu.simulate.sampling import SamplingError, draw_sample
from ingu.simulate.survey import run_survey
from ingu.simulate.validation import jsd, noise_floor, ordinal_wasserstein, total_variation
from ingu.simulate.weights import WeightingError, population_margins, rake, reference_margins

runner = CliRunner()
KGSS = Path(__file__).resolve().parents[1] / "src" / "ingu" / "simulate" / "questionnaires" / "kgss_2016.yaml"
AGE_BANDS = ["18-29", "30-39", "40-49", "50-59", "60-69", "70+"]


@pytest.fixture(scope="module")
def population() -> pa.Table:
    from ingu.model.build import load_model
    from ingu.sample.sampler import generate, plan

    return pa.concat_tables(list(generate(plan(load_model()), 60_000, 11)))


def likert(qid: str = "Q1", k: int = 4) -> dict:
    return {"id": qid, "type": "likert", "text": "질문", "choices": [f"선택{i}" for i in range(k)]}


# -- questionnaires -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("question, message", [
    ({"id": "Q1", "type": "rating", "text": "질문", "choices": ["a", "b"]}, "question 'Q1' (#1): unknown type 'rating'"),
    ({"id": "Q1", "type": "single", "text": "질문", "choices": []}, "question 'Q1' (#1): a single question needs at least 2"),
    ({"id": "Q1", "type": "likert", "text": "질문", "choices": ["a", "a"]}, "question 'Q1' (#1): repeated choice(s): 'a'"),
    ({"id": "Q1", "type": "likert", "text": "질문", "choices": ["a", " "]}, "question 'Q1' (#1): choice #2 is empty"),
    ({"id": "Q1", "type": "numeric", "text": "질문", "min": 5, "max": 1}, "question 'Q1' (#1): min (5) must be below max (1)"),
    ({"id": "Q1", "type": "numeric", "text": "질문"}, "question 'Q1' (#1): a numeric question needs min and max"),
    ({"id": "Q1", "type": "multi", "text": "질문", "choices": ["a", "b"], "max_choices": 3},
     "question 'Q1' (#1): max_choices must be between 1 and 2"),
    ({"id": "Q1", "type": "likert", "text": "질문", "choices": ["a", "b"], "colour": "red"},
     "question 'Q1' (#1): unknown field 'colour'"),
    ({"id": "Q1", "type": "likert", "choices": ["a", "b"]}, "question 'Q1' (#1): missing field 'text'"),
    ({"type": "likert", "text": "질문", "choices": ["a", "b"]}, "question #1: missing field 'id'"),
    ({"id": "Q1", "type": "likert", "text": "질문", "choices": ["a", "b"], "off_scale": ["c"]},
     "question 'Q1' (#1): off_scale lists ['c']"),
])
def test_bad_questions_are_named_in_the_error(question: dict, message: str) -> None:
    with pytest.raises(QuestionnaireError) as info:
        parse_questionnaire({"id": "t", "questions": [question]}, source="form.yaml")
    assert str(info.value).startswith("form.yaml: ") and message in str(info.value), str(info.value)


def test_duplicate_ids_name_both_positions() -> None:
    with pytest.raises(QuestionnaireError, match=r"question 'Q1' \(#3\): duplicate id \(also question #1\)"):
        parse_questionnaire({"id": "t", "questions": [likert("Q1"), likert("Q2"), likert("Q1")]})


def test_yaml_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: t\nquestions:\n  - id: Q1\n    type: [likert\n", encoding="utf-8")
    with pytest.raises(QuestionnaireError, match=r"bad\.yaml: line \d+, column \d+ not valid YAML"):
        load_questionnaire(bad)
    with pytest.raises(QuestionnaireError, match="no such questionnaire file"):
        load_questionnaire(tmp_path / "missing.yaml")


def test_shipped_kgss_questionnaire_links_every_question_to_real_results() -> None:
    form = load_questionnaire(KGSS)
    assert [q.id for q in form.questions] == ["SATFIN", "CONFINAN", "CONLEGIS", "PARTYLR", "NORTHWHO", "UNIFI",
                                               "KRPROUD"]
    for q in form.questions:
        assert q.reference is not None and str(q.reference.year) == "2016"
        assert q.model is not None and q.model.groups == ["sex", "age_band"]
        assert "모르겠다" in q.choices


# -- sampling and weights ---------------------------------------------------------------------------------------

def test_stratified_sample_is_proportional_exact_and_seeded(population: pa.Table) -> None:
    idx = draw_sample(population, 3000, seed=5)
    assert len(idx) == 3000 and len(np.unique(idx)) == 3000 and idx.max() < population.num_rows
    assert np.array_equal(idx, draw_sample(population, 3000, seed=5))
    assert not np.array_equal(idx, draw_sample(population, 3000, seed=6))
    sample = population.take(pa.array(idx))
    for var in ("sex", "age_band", "province"):
        full, part = population_margins(population, [var])[var], population_margins(sample, [var])[var]
        for level, share in full.items():
            # proportional allocation: each stratum within one respondent of its quota, summed over strata
            assert abs(part.get(level, 0) - share) < 0.01, (var, level)
    with pytest.raises(SamplingError, match="cannot draw"):
        draw_sample(population, population.num_rows + 1, seed=1)


def test_raking_meets_every_margin(population: pa.Table) -> None:
    sample = population.take(pa.array(draw_sample(population, 2000, seed=3, strata=())))
    targets = reference_margins()
    assert abs(sum(targets["province"].values()) - 1) < 1e-9 and len(targets["province"]) == 17
    weights, report = rake(sample, targets)
    assert report["converged"] and abs(weights.mean() - 1) < 1e-9
    for var, shares in targets.items():
        labels = group_labels(sample, var)
        for level, share in shares.items():
            assert abs(weights[labels == level].sum() / weights.sum() - share) < 1e-5, (var, level)
    no_jeju = sample.filter(pa.compute.not_equal(sample["province"], "제주"))
    weights, report = rake(no_jeju, targets)
    assert report["levels_without_respondents"] == {"province": ["제주"]} and report["converged"]
    labels = group_labels(no_jeju, "age_band")
    for level, share in targets["age_band"].items():  # the other margins are still met
        assert abs(weights[labels == level].sum() / weights.sum() - share) < 1e-5
    with pytest.raises(WeightingError, match="no respondent in any of its levels"):
        rake(no_jeju, {"province": {"제주": 1.0}})


def test_wilson_interval_matches_the_formula() -> None:
    low, high = wilson_interval(np.array([0.2]), np.array([100.0]))
    # Wilson 95 % for 20/100: 0.1333 – 0.2888
    assert low[0] == pytest.approx(0.1333, abs=1e-4) and high[0] == pytest.approx(0.2888, abs=1e-4)


# -- the model backend ------------------------------------------------------------------------------------------

def planted_model(k: int = 4) -> ResponseModel:
    """A main-effects model with strong, known sex and age effects."""
    sex_effect = np.array([[0.0, 0.8, -0.6, 0.3], [0.0, -0.8, 0.6, -0.3]])
    age_effect = np.linspace(-1, 1, len(AGE_BANDS))[:, None] * np.array([0.0, 0.5, -0.5, 1.0])
    logits = np.array([0.5, 0.2, 0.0, -0.8])[None, None, :] + sex_effect[:, None, :] + age_effect[None, :, :]
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return ResponseModel.from_probabilities(["sex", "age_band"], {"sex": ["남자", "여자"], "age_band": AGE_BANDS}, p)


def true_group_shares(model: ResponseModel, population: pa.Table) -> dict[tuple[str, str], np.ndarray]:
    probabilities = model.respondent_probabilities(population)
    out = {("total", "전체"): probabilities.mean(0)}
    for var in ("sex", "age_band"):
        labels = group_labels(population, var)
        for level in set(labels.tolist()):
            out[(var, level)] = probabilities[labels == level].mean(0)
    return out


def test_fit_recovers_a_planted_main_effects_model_from_its_margins(population: pa.Table) -> None:
    planted = planted_model()
    truth = true_group_shares(planted, population)
    targets = {var: {level: truth[(var, level)] for level in planted.levels[var]} for var in ("sex", "age_band")}
    counts = ModelSurveyBackend(population)._cell_counts(["sex", "age_band"], planted.levels)
    fitted = fit_response_model(targets, counts, ["sex", "age_band"], planted.levels)
    assert fitted.fit_report["converged"]
    assert np.abs(fitted.probabilities - planted.probabilities).max() < 1e-4


def test_planted_model_through_the_whole_pipeline_lands_inside_the_intervals(population: pa.Table,
                                                                              tmp_path: Path) -> None:
    planted = planted_model()
    form = parse_questionnaire({"id": "t", "questions": [likert("Q1")]})
    backend = ModelSurveyBackend(population, seed=2, models={"Q1": planted})
    run_survey(form, population, backend, tmp_path, n=4000, seed=2, margins="personas",
               group_vars=("total", "sex", "age_band"))
    estimates = pl.read_parquet(tmp_path / "estimates.parquet")

    def misses(model: ResponseModel) -> int:
        truth = true_group_shares(model, population)
        return sum(not row["low"] <= truth[(row["group_var"], row["group_value"])][int(row["answer"][2:])] <= row["high"]
                   for row in estimates.iter_rows(named=True))

    # 9 groups × 4 answers = 36 intervals at 95 %: P(more than 5 misses) ≈ 1 % for exact intervals; Kish
    # intervals ignore what raking removes, so they are if anything wider
    assert estimates.height == 36 and misses(planted) <= 5
    # and the check has power: the same model without its sex effect is rejected
    no_sex_effect = planted.probabilities.mean(0, keepdims=True).repeat(2, axis=0)
    assert misses(ResponseModel.from_probabilities(planted.group_vars, planted.levels, no_sex_effect)) > 5


def test_respondents_outside_the_model_fail_visibly(population: pa.Table) -> None:
    form = parse_questionnaire({"id": "t", "questions": [likert("Q1")]})
    partial = ResponseModel.from_probabilities(["sex"], {"sex": ["남자"]}, np.array([[0.25] * 4]))
    answers = ModelSurveyBackend(population, models={"Q1": partial}).answer(population.slice(0, 500), None,
                                                                           form.questions[0])
    women = np.array(population.slice(0, 500)["sex"].to_pylist()) == "여자"
    assert (answers.status[women] == "failed").all() and (answers.choice[women] == -1).all()
    assert all("outside the model" in answers.error[i] for i in np.flatnonzero(women))
    assert (answers.status[~women] == "ok").all()
    weights = np.ones(500)
    frame = estimate(answers, population.slice(0, 500), weights, group_vars=("total",))
    assert frame["failed"].to_list() == [int(women.sum())] * 4
    assert frame["respondents"].to_list() == [int((~women).sum())] * 4


# -- validation -------------------------------------------------------------------------------------------------

def test_metrics() -> None:
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.0, 0.0, 1.0])
    assert jsd(p, p) == 0 and jsd(p, q) == pytest.approx(1.0) and jsd(p, q) == jsd(q, p)
    assert total_variation(p, q) == 1.0
    assert ordinal_wasserstein(np.array([1.0, 0, 0]), np.array([0, 0, 1.0])) == 1.0
    assert ordinal_wasserstein(np.array([1.0, 0, 0]), np.array([0, 1.0, 0])) == 0.5
    form = parse_questionnaire({"id": "t", "questions": [likert("Q1", 3)]})
    small = noise_floor(form.questions[0], np.array([0.2, 0.5, 0.3]), 100)["jsd"]
    large = noise_floor(form.questions[0], np.array([0.2, 0.5, 0.3]), 10_000)["jsd"]
    assert 0 < large < small / 50  # JSD of sampling noise shrinks like 1/n


def test_model_backend_beats_the_baselines_on_held_out_kgss_margins(population: pa.Table, tmp_path: Path) -> None:
    """Fitted to KGSS 2014 by sex and age band (recalibrated to the 2016 national total), validated against KGSS
    2016 by sex and age band, which it never saw."""
    form = load_questionnaire(KGSS)
    manifest = run_survey(form, population, ModelSurveyBackend(population, seed=1), tmp_path, n=20_000, seed=1,
                          validate=True, group_vars=("total", "sex", "age_band"))
    validation = {v["question_id"]: v for v in json.loads((tmp_path / "validation.json").read_text("utf-8"))}
    assert set(validation) == {q.id for q in form.questions}
    assert validation["SATFIN"]["summary"]["held_out_groups"] == 0  # fitted to 2016 itself: nothing held out
    held_out = [v for v in validation.values() if v["summary"]["held_out_groups"]]
    assert len(held_out) == 6 and all(v["summary"]["held_out_groups"] == 8 for v in held_out)
    assert all(v["verdict"]["beats_uniform"] for v in held_out)
    # the like-for-like baseline: 2014's national distribution for every group (the same data, no group effects)
    assert all(v["verdict"]["beats_fit_marginal"] for v in held_out)
    # the 2016 national distribution knows the validation year; group effects must still win most of the time
    assert sum(v["verdict"]["beats_marginal"] for v in held_out) >= 4
    assert "NOT beaten" in (tmp_path / "validation.md").read_text("utf-8") or \
        all(v["verdict"]["beats_marginal"] for v in held_out)
    assert manifest["verdicts"]["PARTYLR"].startswith("PARTYLR: on 8 held-out group margins")


def test_cli_survey_writes_everything_and_names_bad_questions(population: pa.Table, tmp_path: Path) -> None:
    personas = tmp_path / "personas.parquet"
    pq.write_table(population.slice(0, 20_000), personas)
    out = tmp_path / "survey"
    result = runner.invoke(app, ["survey", "kgss_2016", "--personas", str(personas), "-n", "2000", "--validate",
                                 "--out", str(out), "--seed", "4"])
    assert result.exit_code == 0, result.output
    for name in ("answers.parquet", "estimates.parquet", "estimates.csv", "validation.json", "validation.md",
                 "manifest.json", "charts/PARTYLR.svg"):
        assert (out / name).is_file(), name
    answers = pq.read_table(out / "answers.parquet")
    assert answers.num_rows == 2000 and {"uuid", "weight", "PARTYLR", "PARTYLR__status"} <= set(answers.column_names)
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["sample"]["n"] == 2000 and manifest["answers"]["UNIFI"]["statuses"] == {"ok": 2000}
    assert "<svg" in (out / "charts" / "UNIFI.svg").read_text("utf-8")

    bad = tmp_path / "bad.yaml"
    bad.write_text("id: t\nquestions:\n  - {id: A, type: likert, text: 질문, choices: [가, 나]}\n"
                   "  - {id: A, type: likert, text: 질문, choices: [가, 나]}\n", encoding="utf-8")
    result = runner.invoke(app, ["survey", str(bad), "--personas", str(personas), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "question 'A' (#2): duplicate id" in result.output
    result = runner.invoke(app, ["survey", "kgss_2016", "--personas", str(personas), "--backend", "gpt"])
    assert result.exit_code == 2 and "unknown backend 'gpt'" in result.output
