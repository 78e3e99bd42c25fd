"""``birthyear_x_sex_x_name``: do given names follow birth cohorts? (paper §6.5; a negative control)

Korean naming fashion moves fast: 영자/순자 for women born in the 1940s, 서연/민지 for the 1990s.
Using the published cohort lists (vintage names: lists of cohorts born ≤ 1959; modern: ≥ 1990; a name
on both is in neither) the axis measures, per sex, how much more often vintage names occur among
people born ≤ 1959 than among those born ≥ 1990, and the reverse for modern names; the sum of the
two is the sex's cohort contrast. A dataset that samples names independently of age shows none. Names come from ``given_name``, from ``name``
minus its surname, or — for NPK, which has no name field — from the narratives (``… 씨``).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ingu.audit.axes.base import AxisResult, chart, missing_fields, series, skipped, table
from ingu.audit.references import SEXES, name_cohorts, surname_shares
from ingu.audit.thresholds import Thresholds

AXIS = "birthyear_x_sex_x_name"
TITLE = "Birth year × sex × name"
OLD_UNTIL, NEW_FROM = 1959, 1990
DECADES = tuple(range(1920, 2010, 10))


def compound_surnames() -> list[str]:
    """Two-syllable surnames (남궁, 황보, 제갈, …) from the 2015 census list, longest match first."""
    return sorted((s for s in surname_shares() if len(s) == 2), key=len, reverse=True)


def split_full_name(names: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(surname, given name) expressions for Hangul full names: a two-syllable surname when the name
    starts with one and is at least three syllables long, else the first syllable."""
    two = names.str.slice(0, 2)
    is_compound = two.is_in(compound_surnames()) & (names.str.len_chars() >= 3)
    surname = pl.when(is_compound).then(two).otherwise(names.str.slice(0, 1))
    given = pl.when(is_compound).then(names.str.slice(2)).otherwise(names.str.slice(1))
    return surname, given


def name_columns(frame: pl.DataFrame) -> tuple[pl.DataFrame, str | None]:
    """Add ``_given`` and ``_surname`` from whatever the dataset offers; returns the source used."""
    if "given_name" in frame.columns:
        surname = pl.col("surname") if "surname" in frame.columns else pl.lit(None, dtype=pl.Utf8)
        return frame.with_columns(pl.col("given_name").alias("_given"), surname.alias("_surname")), "given_name"
    for source in ("name", "extracted_name"):
        if source in frame.columns:
            surname, given = split_full_name(pl.col(source))
            return frame.with_columns(given.alias("_given"), surname.alias("_surname")), source
    return frame, None


