"""Block ``field``: bachelors_field | sex, education.

NPK's convention: ``해당없음`` exactly when education is below ``4년제 대학교``. Among degree holders
the field mix starts from NPK's own field marginal (a non-official prior — no official distribution
of degree holders by field is available offline) and is raked to the official cells: the female share
of 2021 graduates in 공학, 교육, 인문 and 의약 (KEDI via press releases) and the engineering share of all
2021 graduates. The card lists what remains assumed (no age dependence; KEDI→NPK field mapping).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ingu.model.context import FitContext, conditional
from ingu.model.ipf import Margin, fit as ipf_fit
from ingu.model.network import Variable

PRIOR = "npk_prior_bachelors_field"
PRESS = "press_cells"
# KEDI's 7 broad fields → NPK's field labels (closest broad field; documented approximation).
KEDI_TO_NPK = {"공학": "공학·제조·건설", "교육": "교육", "인문": "예술·인문", "의약": "보건·복지"}
DEGREE_LEVELS = ("4년제 대학교", "대학원")


def fit(ctx: FitContext) -> None:
    """Add ``bachelors_field`` with parents (sex, education)."""
    labels = ctx.labels("bachelors_field")
    edu_labels = ctx.labels("education")
    fields = labels[1:]
    prior = ctx.table(PRIOR)
    counts = dict(zip(prior["label"], prior["count"]))
    seed_fields = np.array([float(counts[f]) for f in fields])
    sex_edu = ctx.marginal(["sex", "education"])
    degree = np.array([e in DEGREE_LEVELS for e in edu_labels])

    press = ctx.table(PRESS).filter(pl.col("topic") == "bachelor_field", pl.col("year").cast(pl.Utf8) == "2021")
    female = press.filter(pl.col("measure") == "female share", pl.col("universe").str.contains("graduates"))
    margins: list[Margin] = []
    for row in female.iter_rows(named=True):
        kedi = row["category"].removeprefix("field=")
        npk = KEDI_TO_NPK[kedi]
        share = row["value"] / 100
        margins.append(Margin(
            f"{PRESS}: female share of 2021 graduates in {kedi} (→ {npk})",
            ("field", "sex"), np.array([[1 - share, share]]),
            groups={"field": np.array([0 if f == npk else -1 for f in fields])}, given=("field",),
        ))
    grads = ctx.table(PRESS).filter(pl.col("topic") == "graduates", pl.col("measure") == "count",
                                    pl.col("year").cast(pl.Utf8) == "2021")
    eng = press.filter(pl.col("measure") == "graduates", pl.col("sex") == "T", pl.col("category") == "field=공학")
    if grads.height == 1 and eng.height == 1:
        share = float(eng["value"][0]) / float(grads["value"][0])
        margins.append(Margin(
            f"{PRESS}: engineering share of 2021 4-year graduates",
            ("field",), np.array([share, 1 - share]),
            groups={"field": np.array([0 if f == "공학·제조·건설" else 1 for f in fields])},
        ))
    deg_by_sex = sex_edu[:, degree].sum(axis=1)
    margins.append(Margin("parent: sex of degree holders (model)", ("sex",), deg_by_sex))
    seed = deg_by_sex[:, None] * (seed_fields / seed_fields.sum())[None, :]
    joint, report = ipf_fit(seed, ("sex", "field"), margins, max_sweeps=500, tol=1e-10)
    ctx.record("field", "ipf", report)

    given_sex = conditional(joint)  # (sex, field)
    cpt = np.zeros((2, len(edu_labels), len(labels)))
    cpt[:, ~degree, 0] = 1.0
    cpt[:, degree, 1:] = given_sex[:, None, :]
    ctx.add(Variable(
        "bachelors_field", labels, ("sex", "education"), cpt, (PRIOR, PRESS),
        assumptions=(
            "field mix of degree holders starts from NPK's field marginal (non-official prior)",
            "field independent of age and province given sex",
            "KEDI fields mapped to NPK fields: 공학→공학·제조·건설, 인문→예술·인문, 의약→보건·복지",
            "graduate-school holders share the field mix of 4-year graduates",
        ),
    ))
