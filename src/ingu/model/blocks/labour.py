"""Block ``labour``: employment status and KSCO-7 occupation (major → sub-major → detailed title).

Variables (in order):

* ``age_band`` | age — a deterministic grouping (19–24, 25–29, 30–34, 35–39, 40–49, 50–59, 60+) fine
  enough to align every labour table's bands; internal, not written out.
* ``employment_status`` | sex, age_band, education, military_service — soldiers on active duty
  (현역병, 직업군인) are 취업자 with KSCO ``A``; civilians are raked to labour-force participation by sex ×
  age (audit paper Table 5, KOSIS 2025 H2), unemployment rates (LFS 2024: all ages, 15–29) and the
  education mix of the employed (LAFS 2024).
* ``occ_major`` | employment_status, military_service, sex, age_band, education, province,
  bachelors_field — employed civilians raked to the female share of each major group (LFS 2024),
  the major mix within each age band, each education group and each province (LAFS 2024, both
  half-year rounds averaged) and the graduates' field → occupation cells (Table 7, KEIS GOMS,
  employed 4-year graduates aged 25–34).
* ``occ_submajor`` | occ_major, age_band, education — LAFS 2024 sub-major × age and × education.
* ``occ_title`` | occ_submajor, military_service — a KSCO-7 detailed title. No official employment
  count exists per detailed title: titles are equally likely within their sub-major (card).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ingu.model.context import AGES, FitContext, conditional
from ingu.model.ipf import Margin, fit as ipf_fit
from ingu.model.network import Variable

AGE_BAND_EDGES = (19, 25, 30, 35, 40, 50, 60)
AGE_BAND_LABELS = ("19-24", "25-29", "30-34", "35-39", "40-49", "50-59", "60+")
EMPLOYMENT = ("취업자", "실업자", "비경제활동인구")
MAJORS = ("1", "2", "3", "4", "5", "6", "7", "8", "9")
NOT_EMPLOYED = "-"
ACTIVE_DUTY = ("현역병", "직업군인")
# Education groups of the LAFS tables over the 7 NPK levels.
EDU_GROUPS = {"중졸이하": (0, 1, 2), "고졸": (3,), "대졸이상": (4, 5, 6)}
# Index of each NPK education level's LAFS group (code order of vocab_education).
EDU_GROUP_OF_LEVEL = np.array([g for level in range(7) for g, levels in enumerate(EDU_GROUPS.values())
                               if level in levels])
LAFS_YEAR = 2024
LFS_YEAR = 2024


def _age_band_of(ages: np.ndarray) -> np.ndarray:
    return np.searchsorted(AGE_BAND_EDGES, ages, side="right") - 1


def _lafs_average(df: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Mean of the two half-year rounds of LAFS_YEAR (blank cells count as missing)."""
    return (
        df.filter(pl.col("year") == LAFS_YEAR)
        .group_by(keys)
        .agg(pl.col("employed_thousand").mean())
    )


def fit(ctx: FitContext) -> None:
    """Add age_band, employment_status, occ_major, occ_submajor and occ_title."""
    band = _age_band_of(AGES)
    cpt = np.zeros((len(AGES), len(AGE_BAND_LABELS)))
    cpt[np.arange(len(AGES)), band] = 1.0
    ctx.add(Variable("age_band", AGE_BAND_LABELS, ("age",), cpt, (),
                     ("deterministic grouping of age",)))
    _fit_employment(ctx)
    joint = _fit_major(ctx)
    _fit_submajor_and_title(ctx, joint)


def _military_groups(ctx: FitContext) -> np.ndarray:
    labels = ctx.labels("military_service")
    return np.array([-1 if m in ACTIVE_DUTY else 0 for m in labels])


