"""NPK's marital × family_type aggregates, shipped as a *non-official* structural prior.

NPK's 39 family types (``vocab_family_type``) are NVIDIA's own typology: no official table counts
persons by these classes. The household block therefore starts from NPK's own joint of marital status
and family type and lets the official cells (persons living alone by sex × age band, couple-only
households) reshape it. Two tables are written, both copied as they are:

* ``npk_prior_marital_family_type`` — NPK's marital_status × family_type contingency table as published
  by the aggregator: the 12 most frequent family types plus a ``기타`` (all other types) column.
* ``npk_prior_family_type`` — NPK's family_type marginal over all 39 types, which the block uses to
  spread each marital status's ``기타`` count over the 27 rarer types.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tools.build_reference.common import write_table

UPSTREAM = "eopchang/nemotron-personas-korea-audit@99b064bcffc3e0cb9cbb538890bf694484067e0e"
PROVENANCE = "NPK aggregate, CC BY 4.0, NVIDIA — not an official statistic"
OTHER = "기타"


def _common(upstream: str) -> dict:
    return {
        "agency": "NVIDIA (Nemotron-Personas-Korea) — not an official statistic",
        "year": 2026,
        "unit": "records (persons of NPK's 1,000,000)",
        "licence": "CC BY 4.0",
        "attribution": "Nemotron-Personas-Korea, NVIDIA (CC BY 4.0); aggregated by " + UPSTREAM,
        "upstream_path": f"{upstream} (from {UPSTREAM} data/processed/{upstream.split('/', 1)[1]})",
        "provenance": PROVENANCE,
    }


def build(src: Path, out: Path) -> list[dict]:
    base = src / "npk_aggregates"
    contingency_path = "npk_aggregates/bivariate_detail/contingency_marital_status__x__family_type.csv"
    wide = pl.read_csv(src / contingency_path)
    first = wide.columns[0]
    long = (
        wide.rename({first: "marital"})
        .unpivot(index="marital", variable_name="family_type", value_name="count")
        .with_columns(pl.col("count").cast(pl.Int64))
    )
    if long["count"].sum() != 1_000_000:
        raise ValueError(f"{contingency_path}: expected NPK's 1,000,000 records, got {long['count'].sum()}")
    marginal_path = "npk_aggregates/marginals/family_type.csv"
    marginal = pl.read_csv(src / marginal_path).select("family_type", pl.col("count").cast(pl.Int64))
    if marginal.height != 39 or marginal["count"].sum() != 1_000_000:
        raise ValueError(f"{marginal_path}: expected 39 family types over 1,000,000 records")
    named = set(long["family_type"].unique()) - {OTHER}
    if not named <= set(marginal["family_type"]):
        raise ValueError(f"{contingency_path}: columns {sorted(named - set(marginal['family_type']))} "
                         "are not family types of the marginal")
    for ft in named:  # the contingency's column totals are the marginal's counts
        col = long.filter(pl.col("family_type") == ft)["count"].sum()
        if col != marginal.filter(pl.col("family_type") == ft)["count"][0]:
            raise ValueError(f"{contingency_path}: column {ft} does not add up to its marginal count")
    return [
        write_table(long, out, {
            "id": "npk_prior_marital_family_type",
            "title": "NPK marital status × family type, 12 most frequent types + 기타 (non-official prior)",
            "table_id": contingency_path,
            "universe": "NPK records (synthetic adults 19+)",
            **_common(contingency_path),
            "notes": f"{PROVENANCE}. Long form of the aggregator's top-k contingency table (copied, no "
                     "arithmetic): family_type '기타' is the aggregator's column for the 27 types outside "
                     "the 12 most frequent. Used by the household block only as the starting distribution "
                     "(structural prior) of family_type given marital status; official cells (persons "
                     "living alone by sex × age band, couple-only households) then constrain it. NPK is not "
                     "a reference for Korea.",
        }),
        write_table(marginal, out, {
            "id": "npk_prior_family_type",
            "title": "NPK family-type marginal, all 39 types (non-official prior)",
            "table_id": marginal_path,
            "universe": "NPK records (synthetic adults 19+)",
            **_common(marginal_path),
            "notes": f"{PROVENANCE}. Copied as is (the share column dropped). Used by the household block "
                     "only to spread each marital status's '기타' count of npk_prior_marital_family_type "
                     "over the 27 rarer types (maximum-entropy completion under the block's structural "
                     "zeros).",
        }),
    ]
