"""Block ``geography``: province, district | province, sex | district, age | district, sex.

Fitted to the resident-registration population of December 2024 (MOIS) by district × sex × 5-year
age. Single-year ages come from Sprague interpolation of each district-sex series (0–4 … 95–99), the
open 100+ group continues the decline of 95–99 over ages 100–104. Only adults (19+) are kept.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ingu.model.ages import split_open_group, sprague
from ingu.model.context import AGES, MAX_AGE, FitContext, conditional
from ingu.model.network import Variable

POPULATION = "pop_mois_2024_district_sex_age5"


def adult_population(ctx: FitContext) -> np.ndarray:
    """Adults by district × sex × single-year age 19–104, shape ``(252, 2, 86)``."""
    pop = ctx.table(POPULATION)
    districts = ctx.table("vocab_district")
    n_d = districts.height
    closed = (
        pop.filter(pl.col("age_hi").is_not_null())
        .with_columns(pl.col("age_lo").cast(pl.Int64))
        .sort(["district_code", "sex", "age_lo"])
    )
    n_groups = closed["age_lo"].n_unique()
    grid = np.zeros((n_d, 2, n_groups))
    d = closed["district_code"].cast(pl.Int64).to_numpy()
    s = (closed["sex"] == "F").cast(pl.Int64).to_numpy()
    g = closed["age_lo"].to_numpy() // 5
    grid[d, s, g] = closed["population"].to_numpy()
    open_group = pop.filter(pl.col("age_hi").is_null())
    top = np.zeros((n_d, 2))
    top[
        open_group["district_code"].cast(pl.Int64).to_numpy(),
        (open_group["sex"] == "F").cast(pl.Int64).to_numpy(),
    ] = open_group["population"].to_numpy()
    # The open group joins the interpolation as a pseudo 5-year group so that 95–99 is split with
    # the penultimate panel (the last panel alone bends the oldest years upward: a spike at 99).
    single = sprague(np.concatenate([grid, top[..., None]], axis=-1))[..., : 5 * n_groups]
    tail = split_open_group(top, single[..., -5:], width=MAX_AGE - 5 * n_groups + 1)
    full = np.concatenate([single, tail], axis=-1)
    return full[..., AGES[0]: AGES[-1] + 1]


def fit(ctx: FitContext) -> None:
    """Add province, district, sex and age to the model."""
    districts = ctx.table("vocab_district").sort("code")
    provinces = ctx.table("vocab_province").sort("code")
    pop = adult_population(ctx)  # district, sex, age
    # Whole-person counts per cell, for --full-population (largest-remainder rounding keeps the total).
    ctx.record("geography", "adult_counts", {"total": int(round(pop.sum()))})
    province_of = districts["province_code"].cast(pl.Int64).to_numpy()
    n_p = provinces.height
    by_district = pop.sum(axis=(1, 2))
    by_province = np.bincount(province_of, weights=by_district, minlength=n_p)
    district_given_province = np.zeros((n_p, len(by_district)))
    district_given_province[province_of, np.arange(len(by_district))] = by_district
    tables = (POPULATION, "vocab_district", "vocab_province")
    exact = ("exact adult (19+) shares of the December 2024 registration; 19-year-olds are the Sprague "
             "share of the 15–19 group",)
    ctx.add(Variable("province", tuple(provinces["npk_label"]), (), by_province / by_province.sum(), tables, exact))
    ctx.add(Variable("district", tuple(districts["npk_label"]), ("province",),
                     conditional(district_given_province), tables, exact))
    ctx.add(Variable("sex", ("남자", "여자"), ("district",), conditional(pop.sum(axis=2)), tables, exact))
    ctx.add(Variable(
        "age", tuple(str(a) for a in AGES), ("district", "sex"), conditional(pop), tables,
        assumptions=(
            "single-year ages by Sprague interpolation of 5-year groups within district × sex",
            "the open group 100+ is spread over ages 100–104 continuing the 95–99 decline",
        ),
    ))
