"""Audit report rendering: report.json/.md/.html from a realistic report dict, escaping of untrusted
dataset text, self-containment of the HTML, SVG well-formedness, atomic writes, and a headless
Chromium screenshot that must not come out blank."""

from __future__ import annotations

import copy
import json
import math
import os
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingu.audit import report as report_mod
from ingu.audit.charts import chart_table, format_number, render_svg
from ingu.audit.report import render_markdown, to_json, write_report

EVIL = "<script>alert(1)</script>"
EVIL_ATTR = '"><img src=x onerror=alert(2)>'

KSCO = [
    "관리자",
    "전문가 및 관련 종사자",
    "사무 종사자",
    "서비스 종사자",
    "판매 종사자",
    "농림어업 숙련 종사자",
    "기능원 및 관련 기능 종사자",
    "장치·기계 조작 및 조립 종사자",
    "단순노무 종사자",
]
FEMALE_DATASET = [0.35, 0.50, 0.52, 0.57, 0.51, 0.45, 0.38, 0.36, 0.48]
FEMALE_KOSIS = [0.16, 0.52, 0.56, 0.67, 0.50, 0.38, 0.12, 0.13, 0.50]
AGES = ["15–19", "20–24", "25–29", "30–34", "35–39", "40–49", "50–59", "60–64", "65+"]


def _bar(title: str, categories: list[str], series: list[dict[str, Any]], **extra: Any) -> dict:
    chart = {
        "kind": "bar",
        "title": title,
        "x_label": extra.pop("x_label", ""),
        "y_label": extra.pop("y_label", "female share"),
        "unit": extra.pop("unit", "share"),
        "categories": categories,
        "series": series,
    }
    chart.update(extra)
    return chart


