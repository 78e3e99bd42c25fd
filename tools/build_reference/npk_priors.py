"""NPK aggregates shipped as *non-official* priors where no official table exists offline.

Nemotron-Personas-Korea (NVIDIA, CC BY 4.0) is not a reference for Korea; these tables are used only
where the card says so (as a starting distribution that official cells then constrain), so a user
can replace them with an official table (same id, same columns) through the cache.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tools.build_reference.common import write_table

NPK = "Nemotron-Personas-Korea aggregates (NVIDIA, CC BY 4.0) via eopchang/nemotron-personas-korea-audit@99b064bcffc3e0cb9cbb538890bf694484067e0e"


def build(src: Path, out: Path) -> list[dict]:
    field = pl.read_csv(src / "npk_aggregates" / "marginals" / "bachelors_field.csv")
    field = field.filter(pl.col("bachelors_field") != "해당없음").rename({"bachelors_field": "label"})
    return [write_table(field.select("label", "count"), out, {
        "id": "npk_prior_bachelors_field",
        "title": "NPK bachelor's-field marginal among records with a bachelor's degree (non-official prior)",
        "agency": "NVIDIA (Nemotron-Personas-Korea) — not an official statistic",
        "table_id": "npk_aggregates/marginals/bachelors_field.csv",
        "year": 2026,
        "universe": "NPK records with bachelors_field != 해당없음",
        "unit": "records",
        "licence": "CC BY 4.0",
        "attribution": "Nemotron-Personas-Korea, NVIDIA",
        "upstream_path": f"npk_aggregates/marginals/bachelors_field.csv ({NPK})",
        "notes": "Used only as the starting distribution of fields; official female shares by field "
                 "(press_cells, KEDI 2021) then constrain it. No official field distribution of "
                 "degree holders by age is available offline.",
    })]
