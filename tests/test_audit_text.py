"""Narrative checks count exactly what was planted; real NPK rows audit end to end without conversion."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingu.audit.runner import run_audit
from ingu.audit.text_checks import scan_text

FIXTURE = Path(__file__).parent / "fixtures" / "npk_sample_rows.jsonl"


def _batches(frame: pl.DataFrame, size: int):
    for offset in range(0, frame.height, size):
        yield offset, frame.slice(offset, size).to_arrow().to_batches()[0]


def test_text_scan_counts_planted_problems_across_batches():
    n = 1000
    records = pl.DataFrame({
        "name": [f"김민{chr(0xAC00 + i % 500)}" for i in range(n)],
        "age": [30 + i % 40 for i in range(n)],
        "sex": ["남자" if i % 2 else "여자" for i in range(n)],
        "marital_status": ["배우자있음"] * n,
    })
    persona = [f"{records['name'][i]} 씨는 {records['age'][i]}세의 직장인으로 {'남편' if i % 2 == 0 else '아내'}과 산다. 행{i}"
               for i in range(n)]
    persona[3] = f"박서연 씨는 {records['age'][3]}세의 직장인이다."            # someone else's name
    persona[10] = f"{records['name'][10]} 씨는 {records['age'][10] + 5}세의 교사다."  # wrong age
    persona[11] = f"{records['name'][11]} 씨는 남편과 산다."                  # a married man with a 남편
    persona[20] = f"{records['name'][20]} 씨의 번호는 010-1234-5678 이다."     # PII
    persona[21] = "abc@example.com 으로 연락"                                   # PII, no name
    persona[30] = persona[32] = "이웃과 함께 텃밭을 가꾼다."                      # a duplicate
    persona[40] = ""                                                            # empty
    text = pl.DataFrame({"persona": persona, "travel_persona": ["Lorem ipsum dolor sit amet"] * n})
    report = scan_text(_batches(text, 128), {"persona": "persona", "travel_persona": "travel_persona"}, records,
                       extract_names=True)
    section = report.section
    assert section["name_contradictions"] == 1
    assert section["age_contradictions"] == 1
    assert section["sex_contradictions"] == 1
    assert section["pii_hits"] == 2
    # 1 planted persona duplicate + 999 repeats of the constant travel text.
    assert section["duplicates"] == 1 + (n - 1)
    lengths = section["tables"][0]["rows"]
    assert lengths[0][2] == 1  # one empty persona
    assert lengths[1][6] == n  # travel_persona is all non-Hangul
    names = report.extracted_names
    assert names is not None and names.len() == n
    assert names[0] == records["name"][0] and names[3] == "박서연" and names[21] is None and names[30] is None


def test_real_npk_rows_audit_from_jsonl_and_parquet_shards(tmp_path):
    jsonl = tmp_path / "npk.jsonl"
    shutil.copy(FIXTURE, jsonl)
    rows = [json.loads(line) for line in FIXTURE.read_text("utf-8").splitlines()]
    shards = tmp_path / "npk" / "data"
    shards.mkdir(parents=True)
    schema = pa.schema([(k, pa.int64() if k == "age" else pa.string()) for k in rows[0]])
    for i, chunk in enumerate((rows[:2], rows[2:])):
        pq.write_table(pa.Table.from_pylist(chunk, schema=schema), shards / f"train-{i:05d}-of-00002.parquet")

    reports = [run_audit(jsonl, profile="npk"), run_audit(tmp_path / "npk", profile="auto")]
    for report in reports:
        assert report["dataset"]["rows"] == 3
        assert report["dataset"]["profile"] == "npk"
        assert {a["id"] for a in report["axes"]} == {
            "sex_x_occupation", "sex_x_age_x_lfp", "sex_x_age_x_military", "birthyear_x_sex_x_name",
            "major_x_occupation", "sex_x_marital"}
        # Three rows cannot support a verdict; every axis must say so instead of crashing.
        assert all(a["verdict"] == "skip" for a in report["axes"]), [(a["id"], a["reason"]) for a in report["axes"]]
        assert report["crosswalk"]["coverage"] == pytest.approx(1.0)
        text = report["text"]
        assert text["names_extracted"] == 3
        assert text["pii_hits"] == 0 and text["age_contradictions"] == 0
    assert reports[0]["axes"] == reports[1]["axes"]
