"""``sex_x_occupation``: does the dataset keep Korea's occupational sex segregation? (paper §6.1)

Statistic: bias-corrected Cramér's V of sex × KSCO major (1–9, employed civilians) in the dataset and
in LFS 2024, and their ratio ρ = V_data / V_ref. The strict screen flags ρ outside [0.8, 1/0.8]
(flattening or exaggeration). We also flag a major whose female share is more than
``female_share_max_gap_pp`` from the reference, since a V ratio can hide one badly wrong group.
Diagnostics: per-major female share with bootstrap intervals, the descriptive reference ratio
(dataset share ÷ reference share) with its interval, the within-dataset 4/5 parity flag, and a
sex-label permutation null of V.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ingu.audit import metrics
from ingu.audit.axes.base import AxisResult, chart, missing_fields, series, skipped, table
from ingu.audit.axes.lfp import band_expression
from ingu.audit.references import CIVILIAN_MAJORS, MAJOR_NAMES, SexOccupation, occupation_age_structure, sex_occupation
from ingu.audit.thresholds import Thresholds

AXIS = "sex_x_occupation"
TITLE = "Sex × KSCO occupation"


def sex_major_table(frame: pl.DataFrame) -> np.ndarray:
    """Counts by sex (남자, 여자) × major 1–9 among records with a civilian occupation.

    Job seekers keep their former occupation here (paper rule 12); soldiers (A) and the not employed
    are outside the LFS occupation frame.
    """
    counts = (
        frame.filter(pl.col("occ_major").is_in(list(CIVILIAN_MAJORS)) & pl.col("sex").is_in(["남자", "여자"]))
        .group_by("sex", "occ_major").len()
    )
    out = np.zeros((2, 9))
    for sex, major, n in counts.iter_rows():
        out[0 if sex == "남자" else 1, int(major) - 1] = n
    return out


@dataclass(frozen=True, slots=True)
class Screen:
    """The numbers the verdict rests on, recomputed cheaply by the robustness checks."""

    v_data: float
    v_ref: float
    rho: float
    female_share: np.ndarray
    gap_pp: np.ndarray
    judged: np.ndarray  # majors with enough records to judge

    def flags(self, thresholds: Thresholds, rho_screen: float | None = None) -> list[str]:
        screen = thresholds.rho_screen if rho_screen is None else rho_screen
        reasons = []
        if self.rho < screen:
            reasons.append(f"ρ = {self.rho:.3f} < {screen} (association flattened)")
        elif self.rho > 1 / screen:
            reasons.append(f"ρ = {self.rho:.3f} > {1 / screen:.3f} (association exaggerated)")
        far = self.judged & (np.abs(self.gap_pp) > thresholds.female_share_max_gap_pp)
        if far.any():
            worst = int(np.nanargmax(np.where(far, np.abs(self.gap_pp), -1)))
            reasons.append(
                f"{int(far.sum())} major(s) with female share > {thresholds.female_share_max_gap_pp:g} pp off "
                f"(worst {worst + 1}_{MAJOR_NAMES[str(worst + 1)]}: {self.gap_pp[worst]:+.1f} pp)"
            )
        return reasons


def screen(counts: np.ndarray, reference: SexOccupation, thresholds: Thresholds) -> Screen:
    """V ratio and female-share gaps of a sex × major count table against the reference."""
    v_data = metrics.cramers_v(counts)
    v_ref = metrics.cramers_v(reference.table)
    totals = counts.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(totals > 0, counts[1] / totals, np.nan)
    gap = 100 * (share - reference.female_share)
    return Screen(v_data, v_ref, v_data / v_ref if v_ref > 0 else float("nan"), share, gap, totals >= thresholds.min_cell)


def age_standardised_share(frame: pl.DataFrame) -> np.ndarray:
    """Female share per major, directly standardised to the reference age structure of that major.

    Within each major the dataset's female share is computed per LAFS age band and re-weighted by the
    band's share of the major's employed in LAFS 2024, so an age mix unlike Korea's cannot by itself
    create or hide a gap (paper §6.1 robustness).
    """
    weights, bands = occupation_age_structure()
    lows = [int(b.split("-")[0].rstrip("+")) for b in bands]
    # The first band is open below and the last above, as the LAFS bands are.
    spec = tuple((band, 0 if i == 0 else low, (lows[i + 1] - 1) if i + 1 < len(lows) else 200)
                 for i, (band, low) in enumerate(zip(bands, lows, strict=True)))
    df = (
        frame.filter(pl.col("occ_major").is_in(list(CIVILIAN_MAJORS)) & pl.col("sex").is_in(["남자", "여자"]))
        .with_columns(band_expression(spec).alias("band"))
        .group_by("occ_major", "band").agg((pl.col("sex") == "여자").mean().alias("female"), pl.len().alias("n"))
    )
    shares = np.full((9, len(bands)), np.nan)
    for major, band, female, _n in df.iter_rows():
        shares[int(major) - 1, bands.index(band)] = female
    # A band the dataset leaves empty drops out and the remaining weights are renormalised.
    usable = ~np.isnan(shares)
    w = np.where(usable, weights, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(w.sum(axis=1) > 0, np.nansum(np.where(usable, shares, 0) * w, axis=1) / w.sum(axis=1), np.nan)


def sex_x_occupation(frame: pl.DataFrame, thresholds: Thresholds) -> AxisResult:
    """Compute the axis on a derived audit frame (needs ``sex``, ``occ_major``)."""
    reference = sex_occupation()
    ref_ids = [reference.source, "lafs_occupation_by_age"]
    lacking = missing_fields(frame.columns, ["sex", "occ_major"])
    if lacking:
        return skipped(AXIS, TITLE, f"dataset lacks {', '.join(lacking)}", ref_ids)
    counts = sex_major_table(frame)
    if counts.sum() < thresholds.min_cell * 9:
        return skipped(AXIS, TITLE, f"only {int(counts.sum())} employed civilians with a mapped occupation", ref_ids)

    result = screen(counts, reference, thresholds)
    boot = metrics.bootstrap_column_share(counts, 1, thresholds.bootstrap_replicates, thresholds.seed)
    share_low, share_high = metrics.percentile_interval(boot)
    ratio_low, ratio_high = share_low / reference.female_share, share_high / reference.female_share
    null = metrics.permutation_null_v(counts, thresholds.permutation_replicates, thresholds.seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        parity = np.minimum(result.female_share / (1 - result.female_share), (1 - result.female_share) / result.female_share)
    ref_parity = np.minimum(reference.female_share / (1 - reference.female_share),
                            (1 - reference.female_share) / reference.female_share)
    band_low, band_high = thresholds.parity_low, 1 / thresholds.parity_low
    outside_band = (ratio_high < band_low) | (ratio_low > band_high)
    standardised = age_standardised_share(frame) if "age" in frame.columns else np.full(9, np.nan)

    reasons = result.flags(thresholds)
    verdict = "flag" if reasons else "pass"
    reason = "; ".join(reasons) if reasons else (
        f"ρ = {result.rho:.3f} within [{thresholds.rho_screen}, {1 / thresholds.rho_screen:.3f}] and every "
        f"major's female share within {thresholds.female_share_max_gap_pp:g} pp of LFS {reference.year}"
    )
    labels = [f"{m}_{MAJOR_NAMES[m]}" for m in CIVILIAN_MAJORS]
    rows = []
    for j, label in enumerate(labels):
        rows.append([
            label, int(counts[0, j]), int(counts[1, j]), round(result.female_share[j], 4),
            round(reference.female_share[j], 4), round(result.gap_pp[j], 2),
            f"[{share_low[j]:.3f}, {share_high[j]:.3f}]", f"{result.female_share[j] / reference.female_share[j]:.2f} "
            f"[{ratio_low[j]:.2f}, {ratio_high[j]:.2f}]", "out" if outside_band[j] else "in",
            "in" if parity[j] >= thresholds.parity_low else "out", "in" if ref_parity[j] >= thresholds.parity_low else "out",
            None if np.isnan(standardised[j]) else round(standardised[j], 4),
        ])
    return AxisResult(
        AXIS, TITLE, verdict, reason,
        headline=f"V {result.v_data:.3f} vs {result.v_ref:.3f} (ρ = {result.rho:.2f}); max female-share gap "
                 f"{np.nanmax(np.abs(result.gap_pp)):.1f} pp",
        reference=ref_ids,
        statistics={
            "cramers_v_dataset": result.v_data, "cramers_v_reference": result.v_ref, "rho": result.rho,
            "reference_year": reference.year, "employed_civilians": int(counts.sum()),
            "max_abs_female_share_gap_pp": float(np.nanmax(np.abs(result.gap_pp))),
            "mean_abs_female_share_gap_pp": float(np.nanmean(np.abs(result.gap_pp))),
            "reference_ratio_out_of_band": int(outside_band.sum()),
            "parity_flagged_majors_dataset": int((parity >= thresholds.parity_low).sum()),
            "parity_flagged_majors_reference": int((ref_parity >= thresholds.parity_low).sum()),
            "permutation_null_v_mean": float(null.mean()), "permutation_null_v_max": float(null.max()),
            "permutation_p_value": metrics.plus_one_p_value(null, result.v_data),
            "max_abs_age_standardised_gap_pp": float(np.nanmax(np.abs(100 * (standardised - reference.female_share))))
            if not np.isnan(standardised).all() else None,
        },
        tables=[table(
            "Female share by KSCO major: dataset vs LFS",
            ["major", "men", "women", "female share", "reference", "gap (pp)", "95% CI", "reference ratio [95% CI]",
             "ratio band", "parity (data)", "parity (ref)", "age-standardised share"],
            rows,
            note=f"Employed civilians (KSCO 1–9). Reference: LFS {reference.year} annual, employed persons by sex × "
                 f"occupation. Parity 'in' = F/M odds within the 4/5 band [{band_low:g}, {band_high:.2f}]. "
                 f"Intervals: {thresholds.bootstrap_replicates} bootstrap replicates, seed {thresholds.seed}.",
        )],
        charts=[chart(
            "bar", "Female share by occupation group", labels,
            [series("dataset", result.female_share, share_low, share_high), series("reference (LFS)", reference.female_share)],
            x_label="KSCO-7 major group", y_label="female share", unit="share",
            reference_lines=[{"value": 0.5, "label": "parity"}],
        )],
    )