def sample_report() -> dict[str, Any]:
    """Six axes as in the paper's Table 1, with tables, charts, nulls, a skip and hostile labels."""
    occ_rows = [
        [k, d, r, round((d - r) * 100, 1), n]
        for k, d, r, n in zip(
            KSCO,
            FEMALE_DATASET,
            FEMALE_KOSIS,
            [31_204, 181_022, 142_310, 98_455, 101_377, 40_118, 77_906, 69_210, 95_104],
            strict=True,
        )
    ]
    occ_rows.append([EVIL, None, 0.5, None, 3])
    return {
        "tool": {"name": "ingu", "version": "0.1.0"},
        "generated_at": "2026-11-21T10:00:00Z",
        "dataset": {
            "path": "data/nvidia/Nemotron-Personas-Korea/train-00000-of-00004.parquet",
            "profile": "npk",
            "rows": 1_000_000,
            "source_columns": {
                "sex": "sex",
                "age": "age",
                "occupation": "occupation",
                "province": "province",
                "military": "military_status",
            },
            "missing_fields": ["bachelors_field"],
            "text_columns": ["persona", "professional_persona"],  # beyond the contract
            "notes": ["adults aged 19–99 only", f"note with {EVIL}"],
        },
        "thresholds": {
            "cramers_v_ratio_min": 0.8,
            "parity_band": "0.8–1.25",
            "pp_gap_flag": 10,
            "bootstrap_replicates": 1000,
            "k_anonymity_k": 5,
            "coverage_min": 0.9,
        },
        "references": [
            {
                "id": "DT_1DA7B05",
                "title": "경제활동인구조사: 직업별 취업자 (성별)",
                "agency": "KOSTAT",
                "year": "2024",
                "universe": "employed, 15+",
            },
            {
                "id": "DT_1DA7012",
                "title": "연령별 경제활동참가율",
                "agency": "KOSTAT",
                "year": "2024",
                "universe": "civilian population, 15+",
            },
            {
                "id": "MMA_YB_2024",
                "title": "병무통계연보" + EVIL_ATTR,
                "agency": "MMA",
                "year": 2024,
                "universe": "conscription cohorts",
            },
            {
                "id": "SCOURT_NAMES",
                "title": "출생연도별 이름 통계",
                "agency": "Supreme Court",
                "year": "2008–2024",
                "universe": "birth registrations",
            },
            {
                "id": "KEIS_GOMS",
                "title": "대졸자직업이동경로조사",
                "agency": "KEIS",
                "year": "2019",
                "universe": "graduates",
            },
            {
                "id": "DT_1MR2060",
                "title": "성·연령별 혼인상태",
                "agency": "KOSTAT",
                "year": "2020",
                "universe": "population 15+",
            },
        ],
        "summary": {
            "verdicts": {"pass": 3, "flag": 2, "skip": 1},
            "text": "Marginals align with KOSIS; two joints fail.\n\nsex × occupation is "
            "flattened toward parity; the military age profile is inconsistent.",
        },
        "axes": [
            {
                "id": "sex_x_occupation",
                "title": "성 × 직업 (KSCO 대분류)",
                "verdict": "flag",
                "reason": "Cramér's V ratio 0.29 < 0.8; 4 buckets outside the parity band",
                "headline": "male-dominated buckets 2.3–3.0× KOSIS female share; max gap +26.0 pp",
                "reference": ["DT_1DA7B05"],
                "statistics": {
                    "cramers_v_dataset": 0.0912,
                    "cramers_v_reference": 0.3127,
                    "cramers_v_ratio": 0.2917,
                    "buckets_out_of_band": 4,
                    "max_gap_pp": 26.0,
                    "out_of_band": ["관리자", "기능원 및 관련 기능 종사자"],
                    "permutation_p": 0.0001,
                    "female_share": 0.4712,
                    "bootstrap_ci_width": float("nan"),
                },
                "tables": [
                    {
                        "title": "Female share by KSCO major group",
                        "columns": [
                            "KSCO major group",
                            "dataset share",
                            "reference share",
                            "gap (pp)",
                            "n dataset",
                        ],
                        "rows": occ_rows,
                        "note": "reference: KOSIS EAPS 2024 annual | pooled",
                    }
                ],
                "charts": [
                    _bar(
                        "Female share by occupation group",
                        [*KSCO, EVIL],
                        [
                            {
                                "name": "dataset",
                                "values": [*FEMALE_DATASET, None],
                                "low": [v - 0.01 for v in FEMALE_DATASET] + [None],
                                "high": [v + 0.01 for v in FEMALE_DATASET] + [None],
                            },
                            {"name": "reference (KOSIS)", "values": [*FEMALE_KOSIS, 0.5]},
                        ],
                        reference_lines=[{"value": 0.5, "label": "parity"}],
                        x_label="KSCO major group",
                    )
                ],
            },
            {
                "id": "sex_x_age_x_lfp",
                "title": "성 × 연령 × 경제활동참가",
                "verdict": "pass",
                "reason": "max |gap| 4.1 pp below the 10 pp flag",
                "headline": "young males −3.2 pp",
                "reference": ["DT_1DA7012"],
                "statistics": {"max_abs_gap_pp": 4.1, "kl_nats": 0.0031},
                "tables": [],
                "charts": [
                    {
                        "kind": "line",
                        "title": "Labour-force participation by age",
                        "x_label": "age",
                        "y_label": "participation rate",
                        "unit": "share",
                        "categories": AGES,
                        "series": [
                            {
                                "name": "men · dataset",
                                "values": [None, 0.45, 0.74, 0.90, 0.93, 0.93, 0.89, 0.79, 0.52],
                            },
                            {
                                "name": "men · reference",
                                "values": [0.08, 0.47, 0.73, 0.91, 0.94, 0.93, 0.88, 0.78, 0.51],
                            },
                            {
                                "name": "women · dataset",
                                "values": [None, 0.52, 0.75, 0.70, 0.63, 0.66, 0.67, 0.55, 0.31],
                            },
                            {
                                "name": "women · reference",
                                "values": [0.10, 0.55, 0.76, 0.69, 0.62, 0.67, 0.66, 0.54, 0.30],
                            },
                        ],
                    }
                ],
            },
            {
                "id": "sex_x_age_x_military",
                "title": "성 × 연령 × 현역 복무",
                "verdict": "flag",
                "reason": "active-duty rate flat across ages; institutional rule violated",
                "headline": "NPK 0.05–0.07 at every age vs 0.3–0.4 at 20–21 (rule)",
                "reference": ["MMA_YB_2024"],
                "statistics": {"rate_range_dataset": "0.05–0.07", "women_active_duty": 0.0},
                "tables": [
                    {
                        "title": "Active-duty rate (men)",
                        "columns": ["age", "dataset rate", "reference rate"],
                        "rows": [
                            [19, 0.05, 0.12],
                            [20, 0.06, 0.38],
                            [21, 0.07, 0.35],
                            [22, 0.05, 0.14],
                            [23, 0.06, 0.04],
                            [25, 0.06, 0.01],
                            [30, 0.05, 0.0],
                        ],
                        "note": None,
                    }
                ],
                "charts": [
                    {
                        "kind": "line",
                        "title": "Active-duty rate by age (men)",
                        "x_label": "age",
                        "y_label": "rate",
                        "unit": "share",
                        "categories": ["19", "20", "21", "22", "23", "25", "30"],
                        "series": [
                            {
                                "name": "dataset",
                                "values": [0.05, 0.06, 0.07, 0.05, 0.06, 0.06, 0.05],
                                "low": [0.04, 0.05, 0.06, 0.04, 0.05, 0.05, 0.04],
                                "high": [0.06, 0.07, 0.08, 0.06, 0.07, 0.07, 0.06],
                            },
                            {
                                "name": "reference (rule)",
                                "values": [0.12, 0.38, 0.35, 0.14, 0.04, 0.01, 0.0],
                            },
                        ],
                    }
                ],
            },
            {
                "id": "birth_year_x_sex_x_name",
                "title": "출생연도 × 성 × 이름",
                "verdict": "pass",
                "reason": "negative control: cohort structure reproduced",
                "headline": "top-10 overlap 0.8",
                "reference": ["SCOURT_NAMES"],
                "statistics": {"top10_overlap": 0.8, "cohorts": 17},
                "tables": [
                    {
                        "title": "Top names by cohort",
                        "columns": ["birth year", "sex", "dataset", "reference"],
                        "rows": [
                            [2008, "여", "서연", "서연"],
                            [2008, "남", "민준", "민준"],
                            [1985, "여", "지혜", "지혜"],
                            [1985, "남", "지훈", "지훈"],
                        ],
                        "note": None,
                    }
                ],
                "charts": [],
            },
            {
                "id": "major_x_occupation",
                "title": "전공 × 직업",
                "verdict": "skip",
                "reason": "dataset lacks bachelors_field",
                "headline": None,
                "reference": ["KEIS_GOMS"],
                "statistics": {"cramers_v_ratio": None},
                "tables": [],
                "charts": [],
            },
            {
                "id": "sex_x_marital",
                "title": "성 × 혼인상태",
                "verdict": "pass",
                "reason": "negative control",
                "headline": "max |gap| 1.2 pp",
                "reference": ["DT_1MR2060"],
                "statistics": {"max_abs_gap_pp": 1.2, "v_ratio": float("inf")},
                "tables": [
                    {
                        "title": "Marital status by sex",
                        "columns": [
                            "status",
                            "men dataset",
                            "men reference",
                            "women dataset",
                            "women reference",
                        ],
                        "rows": [
                            ["미혼", 0.35, 0.36, 0.27, 0.28],
                            ["배우자 있음", 0.58, 0.57, 0.55, 0.55],
                            ["사별", 0.02, 0.02, 0.12, 0.11],
                            ["이혼", 0.05, 0.05, 0.06, 0.06],
                        ],
                        "note": None,
                    }
                ],
                "charts": [
                    _bar(
                        "Marital status by sex",
                        ["미혼", "배우자 있음", "사별", "이혼"],
                        [
                            {"name": "men · dataset", "values": [0.35, 0.58, 0.02, 0.05]},
                            {"name": "men · reference", "values": [0.36, 0.57, 0.02, 0.05]},
                            {"name": "women · dataset", "values": [0.27, 0.55, 0.12, 0.06]},
                            {"name": "women · reference", "values": [0.28, 0.55, 0.11, 0.06]},
                        ],
                        y_label="share",
                    )
                ],
            },
        ],
        "baseline": {
            "title": "Marginal fidelity baseline",
            "skipped": ["education"],
            "metrics": [
                {
                    "dimension": "Age",
                    "metric": "KL (nats)",
                    "value": 0.0042,
                    "reading": "strong marginal alignment",
                },
                {
                    "dimension": "Sex",
                    "metric": "TV",
                    "value": 0.0031,
                    "reading": "strong marginal alignment",
                },
                {
                    "dimension": "Province",
                    "metric": "mean |residual| (pp)",
                    "value": 0.41,
                    "reading": "small but systematic",
                },
                {
                    "dimension": "Education",
                    "metric": "bachelor's gap (pp)",
                    "value": 6.3,
                    "reading": "over-represented",
                },
            ],
            "tables": [],
            "charts": [
                _bar(
                    "Province share: dataset − KOSIS",
                    [
                        "서울",
                        "부산",
                        "대구",
                        "인천",
                        "광주",
                        "대전",
                        "울산",
                        "세종",
                        "경기",
                        "강원",
                        "충북",
                        "충남",
                        "전북",
                        "전남",
                        "경북",
                        "경남",
                        "제주",
                    ],
                    [
                        {
                            "name": "residual",
                            "values": [
                                0.9,
                                0.4,
                                0.2,
                                0.3,
                                0.2,
                                0.1,
                                0.0,
                                None,
                                0.6,
                                -0.4,
                                -0.3,
                                -0.5,
                                -0.4,
                                -0.6,
                                -0.7,
                                -0.5,
                                -0.1,
                            ],
                        }
                    ],
                    unit="pp",
                    y_label="dataset − reference (pp)",
                ),
            ],
        },
        "crosswalk": {
            "version": "ksco7-rules-2026.1",
            "agreement_with_dataset_codes": 0.91234,
            "note": "rules applied in order; first match wins",
            "coverage": 0.973,
            "tables": [
                {
                    "title": "Unmapped occupation titles (top)",
                    "columns": ["occupation", "count"],
                    "rows": [["프리랜서 | 크리에이터\n(유튜브)", 1203], [EVIL, 7], ["무직", 0]],
                    "note": None,
                }
            ],
            "charts": [],
        },
        "robustness": {
            "summary": "Verdicts stable under ±20% threshold perturbation.",
            "age_standardised_max_gap_pp": 24.37,
            "tables": [
                {
                    "title": "Threshold perturbation",
                    "columns": ["threshold", "flags"],
                    "rows": [[0.6, 2], [0.7, 2], [0.8, 2], [0.9, 3]],
                    "note": None,
                }
            ],
            "charts": [
                {
                    "kind": "line",
                    "title": "Flag count vs V-ratio threshold",
                    "x_label": "threshold",
                    "y_label": "flags",
                    "unit": "count",
                    "categories": ["0.6", "0.7", "0.8", "0.9"],
                    "series": [{"name": "flags", "values": [2, 2, 2, 3]}],
                }
            ],
        },
        "privacy": {
            "k": 5,
            "sets": [{"quasi_identifiers": ["sex", "age"], "classes": 160}],  # nested: tables only
            "summary": "k-anonymity on 5 quasi-identifiers.",
            "tables": [
                {
                    "title": "Equivalence classes",
                    "columns": ["k", "records", "share"],
                    "rows": [["1", 1234, 0.0012], ["2–4", 20111, 0.0201], ["≥5", 978655, 0.9787]],
                    "note": None,
                }
            ],
        },
        "text": {
            "summary": "Narratives checked for sex/occupation consistency.",
            "tables": [
                {
                    "title": "Contradictions",
                    "columns": ["check", "rate"],
                    "rows": [["pronoun vs sex", 0.004], ["occupation vs narrative", 0.021]],
                    "note": None,
                }
            ],
            "charts": [],
        },
        "recommendations": [
            {
                "task": "Pipeline stress-testing; prompt scaffolding",
                "recommendation": "USE",
                "reason": "marginal alignment is enough",
            },
            {
                "task": "Persona retrieval for agent simulation",
                "recommendation": "USE WITH CAUTION",
                "reason": "occupation × sex joint mismatch",
            },
            {
                "task": "Occupation-by-sex statistics as population estimates",
                "recommendation": "DO NOT USE",
                "reason": "female share attenuated 2.3–3.0× in male-dominated buckets " + EVIL,
            },
            {
                "task": "Military life-course audits",
                "recommendation": "DO NOT USE",
                "reason": "flat active-duty rate",
            },
        ],
    }


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_report(sample_report(), tmp_path_factory.mktemp("audit") / "out")


