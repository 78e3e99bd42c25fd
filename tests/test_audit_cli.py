"""``ingu audit`` on bad input: a clear message naming file, column and row; exit 2; no report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from ingu.cli import app

FIXTURE = Path(__file__).parent / "fixtures" / "npk_sample_rows.jsonl"


def _audit(*args: str):
    return CliRunner().invoke(app, ["audit", *args])


def test_missing_file(tmp_path):
    result = _audit(str(tmp_path / "nope.parquet"), "--out", str(tmp_path / "r"))
    assert result.exit_code == 2
    assert "nope.parquet" in result.output
    assert not (tmp_path / "r").exists()


def test_unknown_category_names_file_column_and_row(tmp_path):
    rows = [json.loads(line) for line in FIXTURE.read_text("utf-8").splitlines()]
    rows[2]["sex"] = "외계인"
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    result = _audit(str(path), "--profile", "npk", "--out", str(tmp_path / "r"))
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "bad.jsonl" in message and "sex" in message and "외계인" in message
    assert "row 2" in message or "line 3" in message
    assert not (tmp_path / "r").exists()


def test_truncated_jsonl_is_located(tmp_path):
    path = tmp_path / "cut.jsonl"
    text = FIXTURE.read_text("utf-8")
    path.write_text(text[: len(text) - 400], "utf-8")
    result = _audit(str(path), "--out", str(tmp_path / "r"))
    assert result.exit_code == 2
    assert "cut.jsonl" in result.output and "line 3" in " ".join(result.output.split())


def test_map_to_a_missing_column_lists_what_is_there(tmp_path):
    path = tmp_path / "npk.jsonl"
    shutil.copy(FIXTURE, path)
    result = _audit(str(path), "--map", "gender=sex", "--out", str(tmp_path / "r"))
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "gender" in message and "occupation" in message


def test_bad_fail_on_value(tmp_path):
    result = _audit(str(FIXTURE), "--fail-on", "sometimes", "--out", str(tmp_path / "r"))
    assert result.exit_code == 2 and "--fail-on" in result.output
