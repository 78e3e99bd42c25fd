"""Reference marginals that only the audit's marginal baseline needs (paper §5).

The 2020 census education distribution of persons aged 25+ is quoted by the public NPK audit
repository from 통계청's 2020 인구주택총조사 표본집계 (학력별 인구); we ship the numbers as quoted,
with that provenance, and the audit compares them with a dataset's 25+ records only.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from tools.build_reference.common import write_table

REPO = "eopchang/nemotron-personas-korea-audit@99b064bcffc3e0cb9cbb538890bf694484067e0e"
REFERENCE_JSON = "npk_aggregates/reference/kosis_reference.json"


def build(src: Path, out: Path) -> list[dict]:
    reference = json.loads((src / REFERENCE_JSON).read_text("utf-8"))
    education = reference["education_level"]
    df = pl.DataFrame({
        "education_level": list(education["values"].keys()),
        "share": list(education["values"].values()),
    })
    return [write_table(df, out, {
        "id": "census2020_education_25plus",
        "title": "Persons aged 25+ by highest level of education completed (7 levels), 2020 census sample",
        "agency": "Statistics Korea (통계청)",
        "table_id": "2020 인구주택총조사 표본집계 — 학력별 인구 (as quoted)",
        "year": 2020,
        "universe": "population aged 25 and over (census 20% sample)",
        "unit": "share (as quoted; rounded to 0.001, sums to 1.000 ± rounding)",
        "licence": "KOGL Type 1 (공공누리 출처표시)",
        "attribution": "통계청, 2020 인구주택총조사",
        "upstream_path": f"{REFERENCE_JSON} key education_level ({REPO})",
        "notes": "Quoted figures, not a KOSIS download; the quoting repository notes that shares are "
                 "rounded. Vintage 2020: a 2024 population aged 25+ is more educated (cohort "
                 "replacement), so the audit reads small gaps in the direction of more degrees as "
                 "expected, and reports the gap rather than a verdict.",
    })]
