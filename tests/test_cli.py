"""`ingu generate` end to end: outputs, conditions, and bad input that leaves no partial file."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from ingu.cli import app

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args))


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv"])
def test_generate_writes_each_format(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"p{suffix}"
    result = _run("generate", "-n", "500", "--seed", "3", "--narrator", "none", "-o", str(out))
    assert result.exit_code == 0, result.output
    readers = {".parquet": pl.read_parquet, ".jsonl": pl.read_ndjson,
               ".csv": lambda p: pl.read_csv(p, infer_schema_length=None)}
    df = readers[suffix](out)
    assert df.height == 500
    if suffix == ".jsonl":  # key order as NPK's (polars reorders on read, so check the raw line)
        import json

        first = json.loads(out.read_text("utf-8").splitlines()[0])
        assert list(first)[:3] == ["uuid", "professional_persona", "sports_persona"]
    else:
        assert df.columns[:3] == ["uuid", "professional_persona", "sports_persona"]


def test_where_is_exact_and_seeded(tmp_path: Path) -> None:
    out = tmp_path / "w.parquet"
    cond = "sex == '여자' and 30 <= age < 40 and province == '부산'"
    assert _run("generate", "-n", "2000", "--seed", "9", "--where", cond, "-o", str(out)).exit_code == 0
    df = pl.read_parquet(out)
    assert (df["sex"] == "여자").all() and df["age"].is_between(30, 39).all() and (df["province"] == "부산").all()
    again = tmp_path / "w2.parquet"
    assert _run("generate", "-n", "2000", "--seed", "9", "--where", cond, "-o", str(again),
                "--chunk-size", "333", "--workers", "1").exit_code == 0
    assert pl.read_parquet(again).equals(df)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--where", "provnce == '부산'"], "unknown column"),
        (["--where", "province == '부산광역시'"], "unknown value"),
        (["--where", "age >> 3"], "not allowed"),
        (["--where", "age > 200"], "empty conditional"),
        (["-n", "0"], "positive"),
    ],
)
def test_bad_input_is_a_clear_error_with_no_output(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "bad.parquet"
    result = _run("generate", "-o", str(out), *(args if "-n" in args else ["-n", "10", *args]))
    assert result.exit_code != 0
    assert message in result.output
    assert list(tmp_path.iterdir()) == []


def test_unwritable_or_unknown_outputs_fail_before_work(tmp_path: Path) -> None:
    result = _run("generate", "-n", "10", "-o", str(tmp_path / "missing" / "x.parquet"))
    assert result.exit_code != 0 and "does not exist" in result.output
    result = _run("generate", "-n", "10", "-o", str(tmp_path / "x.txt"))
    assert result.exit_code != 0 and "suffix" in result.output
    existing = tmp_path / "x.parquet"
    existing.write_bytes(b"keep me")
    result = _run("generate", "-n", "10", "-o", str(existing))
    assert result.exit_code != 0 and "--overwrite" in result.output
    assert existing.read_bytes() == b"keep me"


def test_interrupted_run_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ingu.sample.sampler as sampler

    real = sampler.sample_block
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(sampler, "sample_block", flaky)
    out = tmp_path / "big.parquet"
    result = _run("generate", "-n", "200000", "-o", str(out), "--workers", "1")
    assert result.exit_code == 130 and "interrupted" in result.output
    assert list(tmp_path.iterdir()) == []


def test_model_card_lists_parents_tables_and_assumptions(tmp_path: Path) -> None:
    import json

    out = tmp_path / "card.json"
    assert _run("model", "card", "-o", str(out)).exit_code == 0
    card = json.loads(out.read_text("utf-8"))
    by_name = {v["name"]: v for v in card["variables"]}
    assert by_name["occ_major"]["parents"][:3] == ["employment_status", "military_service", "sex"]
    assert any(t["id"] == "lfs_sex_occupation_major_annual" for t in by_name["occ_major"]["fitted_to"])
    assert "marital" in by_name["occ_major"]["conditionally_independent_of_given_parents"]
    assert all(v["assumptions"] for v in card["variables"] if not v["internal"])
