"""`ingu network` and `ingu diffuse` end to end: files written, targets reported, bad input named."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ingu.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def personas(tmp_path_factory) -> Path:
    from ingu.model.build import load_model
    from ingu.sample.sampler import generate, plan

    path = tmp_path_factory.mktemp("net") / "personas.parquet"
    pq.write_table(pa.concat_tables(list(generate(plan(load_model()), 20_000, 5))), path)
    return path


def test_network_then_diffusion(personas: Path, tmp_path: Path) -> None:
    edges, graphml = tmp_path / "net.parquet", tmp_path / "net.graphml"
    result = runner.invoke(app, ["network", str(personas), "-o", str(edges), "--graphml", str(graphml),
                                 "--mean-degree", "8", "--target", "district=0.4", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "district target 0.4" in result.output and "20,000 nodes, 80,000 edges" in result.output
    assert edges.is_file() and graphml.is_file()
    again = tmp_path / "again.parquet"
    assert runner.invoke(app, ["network", str(personas), "-o", str(again), "--mean-degree", "8",
                               "--target", "district=0.4", "--seed", "3"]).exit_code == 0
    assert pq.read_table(again).select(["src", "dst"]).equals(pq.read_table(edges).select(["src", "dst"]))

    out = tmp_path / "diffusion"
    result = runner.invoke(app, ["diffuse", str(edges), "--personas", str(personas), "--model", "sir", "--beta",
                                 "0.1", "--steps", "30", "--out", str(out), "--group-by", "sex,age_band"])
    assert result.exit_code == 0, result.output
    curves = pl.read_parquet(out / "curves.parquet")
    assert curves["step"].max() == 30 and {"all", "sex", "age_band"} <= set(curves["group_var"].to_list())
    assert (out / "adoption_by_sex.svg").is_file()


def test_bad_network_and_diffusion_input_is_named(personas: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["network", str(personas), "-o", str(tmp_path / "n.parquet"), "--target", "agee=0.3"])
    assert result.exit_code == 2 and "assortativity.agee: unknown attribute" in result.output
    result = runner.invoke(app, ["network", str(personas), "-o", str(tmp_path / "n.parquet"), "--target", "age=x"])
    assert result.exit_code == 2 and "not a number" in result.output
    edges = tmp_path / "n.parquet"
    assert runner.invoke(app, ["network", str(personas), "-o", str(edges)]).exit_code == 0
    result = runner.invoke(app, ["diffuse", str(edges), "--model", "bass"])
    assert result.exit_code == 2 and "unknown model 'bass'" in result.output
    result = runner.invoke(app, ["diffuse", str(edges), "--model", "ic", "--beta", "0.2"])
    assert result.exit_code == 2 and "unknown parameter 'beta'" in result.output


def test_survey_with_the_openai_backend_counts_failures_and_reruns_from_cache(personas: Path, tmp_path: Path,
                                                                                monkeypatch) -> None:
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from fake_survey_server import FakeSurveyServer

    monkeypatch.setenv("SURVEY_KEY", "sk-secret-123")
    form = tmp_path / "form.yaml"
    form.write_text("id: t\nquestions:\n"
                    "  - {id: Q1, type: likert, text: '삶에 만족하십니까?', choices: [매우 만족, 만족, 불만족, 매우 불만족]}\n"
                    "  - {id: Q2, type: numeric, text: '0에서 10 사이로 답해 주십시오.', min: 0, max: 10}\n",
                    encoding="utf-8")
    out = tmp_path / "survey"
    args = ["survey", str(form), "--personas", str(personas), "-n", "40", "--backend", "openai", "--out", str(out),
            "--model", "fake", "--api-key-env", "SURVEY_KEY", "--max-retries", "1", "--timeout", "5",
            "--cache", str(tmp_path / "answers.sqlite")]
    with FakeSurveyServer(script=["429:0.1", "500"] + ["ok"] * 50 + ["garbage"] * 4, api_key="sk-secret-123",
                          logprobs=False) as server:
        result = runner.invoke(app, [*args, "--base-url", server.url])
        assert result.exit_code == 0, result.output
        first = len(server.log)
        again = runner.invoke(app, [*args, "--base-url", server.url, "--out", str(tmp_path / "again")])
        assert again.exit_code == 0, again.output
        assert len(server.log) == first  # every answer came from the cache
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    for qid in ("Q1", "Q2"):
        statuses = manifest["answers"][qid]["statuses"]
        assert sum(statuses.values()) == 40  # every respondent answered or listed as failed
    assert sum(manifest["answers"][q]["retries"] for q in ("Q1", "Q2")) >= 1, manifest["answers"]
    answers = pq.read_table(out / "answers.parquet")
    failed = [e for s, e in zip(answers["Q1__status"].to_pylist(), answers["Q1__error"].to_pylist()) if s == "failed"]
    assert all(failed)  # a failure carries its error
    assert "sk-secret-123" not in (out / "manifest.json").read_text("utf-8") + result.output