def _fit_employment(ctx: FitContext) -> None:
    mil_labels = ctx.labels("military_service")
    parent = ctx.marginal(["sex", "age_band", "education", "military_service"])
    civilian = _military_groups(ctx)
    dims = ("sex", "age_band", "education", "military_service", "employment")
    seed = parent[..., None] * np.full(3, 1 / 3)
    margins: list[Margin] = []

    t5 = ctx.table("paper_cells").filter(pl.col("table") == "T5")
    t5_bands = ["19-29", "30-39", "40-49", "50-59", "60+"]
    rates = np.array([[t5.filter(pl.col("sex") == s, pl.col("age_band") == b)["value"][0] for b in t5_bands]
                      for s in "MF"])
    t5_group = np.array([0, 0, 1, 1, 2, 3, 4])
    margins.append(Margin(
        "paper_cells T5: labour-force participation by sex × age band (KOSIS 2025 H2)",
        ("sex", "age_band", "military_service", "employment"),
        np.stack([rates, 1 - rates], axis=-1)[:, :, None, :],
        groups={"age_band": t5_group, "military_service": civilian, "employment": np.array([0, 0, 1])},
        given=("sex", "age_band", "military_service"),
    ))
    press = ctx.table("press_cells").filter(pl.col("topic") == "labour", pl.col("year").cast(pl.Utf8) == "2024",
                                            pl.col("category") == "unemployment rate")
    u_all = float(press.filter(pl.col("age_band") == "15+")["value"][0]) / 100
    u_young = float(press.filter(pl.col("age_band") == "15-29")["value"][0]) / 100
    margins.append(Margin(
        "press_cells: unemployment rate 15–29 (LFS 2024)", ("age_band", "military_service", "employment"),
        np.array([[[1 - u_young, u_young]]]),
        groups={"age_band": np.array([0, 0, -1, -1, -1, -1, -1]), "military_service": civilian,
                "employment": np.array([0, 1, -1])},
    ))
    margins.append(Margin(
        "press_cells: unemployment rate 15+ (LFS 2024)", ("military_service", "employment"),
        np.array([[1 - u_all, u_all]]),
        groups={"military_service": civilian, "employment": np.array([0, 1, -1])},
    ))
    lafs = _lafs_average(ctx.table("lafs_occupation_by_education").filter(pl.col("level") == "major"),
                         ["education_group"])
    by_edu = dict(zip(lafs["education_group"], lafs["employed_thousand"]))
    edu_group = EDU_GROUP_OF_LEVEL
    margins.append(Margin(
        "lafs_occupation_by_education: education mix of the employed (LAFS 2024)",
        ("education", "military_service", "employment"),
        np.array([by_edu[name] for name in EDU_GROUPS])[:, None, None],
        groups={"education": edu_group, "military_service": civilian, "employment": np.array([0, -1, -1])},
    ))
    margins.append(Margin("parent: sex × age band × education × military (model)",
                          ("sex", "age_band", "education", "military_service"), parent))
    joint, report = ipf_fit(seed, dims, margins, max_sweeps=500, tol=1e-10)
    ctx.record("labour", "employment_ipf", report)
    cpt = conditional(joint)
    active = np.array([m in ACTIVE_DUTY for m in mil_labels])
    cpt[:, :, :, active, :] = np.array([1.0, 0.0, 0.0])
    ctx.add(Variable(
        "employment_status", EMPLOYMENT, ("sex", "age_band", "education", "military_service"), cpt,
        ("paper_cells", "press_cells", "lafs_occupation_by_education"),
        assumptions=(
            "soldiers on active duty are 취업자 (KSCO A) and outside the LFS frame the rates refer to",
            "employment depends on education only through the education mix of the employed "
            "(no sex × education or age × education interaction table)",
            "Table 5 bands 19–29 … 60+ apply uniformly to the ages within each band",
        ),
    ))