def _no_nan(value: str) -> Any:
    raise AssertionError(f"non-standard JSON constant {value}")


# --------------------------------------------------------------------------------------------------
# JSON


def test_json_round_trips_with_nan_as_null(written: dict[str, Path]) -> None:
    text = written["json"].read_text(encoding="utf-8")
    data = json.loads(text, parse_constant=_no_nan)
    assert "성 × 직업" in text  # ensure_ascii=False: Korean stays readable
    expected = sample_report()
    stats = expected["axes"][0]["statistics"]
    assert math.isnan(stats["bootstrap_ci_width"])
    stats["bootstrap_ci_width"] = None
    expected["axes"][5]["statistics"]["v_ratio"] = None
    assert data == expected
    assert data["dataset"]["rows"] == 1_000_000 and isinstance(data["dataset"]["rows"], int)


# --------------------------------------------------------------------------------------------------
# HTML self-containment and escaping


def test_html_has_no_remote_resources(written: dict[str, Path]) -> None:
    html = written["html"].read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"""(?:src|href|xlink:href)\s*=\s*["']?\s*(?:[a-z]+:)?//""", html, re.I)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?!#)[a-z]+:""", html, re.I)
    assert "@import" not in html
    assert not re.search(r"url\(", html, re.I)
    for tag in ("<script", "<link", "<img", "<iframe", "<object", "<embed"):
        assert tag not in html.lower()
    # Every href is an in-page anchor.
    assert all(h.startswith("#") for h in re.findall(r'href="([^"]*)"', html))


