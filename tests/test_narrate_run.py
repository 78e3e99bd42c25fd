"""A narration run: failing fields are retried with feedback, then replaced by the template narrator;
every retry and fallback is counted and flagged on its row; a killed file run resumes without
duplicates or gaps; the CLI writes narrated files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ingu.cli import app
from ingu.narrate.base import Draft, NarratorError, Request
from ingu.narrate.fields import FIELDS
from ingu.narrate.job import manifest_path, narrate_file, parts_dir
from ingu.narrate.run import NARRATION_COLUMNS, NarrationRun
from ingu.narrate.template import TemplateNarrator

FIXTURE = Path(__file__).parent / "fixtures" / "npk_sample_rows.jsonl"


@pytest.fixture(scope="module")
def records() -> pa.Table:
    from ingu.model.build import load_model
    from ingu.sample.sampler import generate, plan

    from ingu.narrate.persona import build_personas
    from ingu.narrate.validate import Validator

    table = pa.concat_tables(list(generate(plan(load_model()), 700, 11)))
    # keep rows whose scripted texts are clean, so every retry and fallback below is one the script caused
    narrator, validator = TemplateNarrator(seed=99), Validator()
    clean = [not any(validator.check(p, narrator.render(p, attempt), remember=False) for attempt in (10, 11))
             for p in build_personas(table)]
    return table.filter(pa.array(clean)).slice(0, 600)


class Scripted:
    """A backend that wraps the template narrator and misbehaves on a script:

    - rows with index % 3 == 0: the first attempt states a wrong age in ``persona`` (fixed on retry);
    - rows with index % 7 == 0: every attempt returns an error (→ fallback for every field);
    - everything else: the template narrator's text, attempt shifted so it differs from the fallback's.
    """

    name = "scripted"

    def __init__(self, index_of: dict[str, int]) -> None:
        self.inner = TemplateNarrator(seed=99)
        self.index_of = index_of
        self.calls: list[tuple[int, tuple[str, ...], int, tuple[str, ...]]] = []

    def describe(self) -> dict:
        return {"backend": self.name}

    def draft(self, requests: Sequence[Request]) -> list[Draft]:
        out = []
        for r in requests:
            i = self.index_of[r.persona["uuid"]]
            self.calls.append((i, r.fields, r.attempt, r.feedback))
            if i % 7 == 0:
                out.append(Draft(error="HTTP 500: scripted failure"))
                continue
            texts = self.inner.render(dict(r.persona), r.attempt + 10)
            if i % 3 == 0 and r.attempt == 0:
                age = r.persona["age"]
                texts["persona"] = f"{r.persona['name']} 씨는 올해 {age + 9}세가 된 사람으로, 매일 아침 동네를 걸으며 하루를 계획합니다."
            out.append(Draft(texts={f: texts[f] for f in r.fields}, completion_tokens=10 * len(r.fields)))
        return out

    def close(self) -> None:
        pass


def test_retries_fallbacks_and_flags_are_exact(records: pa.Table) -> None:
    uuids = records.column("uuid").to_pylist()
    backend = Scripted({u: i for i, u in enumerate(uuids)})
    run = NarrationRun(backend, fallback=TemplateNarrator(seed=1), max_retries=2, batch_size=128)
    out = run.narrate_table(records)
    assert out.num_rows == records.num_rows
    assert out.column_names[-4:] == list(NARRATION_COLUMNS)
    status = out.column("narration_status").to_pylist()
    n = records.num_rows
    always_failing = [i for i in range(n) if i % 7 == 0]
    retried_once = [i for i in range(n) if i % 3 == 0 and i % 7 != 0]
    assert [i for i in range(n) if status[i] == "fallback"] == always_failing
    assert [i for i in range(n) if status[i] == "retried"] == retried_once
    assert status.count("ok") == n - len(always_failing) - len(retried_once)
    assert status.count("failed") == 0
    retries = out.column("narration_retries").to_pylist()
    assert all(retries[i] == 2 for i in always_failing) and all(retries[i] == 1 for i in retried_once)
    fallback_fields = out.column("narration_fallback_fields").to_pylist()
    assert all(fallback_fields[i] == ",".join(FIELDS) for i in always_failing)
    assert all(fallback_fields[i] == "" for i in range(n) if i % 7)
    # the retry asked for the failed field only, and said why
    retry_calls = [c for c in backend.calls if c[2] == 1 and c[0] % 7]
    assert {c[1] for c in retry_calls} == {("persona",)}
    assert all(any("age_mismatch" in line for line in c[3]) for c in retry_calls)
    counts = run.counts.as_dict()
    assert counts["rows"] == n
    assert counts["fallback_fields"] == len(always_failing) * len(FIELDS)
    assert counts["retried_fields"] == len(retried_once) + 2 * len(always_failing) * len(FIELDS)
    assert counts["findings"] == {"age_mismatch": len(retried_once)}
    assert counts["backend_errors"] == {"http 500": 3 * len(always_failing)}
    assert counts["statuses"] == {"fallback": len(always_failing), "ok": status.count("ok"),
                                  "retried": len(retried_once)}
    # every text is non-empty, and the fallback rows carry the template narrator's text
    for f in FIELDS:
        assert all(out.column(f).to_pylist())
    fallback_text = TemplateNarrator(seed=1).render(_persona(records, 0))["persona"]
    assert out.column("persona")[0].as_py() == fallback_text


def _persona(records: pa.Table, i: int) -> dict:
    from ingu.narrate.persona import build_personas

    return build_personas(records.slice(i, 1))[0]


class Killer(TemplateNarrator):
    """The template narrator, interrupted (as by Ctrl-C) on its ``kill_at``-th batch."""

    def __init__(self, kill_at: int | None) -> None:
        super().__init__(seed=5)
        self.kill_at = kill_at
        self.batches = 0

    def draft(self, requests):
        self.batches += 1
        if self.kill_at is not None and self.batches == self.kill_at:
            raise KeyboardInterrupt
        return super().draft(requests)


def test_killed_file_run_resumes_without_duplicates_or_gaps(records: pa.Table, tmp_path: Path) -> None:
    source = tmp_path / "records.parquet"
    pq.write_table(records, source)
    out = tmp_path / "narrated.parquet"
    with pytest.raises(KeyboardInterrupt):
        narrate_file(source, out, NarrationRun(Killer(kill_at=4), batch_size=100), row_group_size=150)
    assert not out.exists()
    manifest = json.loads((parts_dir(out) / "manifest.json").read_text())
    assert sorted(manifest["done"]) == ["0"]  # group 0 = batches 1–2, group 1 died in batch 4
    resumed = Killer(kill_at=None)
    final = narrate_file(source, out, NarrationRun(resumed, batch_size=100), row_group_size=150)
    assert resumed.batches == 6  # groups 1–3 only (two batches each)
    assert not parts_dir(out).exists() and manifest_path(out).is_file()
    assert final["counts"]["rows"] == records.num_rows
    got = pq.read_table(out)
    clean = tmp_path / "clean.parquet"
    narrate_file(source, clean, NarrationRun(Killer(kill_at=None), batch_size=100), row_group_size=150)
    assert got.column("uuid").to_pylist() == records.column("uuid").to_pylist()
    assert got.equals(pq.read_table(clean))


def test_checkpoints_of_another_run_are_refused_unless_restart(records: pa.Table, tmp_path: Path) -> None:
    source = tmp_path / "records.parquet"
    pq.write_table(records, source)
    out = tmp_path / "narrated.parquet"
    with pytest.raises(KeyboardInterrupt):
        narrate_file(source, out, NarrationRun(Killer(kill_at=3), batch_size=100), row_group_size=150)
    with pytest.raises(NarratorError, match="other settings"):
        narrate_file(source, out, NarrationRun(Killer(kill_at=None), max_retries=0, batch_size=100),
                     row_group_size=150)
    narrate_file(source, out, NarrationRun(Killer(kill_at=None), max_retries=0, batch_size=100),
                 row_group_size=150, restart=True)
    assert pq.read_table(out).num_rows == records.num_rows


runner = CliRunner()


def test_cli_generate_narrates_with_the_template_by_default(tmp_path: Path) -> None:
    out = tmp_path / "p.parquet"
    result = runner.invoke(app, ["generate", "-n", "300", "--seed", "2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.num_rows == 300
    for f in FIELDS:
        assert all(table.column(f).to_pylist()), f
    assert set(table.column("narration_status").to_pylist()) <= {"ok", "retried"}
    manifest = json.loads(manifest_path(out).read_text())
    assert manifest["counts"]["rows"] == 300 and manifest["extra"]["generate"]["seed"] == 2
    assert not parts_dir(out).exists()


def test_cli_narrate_rewrites_an_npk_file(tmp_path: Path) -> None:
    out = tmp_path / "npk_narrated.jsonl"
    result = runner.invoke(app, ["narrate", str(FIXTURE), "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    original = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
    assert [r["uuid"] for r in rows] == [r["uuid"] for r in original]
    for new, old in zip(rows, original):
        name = old["professional_persona"].split(" 씨")[0]
        assert new["professional_persona"].startswith(name + " 씨")
        assert new["professional_persona"] != old["professional_persona"]
        assert new["age"] == old["age"] and new["occupation"] == old["occupation"]


def test_cli_narrate_reports_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"sex": "남자", "age": 30}, ensure_ascii=False) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["narrate", str(bad), "-o", str(tmp_path / "o.parquet")])
    assert result.exit_code == 2
    assert "bad.jsonl" in result.output and "marital_status" in result.output
    result = runner.invoke(app, ["narrate", str(FIXTURE), "-o", str(tmp_path / "o.parquet"), "--narrator", "gpt"])
    assert result.exit_code == 2 and "unknown narrator" in result.output
    result = runner.invoke(app, ["narrate", str(FIXTURE), "-o", str(tmp_path / "o.parquet"), "--narrator", "openai"])
    assert result.exit_code == 2 and "--base-url" in result.output


def test_template_narration_in_two_processes_matches_one(records: pa.Table) -> None:
    one = NarrationRun(TemplateNarrator(seed=4), batch_size=100).narrate_table(records)
    two_run = NarrationRun(TemplateNarrator(seed=4), batch_size=100, workers=2)
    two = two_run.narrate_table(records)
    assert two.equals(one)
    assert two_run.counts.rows == records.num_rows
    # the parent registered every text: a second pass over the same rows is all duplicates
    again = two_run.validator.check({"name": "", "age": 0, "sex": "", "province": ""},
                                    {"persona": one.column("persona")[0].as_py()}, duplicates_only=True)
    assert [f.code for f in again] == ["duplicate"]


def test_small_file_runs_stay_in_one_process(records: pa.Table, tmp_path: Path) -> None:
    """Worker processes cost ~1.5 s to start; a file of fewer than POOL_MIN_ROWS rows is narrated inline."""
    from ingu.narrate.job import narrate_file
    from ingu.narrate.run import POOL_MIN_ROWS

    source = tmp_path / "records.parquet"
    pq.write_table(records, source)
    assert records.num_rows < POOL_MIN_ROWS
    run = NarrationRun(TemplateNarrator(seed=4), batch_size=100, workers=2)
    narrate_file(source, tmp_path / "out.parquet", run, row_group_size=256)
    assert run._pool is None
    assert pq.read_table(tmp_path / "out.parquet").num_rows == records.num_rows