def birthyear_x_sex_x_name(frame: pl.DataFrame, thresholds: Thresholds) -> AxisResult:
    """Compute the axis (needs ``sex``, ``birth_year`` and a name source)."""
    ref_ids = ["given_names_by_cohort", "surnames_2015"]
    lacking = missing_fields(frame.columns, ["sex", "birth_year"])
    if lacking:
        return skipped(AXIS, TITLE, f"dataset lacks {', '.join(lacking)}", ref_ids)
    frame, source = name_columns(frame)
    if source is None:
        return skipped(AXIS, TITLE, "no name field and no names found in the narratives", ref_ids)
    cohorts = name_cohorts(OLD_UNTIL, NEW_FROM)
    named = frame.filter(pl.col("_given").is_not_null() & (pl.col("_given").str.len_chars() > 0) & pl.col("sex").is_in(SEXES))
    if named.height < thresholds.name_min_records:
        return skipped(AXIS, TITLE, f"only {named.height} records with a usable name (source: {source})", ref_ids)

    vintage = pl.lit(False)
    modern = pl.lit(False)
    for sex in SEXES:
        vintage = vintage | ((pl.col("sex") == sex) & pl.col("_given").is_in(sorted(cohorts.vintage[sex])))
        modern = modern | ((pl.col("sex") == sex) & pl.col("_given").is_in(sorted(cohorts.modern[sex])))
    era = (pl.when(pl.col("birth_year") <= OLD_UNTIL).then(pl.lit("old"))
           .when(pl.col("birth_year") >= NEW_FROM).then(pl.lit("young")).otherwise(pl.lit("middle")))
    decade = (pl.col("birth_year") // 10 * 10).clip(DECADES[0], DECADES[-1])
    marked = named.with_columns(vintage.alias("vintage"), modern.alias("modern"), era.alias("era"), decade.alias("decade"))
    by_era = {(s, e): (v, m, n) for s, e, v, m, n in marked.group_by("sex", "era").agg(
        pl.col("vintage").mean(), pl.col("modern").mean(), pl.len()).iter_rows()}
    by_decade = {(s, d): (v, m, n) for s, d, v, m, n in marked.group_by("sex", "decade").agg(
        pl.col("vintage").mean(), pl.col("modern").mean(), pl.len()).iter_rows()}

    problems, contrasts, rows = [], {}, []
    for sex in SEXES:
        old, young = by_era.get((sex, "old")), by_era.get((sex, "young"))
        if old is None or young is None or min(old[2], young[2]) < thresholds.min_cell:
            problems.append(f"{sex}: too few names in the ≤{OLD_UNTIL} or ≥{NEW_FROM} cohorts to compare")
            continue
        vintage_drop = 100 * (old[0] - young[0])
        modern_rise = 100 * (young[1] - old[1])
        contrasts[sex] = (vintage_drop, modern_rise)
        rows.append([sex, int(old[2]), round(old[0], 4), round(old[1], 4), int(young[2]), round(young[0], 4),
                     round(young[1], 4), round(vintage_drop, 2), round(modern_rise, 2)])
        # One contrast per sex: men's vintage names are less concentrated than women's (영수 vs 영자),
        # so the drop and the rise are judged together; names drawn without regard to age give ≈ 0.
        if vintage_drop + modern_rise < thresholds.name_contrast_min_pp:
            problems.append(f"{sex}: vintage-name drop {vintage_drop:+.1f} pp + modern-name rise {modern_rise:+.1f} pp "
                            f"from ≤{OLD_UNTIL} to ≥{NEW_FROM} births is below {thresholds.name_contrast_min_pp:g} pp")

    surname_rows, surname_gap = _surnames(marked)
    if surname_gap is not None and surname_gap > thresholds.surname_max_gap_pp:
        problems.append(f"a top-10 surname share is {surname_gap:.1f} pp from the 2015 census")
    verdict = "flag" if problems else "pass"
    summary = ", ".join(f"{s} −{c[0]:.1f}/+{c[1]:.1f} pp" for s, c in contrasts.items())
    reason = "; ".join(problems) if problems else (
        f"names follow cohorts (vintage drop / modern rise: {summary})"
        + (f"; top-10 surnames within {surname_gap:.2f} pp" if surname_gap is not None else ""))
    decade_labels = [f"{d}s" for d in DECADES]
    chart_series = []
    for sex in SEXES:
        chart_series.append(series(f"{sex} vintage", [by_decade.get((sex, d), (None,))[0] for d in DECADES]))
        chart_series.append(series(f"{sex} modern", [by_decade.get((sex, d), (None, None))[1] for d in DECADES]))
    tables = [table("Vintage and modern name shares by birth era",
                    ["sex", f"n ≤{OLD_UNTIL}", "vintage", "modern", f"n ≥{NEW_FROM}", "vintage", "modern",
                     "vintage drop (pp)", "modern rise (pp)"], rows,
                    note=f"Name source: {source}. Name sets: {len(cohorts.vintage['남자'])}/{len(cohorts.vintage['여자'])} "
                         f"vintage and {len(cohorts.modern['남자'])}/{len(cohorts.modern['여자'])} modern names (men/women) "
                         "from the published cohort top-name lists.")]
    if surname_rows:
        tables.append(table("Top-10 surnames vs 2015 census", ["surname", "dataset", "census 2015", "gap (pp)"], surname_rows))
    return AxisResult(
        AXIS, TITLE, verdict, reason,
        headline=f"vintage drop / modern rise: {summary}" if summary else "no contrast computable",
        reference=ref_ids,
        statistics={"name_source": source, "records_with_name": named.height,
                    "vintage_drop_pp": {s: c[0] for s, c in contrasts.items()},
                    "modern_rise_pp": {s: c[1] for s, c in contrasts.items()},
                    "max_abs_top10_surname_gap_pp": surname_gap},
        tables=tables,
        charts=[chart("line", "Vintage and modern name shares by birth decade", decade_labels, chart_series,
                      x_label="birth decade", y_label="share of names", unit="share")],
    )


def _surnames(frame: pl.DataFrame) -> tuple[list[list], float | None]:
    if "_surname" not in frame.columns or frame["_surname"].null_count() == frame.height:
        return [], None
    reference = surname_shares()
    top = sorted(reference, key=reference.get, reverse=True)[:10]
    counts = dict(frame.filter(pl.col("_surname").is_not_null()).group_by("_surname").len().iter_rows())
    total = sum(counts.values())
    rows, gaps = [], []
    for name in top:
        share = counts.get(name, 0) / total
        gaps.append(abs(100 * (share - reference[name])))
        rows.append([name, round(share, 4), reference[name], round(100 * (share - reference[name]), 2)])
    return rows, float(np.max(gaps))