def _fit_major(ctx: FitContext) -> np.ndarray:
    """Fit occupation majors of employed civilians; returns the fitted joint for the sub-majors."""
    names = ["sex", "age_band", "education", "province", "bachelors_field", "military_service",
             "employment_status"]
    full = ctx.marginal(names)
    civilian = _military_groups(ctx) == 0
    # Employed civilians: P(sex, band, edu, province, field).
    parent = full[..., civilian, 0].sum(axis=-1)
    n_prov = parent.shape[3]
    dims = ("sex", "age_band", "education", "province", "field", "major")
    seed = parent[..., None] * np.full(len(MAJORS), 1 / len(MAJORS))
    margins: list[Margin] = []

    lfs = ctx.table("lfs_sex_occupation_major_annual").filter(pl.col("year") == LFS_YEAR)
    sex_major = np.array([[float(lfs.filter(pl.col("sex") == s, pl.col("ksco_major") == m)["employed_thousand"][0])
                           for m in MAJORS] for s in "MF"])
    margins.append(Margin("lfs_sex_occupation_major_annual: female share of each major group (LFS 2024)",
                          ("sex", "major"), sex_major, given=("major",)))

    by_age = _lafs_average(ctx.table("lafs_occupation_by_age").filter(pl.col("level") == "major"),
                           ["ksco_code", "age_band"])
    lafs_bands = ["15-29", "30-39", "40-49", "50-59", "60+"]
    age_major = np.array([[_cell(by_age, ksco_code=m, age_band=b) for m in MAJORS] for b in lafs_bands])
    margins.append(Margin("lafs_occupation_by_age: major mix within each age band (LAFS 2024)",
                          ("age_band", "major"), age_major, given=("age_band",),
                          groups={"age_band": np.array([0, 0, 1, 1, 2, 3, 4])}))

    by_edu = _lafs_average(ctx.table("lafs_occupation_by_education").filter(pl.col("level") == "major"),
                           ["ksco_code", "education_group"])
    edu_major = np.array([[_cell(by_edu, ksco_code=m, education_group=g) for m in MAJORS] for g in EDU_GROUPS])
    edu_group = EDU_GROUP_OF_LEVEL
    margins.append(Margin("lafs_occupation_by_education: major mix within each education group (LAFS 2024)",
                          ("education", "major"), edu_major, given=("education",), groups={"education": edu_group}))

    by_prov = _lafs_average(ctx.table("lafs_province_occupation_major"), ["province_code", "ksco_major"])
    prov_major = np.array([[_cell(by_prov, province_code=p, ksco_major=m) for m in MAJORS] for p in range(n_prov)])
    margins.append(Margin("lafs_province_occupation_major: major mix within each province (LAFS 2024)",
                          ("province", "major"), prov_major, given=("province",)))

    fields = ctx.labels("bachelors_field")
    edu_labels = ctx.labels("education")
    t7 = ctx.table("paper_cells").filter(pl.col("table") == "T7")
    grads_band = np.array([-1, 0, 0, -1, -1, -1, -1])  # 25–34
    grads_edu = np.array([0 if e == "4년제 대학교" else -1 for e in edu_labels])
    for row in t7.iter_rows(named=True):
        field_label, major = row["category"].removeprefix("field=").split(" -> KSCO ")
        share = row["value"] / 100
        margins.append(Margin(
            f"paper_cells T7: {field_label} → KSCO {major} among employed 4-year graduates 25–34 (KEIS GOMS)",
            ("age_band", "education", "field", "major"), np.array([[[[share, 1 - share]]]]),
            groups={"age_band": grads_band, "education": grads_edu,
                    "field": np.array([0 if f == field_label else -1 for f in fields]),
                    "major": np.array([0 if m == major else 1 for m in MAJORS])},
            given=("age_band", "education", "field"),
        ))
    margins.append(Margin("parent: employed civilians by sex × band × education × province × field (model)",
                          ("sex", "age_band", "education", "province", "field"), parent))
    joint, report = ipf_fit(seed, dims, margins, max_sweeps=300, tol=1e-9)
    ctx.record("labour", "occupation_major_ipf", report)

    mil_labels = ctx.labels("military_service")
    labels = MAJORS + ("A", NOT_EMPLOYED)
    major_given = conditional(joint)  # sex, band, edu, prov, field, 9
    shape = (3, len(mil_labels)) + major_given.shape[:-1] + (len(labels),)
    cpt = np.zeros(shape)
    for m, label in enumerate(mil_labels):
        if label in ACTIVE_DUTY:
            cpt[0, m, ..., len(MAJORS)] = 1.0
        else:
            cpt[0, m, ..., : len(MAJORS)] = major_given
    cpt[1:, :, ..., -1] = 1.0
    # Employed-civilian rows that the parent joint never reaches are all-zero; give them a valid row.
    empty = cpt[0].sum(axis=-1) == 0
    cpt[0][empty] = np.append(np.full(len(MAJORS), 1 / len(MAJORS)), [0.0, 0.0])
    ctx.add(Variable(
        "occ_major", labels,
        ("employment_status", "military_service", "sex", "age_band", "education", "province", "bachelors_field"),
        cpt, ("lfs_sex_occupation_major_annual", "lafs_occupation_by_age", "lafs_occupation_by_education",
              "lafs_province_occupation_major", "paper_cells"),
        assumptions=(
            "occupation enters through its two-way margins with sex, age band, education group, province "
            "and (for 4-year graduates 25–34) field: no three-way interaction (e.g. sex × age × "
            "occupation) is informed by an official table",
            "fields without Table 7 cells follow the education and sex margins only",
        ),
    ))
    return joint


def _cell(df: pl.DataFrame, **match: object) -> float:
    row = df.filter(*[pl.col(k).cast(pl.Utf8) == str(v) for k, v in match.items()])
    if row.height != 1 or row["employed_thousand"][0] is None:
        return 0.0
    return float(row["employed_thousand"][0])


