"""Robustness of the verdicts (paper §6.1–6.2): thresholds, label noise, crosswalk rules, age mix.

Everything works on aggregated tables — sex × occupation label counts, not rows — so a sweep of
dozens of variants costs milliseconds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ingu.audit import metrics
from ingu.audit.axes.base import AxisResult, clean, table
from ingu.audit.axes.occupation import screen, sex_major_table
from ingu.audit.crosswalk import Crosswalk
from ingu.audit.references import CIVILIAN_MAJORS, SexOccupation, sex_occupation
from ingu.audit.thresholds import Thresholds

RHO_GRID = (0.6, 0.7, 0.75, 0.8, 0.85, 0.9)
NOISE_LEVELS = (0.05, 0.10, 0.20)
#: For axes judged on a maximum gap in points: the statistic and its threshold's name.
PP_AXES = {
    "sex_x_age_x_lfp": ("max_abs_gap_pp", "lfp_max_gap_pp"),
    "major_x_occupation": ("max_abs_gap_pp", "major_max_gap_pp"),
    "sex_x_marital": ("max_abs_gap_pp", "marital_max_gap_pp"),
    "sex_x_occupation": ("max_abs_female_share_gap_pp", "female_share_max_gap_pp"),
}


def _verdict(reasons: list[str]) -> str:
    return "flag" if reasons else "pass"


def threshold_grid(counts: np.ndarray, reference: SexOccupation, axes: list[AxisResult],
                   thresholds: Thresholds) -> list[dict[str, Any]]:
    """Verdicts of the ρ screen over a grid, and of the pp-gap axes at ½×, 1× and 2× their threshold."""
    rows = []
    result = screen(counts, reference, thresholds)
    for rho in RHO_GRID:
        flattened = result.rho < rho or result.rho > 1 / rho
        rows.append(["sex_x_occupation ρ screen", f"{rho:g}", "flag" if flattened else "pass"])
    by_id = {a.id: a for a in axes}
    for axis_id, (statistic, name) in PP_AXES.items():
        axis = by_id.get(axis_id)
        if axis is None or axis.verdict == "skip" or axis.statistics.get(statistic) is None:
            continue
        value = float(axis.statistics[statistic])
        default = float(getattr(thresholds, name))
        for factor in (0.5, 1.0, 2.0):
            rows.append([f"{axis_id} max gap ({value:.2f} pp)", f"{factor * default:g} pp",
                         "flag" if value > factor * default else "pass"])
    return rows


def label_noise(counts: np.ndarray, reference: SexOccupation, thresholds: Thresholds) -> list[list[Any]]:
    """Share of noisy replicates whose sex × occupation verdict equals the clean one, per noise level."""
    baseline = _verdict(screen(counts, reference, thresholds).flags(thresholds))
    rng = np.random.default_rng(thresholds.seed)
    rows = []
    for level in NOISE_LEVELS:
        rhos, same = [], 0
        for _ in range(thresholds.noise_replicates):
            noisy = screen(metrics.flip_labels(counts, level, rng), reference, thresholds)
            rhos.append(noisy.rho)
            same += _verdict(noisy.flags(thresholds)) == baseline
        rows.append([f"{100 * level:.0f} %", thresholds.noise_replicates, round(float(np.mean(rhos)), 4),
                     round(float(np.min(rhos)), 4), round(float(np.max(rhos)), 4), f"{same}/{thresholds.noise_replicates}"])
    return rows


def leave_one_rule_out(label_counts: pl.DataFrame, reference: SexOccupation, thresholds: Thresholds) -> list[list[Any]]:
    """Re-map the occupation labels with each crosswalk rule disabled and redo the screen.

    ``label_counts`` has columns ``sex``, ``occupation``, ``n`` (the dataset aggregated once).
    """
    labels = label_counts["occupation"].unique()
    full = Crosswalk()
    rows = []
    base_counts = _table(label_counts, full, labels)
    base = screen(base_counts, reference, thresholds)
    rows.append(["(none)", int(base_counts.sum()), round(base.rho, 4), round(float(np.nanmax(np.abs(base.gap_pp))), 2),
                 _verdict(base.flags(thresholds))])
    for rule in full.rules:
        crosswalk = Crosswalk(disabled_rules=[rule.id])
        counts = _table(label_counts, crosswalk, labels)
        result = screen(counts, reference, thresholds)
        rows.append([rule.id, int(counts.sum()), round(result.rho, 4), round(float(np.nanmax(np.abs(result.gap_pp))), 2),
                     _verdict(result.flags(thresholds))])
    return rows


def _table(label_counts: pl.DataFrame, crosswalk: Crosswalk, labels: pl.Series) -> np.ndarray:
    mapping = crosswalk.map_unique(labels).select(pl.col("label").alias("occupation"), pl.col("major"))
    joined = label_counts.join(mapping, on="occupation", how="left").filter(
        pl.col("major").is_in(list(CIVILIAN_MAJORS)) & pl.col("sex").is_in(["남자", "여자"]))
    out = np.zeros((2, 9))
    for sex, major, n in joined.group_by("sex", "major").agg(pl.col("n").sum()).iter_rows():
        out[0 if sex == "남자" else 1, int(major) - 1] = n
    return out


def robustness(frame: pl.DataFrame, axes: list[AxisResult], thresholds: Thresholds) -> dict[str, Any]:
    """All four checks that the dataset's fields allow."""
    if not {"sex", "occ_major"} <= set(frame.columns):
        return {"summary": "skipped: the sex × occupation axis could not be computed", "tables": []}
    reference = sex_occupation()
    counts = sex_major_table(frame)
    if counts.sum() == 0:
        return {"summary": "skipped: no employed civilians with a mapped occupation", "tables": []}
    tables = [
        table("Threshold grid", ["check", "threshold", "verdict"], threshold_grid(counts, reference, axes, thresholds)),
        table("Random label noise on the occupation axis",
              ["labels flipped", "replicates", "mean ρ", "min ρ", "max ρ", "same verdict"],
              label_noise(counts, reference, thresholds),
              note=f"Seed {thresholds.seed}; a flipped record moves to a uniformly chosen other major."),
    ]
    loro = None
    if "occupation" in frame.columns:
        label_counts = frame.group_by("sex", "occupation").len("n")
        loro = leave_one_rule_out(label_counts, reference, thresholds)
        tables.append(table("Leave one crosswalk rule out", ["rule removed", "employed civilians", "ρ",
                                                              "max female-share gap (pp)", "verdict"], loro))
    axis = next((a for a in axes if a.id == "sex_x_occupation"), None)
    standardised = axis.statistics.get("max_abs_age_standardised_gap_pp") if axis else None
    verdicts = {row[-1] for row in loro} if loro else set()
    summary = (
        f"Leave-one-rule-out verdicts: {', '.join(sorted(verdicts)) or 'n/a'}; "
        f"max female-share gap after age standardisation: "
        f"{'n/a' if standardised is None else f'{standardised:.1f} pp'}."
    )
    return clean({"summary": summary, "tables": tables, "age_standardised_max_gap_pp": standardised})