def test_malicious_text_is_escaped_in_html(written: dict[str, Path]) -> None:
    html = written["html"].read_text(encoding="utf-8")
    assert EVIL not in html
    assert "<img" not in html and "onerror=alert" not in html.replace("onerror=alert(2)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # The hostile reference title sits in a title="" attribute: its quote must not close it.
    assert "병무통계연보&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html


def test_malicious_text_is_escaped_in_markdown(written: dict[str, Path]) -> None:
    md = written["md"].read_text(encoding="utf-8")
    assert "<script" not in md and "<img" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    # A pipe and a newline inside a cell neither split the column nor end the row.
    line = next(x for x in md.splitlines() if "프리랜서" in x)
    assert line == r"| 프리랜서 \| 크리에이터 (유튜브) | 1,203 |"
    note = next(x for x in md.splitlines() if "KOSIS EAPS" in x)
    assert r"annual \| pooled" in note
    # Every table row has as many cells as its header.
    for block in re.split(r"\n\n", md):
        rows = [x for x in block.splitlines() if x.startswith("|")]
        if rows:
            counts = {len(re.findall(r"(?<!\\)\|", x)) for x in rows}
            assert len(counts) == 1, block


def test_every_axis_appears_with_its_verdict(written: dict[str, Path]) -> None:
    html = written["html"].read_text(encoding="utf-8")
    md = written["md"].read_text(encoding="utf-8")
    for axis in sample_report()["axes"]:
        row = re.search(rf'<tr data-axis="{axis["id"]}">(.*?)</tr>', html, re.S)
        assert row, axis["id"]
        assert f'badge-{axis["verdict"]}">{axis["verdict"].upper()}<' in row.group(1)
        assert axis["title"] in row.group(1)
        section = re.search(
            rf'<section class="axis" id="axis-{axis["id"]}">(.*?)</section>', html, re.S
        )
        assert section and f"badge-{axis['verdict']}" in section.group(1)
        assert f"### {axis['title']}: {axis['verdict'].upper()}" in md
        md_row = next(x for x in md.splitlines() if x.startswith(f"| {axis['title']} |"))
        assert f"**{axis['verdict'].upper()}**" in md_row
    # Paper-style tables and sections are all there.
    for heading in (
        "Verdicts by axis",
        "Use recommendations",
        "Marginal fidelity baseline",
        "KSCO crosswalk",
        "Robustness",
        "Privacy",
        "Text checks",
        "Thresholds",
        "References",
    ):
        assert f">{heading}</h2>" in html, heading
    assert 'badge-avoid">DO NOT USE<' in html and 'badge-caution">USE WITH CAUTION<' in html


def test_numbers_are_formatted_for_people(written: dict[str, Path]) -> None:
    html = written["html"].read_text(encoding="utf-8")
    assert "1,000,000" in html  # dataset rows
    assert ">35.0%<" in html  # a 0–1 share column
    assert ">+26.0 pp<" in html  # a pp statistic
    assert ">0.2917<" in html and ">0.0001<" in html  # 4 significant digits
    assert format_number(3.2e-7) == "3.2e-07"  # tiny magnitudes in scientific
    assert ">2024<" in html and "2,024" not in html  # years are not grouped
    assert format_number(0.4712, "share") == "47.1%"
    assert format_number(0.0042, "share") == "0.42%"
    assert format_number(-3.21, "pp") == "-3.2 pp"
    assert format_number(181022) == "181,022"
    assert format_number(123456.789) == "123,457"
    assert format_number(3.14159) == "3.142"
    assert format_number(float("nan")) == "—" and format_number(None) == "—"


# --------------------------------------------------------------------------------------------------
# SVG


def _all_charts(report: dict[str, Any]) -> list[dict[str, Any]]:
    charts = [c for a in report["axes"] for c in a["charts"]]
    for key in ("baseline", "crosswalk", "robustness", "text"):
        charts += (report.get(key) or {}).get("charts", [])
    return charts


EDGE_CHARTS: list[Any] = [
    {},
    None,
    {
        "kind": "bar",
        "title": "all null",
        "categories": ["a", "b"],
        "series": [{"name": "x", "values": [None, None]}],
    },
    {
        "kind": "line",
        "title": "one point",
        "categories": ["only"],
        "series": [{"name": "x", "values": [0.3]}],
    },
    {
        "kind": "bar",
        "title": "zeros",
        "unit": "count",
        "categories": ["a"],
        "series": [{"name": "x", "values": [0]}],
    },
    {
        "kind": "pie",
        "title": "unknown kind",
        "categories": ["a", "b"],
        "series": [{"values": [1, "2", True]}],
    },
    {
        "kind": "line",
        "title": "ragged & constant",
        "categories": list("abcdef"),
        "series": [{"name": "x", "values": [5, 5, 5]}, "junk", {"name": None, "values": "nope"}],
        "reference_lines": [{"value": "x"}, {"value": 5}],
    },
    {
        "kind": "bar",
        "title": "many long labels " + EVIL,
        "unit": "ratio",
        "categories": [f"{EVIL} 아주 긴 직업 이름 번호 {i} \x00\x07" for i in range(60)],
        "series": [
            {
                "name": EVIL,
                "values": [math.sin(i) * 1e6 for i in range(60)],
                "low": [float("nan")] * 60,
                "high": [float("inf")] * 60,
            }
        ],
    },
]


@pytest.mark.parametrize("chart", _all_charts(sample_report()) + EDGE_CHARTS)
def test_svg_is_well_formed_and_deterministic(chart: Any) -> None:
    svg = render_svg(chart)
    root = ET.fromstring(svg)
    assert root.tag == "svg" and "<script" not in svg
    assert render_svg(copy.deepcopy(chart)) == svg
    standalone = ET.fromstring(render_svg(chart, standalone=True))
    assert standalone.tag == "{http://www.w3.org/2000/svg}svg"
    texts = "".join(root.itertext())
    if isinstance(chart, dict) and chart.get("title"):
        assert chart["title"] in texts  # escaped, not dropped
    chart_table(chart)  # the Markdown twin never fails either


def test_svg_draws_marks_intervals_and_reference_lines() -> None:
    chart = sample_report()["axes"][0]["charts"][0]
    root = ET.fromstring(render_svg(chart))
    rects = [e for e in root.iter("rect") if e.find("title") is not None]
    assert len(rects) == 9 + 10  # one null dataset bar skipped
    assert any(
        EVIL in (e.findtext("title") or "") for e in root.iter("text")
    )  # tooltip of the long label
    dashed = [e for e in root.iter("line") if e.get("stroke-dasharray") == "6 4"]
    assert len(dashed) == 1
    whiskers = [e for e in root.iter("path") if e.get("stroke") == "#333"]
    assert len(whiskers) == 9 + 1  # 9 intervals + the legend glyph
    line = sample_report()["axes"][1]["charts"][0]
    paths = [e.get("d") for e in ET.fromstring(render_svg(line)).iter("path")]
    assert sum(d.count("M") for d in paths if d) >= 4  # four series, nulls start a new run


def test_html_inline_svgs_parse(written: dict[str, Path]) -> None:
    html = written["html"].read_text(encoding="utf-8")
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(svgs) == len(_all_charts(sample_report()))
    for svg in svgs:
        ET.fromstring(svg)


# --------------------------------------------------------------------------------------------------
# Robustness of the renderers and atomic files


@pytest.mark.parametrize(
    "report",
    [
        {},
        {"axes": None, "dataset": None, "summary": None, "text": None, "baseline": None},
        {"axes": "oops", "references": [None, 3], "thresholds": [1, 2], "recommendations": [{}]},
        {
            "axes": [
                {
                    "statistics": [1],
                    "tables": [{"rows": [[1, 2, 3], [4]], "columns": ["a"]}, "x"],
                    "charts": [None, {"series": None}],
                    "reference": "X",
                    "verdict": None,
                },
                {"id": "a b/<c>", "verdict": "weird"},
                {"id": "a b/<c>", "verdict": "PASS"},
            ],
            "baseline": {"metrics": [None, {"value": "n/a"}]},
            "crosswalk": {"coverage": float("nan")},
            "summary": {"verdicts": {"pass": None}},
        },
    ],
)
def test_partial_or_malformed_reports_render(tmp_path: Path, report: dict[str, Any]) -> None:
    paths = write_report(report, tmp_path / "deep" / "dir")
    html = paths["html"].read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert paths["md"].read_text(encoding="utf-8").startswith("# Audit report")
    json.loads(paths["json"].read_text(encoding="utf-8"), parse_constant=_no_nan)
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # anchors unique even for duplicate/odd axis ids


def test_writes_are_atomic_and_leave_no_temp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    first = write_report(sample_report(), out)
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json", "report.md"]
    assert {k: p.name for k, p in first.items()} == {
        "json": "report.json",
        "md": "report.md",
        "html": "report.html",
    }
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    write_report(sample_report(), out)  # overwrite in place: same bytes, still three files
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    calls = {"n": 0}
    real_replace = os.replace

    def failing_replace(src: str, dst: str) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(report_mod.os, "replace", failing_replace)
    changed = sample_report()
    changed["generated_at"] = "2030-01-01T00:00:00Z"
    with pytest.raises(OSError, match="disk full"):
        write_report(changed, out)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["report.html", "report.json", "report.md"]  # no .tmp left behind
    # The failed file kept its previous complete content.
    assert (out / "report.md").read_bytes() == before["report.md"]

    # A rendering error happens before any file is touched.
    monkeypatch.setattr(report_mod, "render_html", lambda r: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_report(sample_report(), tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_keys_beyond_the_contract_are_shown_not_dropped(written: dict[str, Path]) -> None:
    html = written["html"].read_text(encoding="utf-8")
    md = written["md"].read_text(encoding="utf-8")
    for text in (
        "persona, professional_persona",
        "관리자, 기능원 및 관련 기능 종사자",
        "education",
        "0.9123",
        "rules applied in order; first match wins",
        "+24.4 pp",
        "97.3%",
    ):
        assert text in html and text in md, text
    assert "quasi_identifiers" not in html  # nested structures are the producer's tables' job


def test_to_json_handles_non_json_types() -> None:
    text = to_json(
        {
            "a": (1, float("-inf")),
            "b": np.float64(0.5),
            "c": np.int64(3),
            "d": Path("x"),
            "e": np.array([1.0, np.nan]),
        }
    )
    assert json.loads(text, parse_constant=_no_nan) == {
        "a": [1, None],
        "b": 0.5,
        "c": 3,
        "d": "x",
        "e": [1.0, None],
    }


def test_markdown_keeps_identifiers_readable() -> None:
    md = render_markdown(sample_report())
    assert "sex_x_occupation" in md  # intraword underscores are left alone
    assert "cramers_v_ratio" in md
    figures = re.findall(r"^#{3,4} Figure data: ", md, re.M)
    assert len(figures) == len(_all_charts(sample_report()))


# --------------------------------------------------------------------------------------------------
# Headless Chromium: the page must actually paint.


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def _paeth(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def decode_png(data: bytes) -> np.ndarray:
    """Decode an 8-bit RGB/RGBA, non-interlaced PNG to an (h, w, channels) uint8 array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos : pos + 4]), data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8)
    raw = raw.reshape(height, 1 + width * bpp)
    out = np.zeros((height, width * bpp), dtype=np.int16)
    prev = np.zeros(width * bpp, dtype=np.int16)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int16)
        if kind == 0:
            cur = line
        elif kind == 1:  # Sub: running sum along each channel
            cur = (np.cumsum(line.reshape(width, bpp), axis=0) % 256).reshape(-1)
        elif kind == 2:  # Up
            cur = (line + prev) % 256
        elif kind in (3, 4):  # Average / Paeth depend on the pixel to the left: one pixel at a time
            cur = np.zeros_like(line)
            left = np.zeros(bpp, dtype=np.int16)
            upleft = np.zeros(bpp, dtype=np.int16)
            for x in range(width):
                s = slice(x * bpp, (x + 1) * bpp)
                up = prev[s]
                pred = (left + up) // 2 if kind == 3 else _paeth(left, up, upleft)
                left = (line[s] + pred) % 256
                cur[s] = left
                upleft = up
        else:
            raise AssertionError(f"bad PNG filter {kind}")
        out[y] = cur
        prev = cur
    return out.astype(np.uint8).reshape(height, width, bpp)


def test_png_decoder_on_known_image() -> None:
    # 3×2 RGB image, rows filtered with None, Sub, Up, Average and Paeth must all decode the same.
    pixels = np.array(
        [[[255, 0, 0], [0, 255, 0], [0, 0, 255]], [[10, 20, 30], [40, 50, 60], [70, 80, 250]]],
        dtype=np.uint8,
    )

    def encode(filters: tuple[int, int]) -> bytes:
        rows, prev = [], np.zeros(9, dtype=np.int16)
        for f, row in zip(filters, pixels.reshape(2, 9).astype(np.int16), strict=True):
            left = np.concatenate([np.zeros(3, dtype=np.int16), row[:-3]])
            upleft = np.concatenate([np.zeros(3, dtype=np.int16), prev[:-3]])
            pred = {0: 0, 1: left, 2: prev, 3: (left + prev) // 2, 4: _paeth(left, prev, upleft)}[f]
            rows.append(bytes([f]) + ((row - pred) % 256).astype(np.uint8).tobytes())
            prev = row

        def chunk(k: bytes, b: bytes) -> bytes:
            return struct.pack(">I", len(b)) + k + b + struct.pack(">I", zlib.crc32(k + b))

        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows)))
            + chunk(b"IEND", b"")
        )

    for filters in [(0, 0), (1, 2), (3, 4), (4, 3), (2, 1)]:
        assert (decode_png(encode(filters)) == pixels).all(), filters


def _near(image: np.ndarray, rgb: tuple[int, int, int], tol: int = 3) -> int:
    return int((np.abs(image[..., :3].astype(np.int16) - np.array(rgb)) <= tol).all(axis=-1).sum())


def test_chromium_screenshot_is_not_blank(written: dict[str, Path], tmp_path: Path) -> None:
    chromium = _chromium()
    if chromium is None:
        if os.environ.get("INGU_REQUIRE_CHROMIUM") == "1":
            pytest.fail("INGU_REQUIRE_CHROMIUM=1 but no chromium on PATH")
        pytest.skip("chromium is not installed")
    shot = tmp_path / "report.png"
    profile = tmp_path / "profile"
    cmd = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        written["html"].resolve().as_uri(),
    ]
    env = {**os.environ, "HOME": str(tmp_path)}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert shot.exists() and shot.stat().st_size > 10_000, (proc.returncode, proc.stderr[-2000:])
    if out := os.environ.get("INGU_REPORT_SCREENSHOT"):  # keep a copy to look at
        shutil.copyfile(shot, out)

    image = decode_png(shot.read_bytes())
    height, width = image.shape[:2]
    assert (width, height) == (1280, 2000)
    rgb = image[..., :3]
    non_white = int((rgb < 235).any(axis=-1).sum())
    assert non_white > 0.03 * width * height, non_white
    quantised = {tuple(c) for c in (rgb[::4, ::4] // 16).reshape(-1, 3).tolist()}
    assert len(quantised) >= 20, len(quantised)
    # CSS applied: the FLAG count box and badges use the flag background (#fde2e1) ...
    assert _near(image, (0xFD, 0xE2, 0xE1)) > 500
    # ... and the inline SVG painted: the palette blue of the first series' bars (#0072B2).
    assert _near(image, (0x00, 0x72, 0xB2)) > 500