def _fit_submajor_and_title(ctx: FitContext, major_joint: np.ndarray) -> None:
    ksco = ctx.table("vocab_ksco7")
    subs = ksco.filter(pl.col("level") == "sub_major").sort("code")
    civil_subs = [c for c in subs["code"] if c[0] in MAJORS]
    sub_labels = tuple(civil_subs) + ("A0", NOT_EMPLOYED)
    sub_major = np.array([MAJORS.index(c[0]) for c in civil_subs])
    # Parent: employed civilians by major × band × education (from the major fit).
    parent = np.moveaxis(major_joint.sum(axis=(0, 3, 4)), -1, 0)  # major, band, edu
    seed = parent[..., None] * (sub_major[None, None, None, :] == np.arange(len(MAJORS))[:, None, None, None])
    by_age = _lafs_average(ctx.table("lafs_occupation_by_age").filter(pl.col("level") == "sub_major"),
                           ["ksco_code", "age_band"])
    by_edu = _lafs_average(ctx.table("lafs_occupation_by_education").filter(pl.col("level") == "sub_major"),
                           ["ksco_code", "education_group"])
    lafs_bands = ["15-29", "30-39", "40-49", "50-59", "60+"]
    age_sub = np.array([[_cell(by_age, ksco_code=c, age_band=b) for c in civil_subs] for b in lafs_bands])
    edu_sub = np.array([[_cell(by_edu, ksco_code=c, education_group=g) for c in civil_subs] for g in EDU_GROUPS])
    onehot_major = (sub_major[None, :] == np.arange(len(MAJORS))[:, None]).astype(float)
    edu_group = EDU_GROUP_OF_LEVEL
    margins = [
        Margin("lafs_occupation_by_age: sub-major mix within major × age band (LAFS 2024)",
               ("major", "age_band", "sub"), onehot_major[:, None, :] * age_sub[None, :, :],
               groups={"age_band": np.array([0, 0, 1, 1, 2, 3, 4])}, given=("major", "age_band")),
        Margin("lafs_occupation_by_education: sub-major mix within major × education group (LAFS 2024)",
               ("major", "education", "sub"), onehot_major[:, None, :] * edu_sub[None, :, :],
               groups={"education": edu_group}, given=("major", "education")),
        Margin("parent: employed civilians by major × band × education (model)",
               ("major", "age_band", "education"), parent),
    ]
    joint, report = ipf_fit(seed.astype(float), ("major", "age_band", "education", "sub"), margins,
                            max_sweeps=300, tol=1e-9)
    ctx.record("labour", "occupation_submajor_ipf", report)
    sub_given = conditional(joint)  # major(9), band, edu, sub(civil)
    n_band, n_edu = sub_given.shape[1:3]
    major_labels = MAJORS + ("A", NOT_EMPLOYED)
    cpt = np.zeros((len(major_labels), n_band, n_edu, len(sub_labels)))
    cpt[: len(MAJORS), :, :, : len(civil_subs)] = sub_given
    for m in range(len(MAJORS)):  # unreachable rows: the major's sub-majors, equally likely
        rows = cpt[m]
        empty = rows.sum(axis=-1) == 0
        rows[empty, : len(civil_subs)] = onehot_major[m] / onehot_major[m].sum()
    cpt[len(MAJORS), :, :, len(civil_subs)] = 1.0
    cpt[-1, :, :, -1] = 1.0
    ctx.add(Variable(
        "occ_submajor", sub_labels, ("occ_major", "age_band", "education"), cpt,
        ("lafs_occupation_by_age", "lafs_occupation_by_education"),
        assumptions=("sub-major depends on sex and province only through the major group",),
    ))

    detailed = ksco.filter(pl.col("level") == "detailed").sort("code")
    codes = detailed["code"].to_list()
    title_labels = tuple(codes) + (NOT_EMPLOYED,)
    mil_labels = ctx.labels("military_service")
    cpt = np.zeros((len(sub_labels), len(mil_labels), len(title_labels)))
    code_sub = np.array([sub_labels.index(c[:2]) if c[:2] in sub_labels else -1 for c in codes])
    for s in range(len(civil_subs)):
        members = code_sub == s
        cpt[s, :, : len(codes)][:, members] = 1.0 / members.sum()
    conscript = codes.index("A0900")
    career = [codes.index(c) for c in ("A0110", "A0120", "A0200")]
    a0 = sub_labels.index("A0")
    for m, label in enumerate(mil_labels):
        if label == "현역병":
            cpt[a0, m, conscript] = 1.0
        else:
            cpt[a0, m, career] = 1.0 / len(career)
    cpt[-1, :, -1] = 1.0
    ctx.add(Variable(
        "occ_title", title_labels, ("occ_submajor", "military_service"), cpt, ("vocab_ksco7",),
        assumptions=(
            "detailed titles are equally likely within their sub-major (no official employment count "
            "per detailed KSCO title is available)",
            "conscripts are KSCO A0900 (기타 군인); career soldiers are equally split over 영관급 이상 장교, "
            "위관급 장교 and 부사관 (no rank table shipped)",
        ),
    ))
