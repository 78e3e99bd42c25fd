"""One audit run: read → derive → text pass → baseline, six axes, robustness, privacy → report dict.

The run reads only the dataset and the shipped reference tables; it never consults the generator,
so our own output is audited exactly like anyone else's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

import ingu
from ingu.audit.axes.base import AxisResult, clean, table
from ingu.audit.axes.lfp import sex_x_age_x_lfp
from ingu.audit.axes.major import major_x_occupation
from ingu.audit.axes.marital import sex_x_marital
from ingu.audit.axes.military import sex_x_age_x_military
from ingu.audit.axes.names import birthyear_x_sex_x_name
from ingu.audit.axes.occupation import sex_x_occupation
from ingu.audit.baseline import marginal_baseline
from ingu.audit.crosswalk import Crosswalk, coverage
from ingu.audit.derive import derive
from ingu.audit.privacy import k_anonymity
from ingu.audit.profiles import load_audit_data
from ingu.audit.recommend import recommendations
from ingu.audit.references import describe
from ingu.audit.robustness import robustness
from ingu.audit.text_checks import scan_text
from ingu.audit.thresholds import Thresholds
from ingu.io.readers import iter_batches

AXES: tuple[Callable[[pl.DataFrame, Thresholds], AxisResult], ...] = (
    sex_x_occupation, sex_x_age_x_lfp, sex_x_age_x_military, birthyear_x_sex_x_name, major_x_occupation, sex_x_marital,
)
REFERENCE_TABLES = (
    "lfs_sex_occupation_major_annual", "lafs_occupation_by_age", "paper_cells", "military_cells",
    "pop_mois_2024_district_sex_age5", "given_names_by_cohort", "surnames_2015", "census2020_education_25plus",
)

Progress = Callable[[str], None]


def run_audit(path: str | Path, profile: str = "auto", mapping: Mapping[str, str] | None = None,
              thresholds: Thresholds | None = None, *, text: bool = True, reference_year: int = 2024,
              progress: Progress | None = None) -> dict[str, Any]:
    """Audit the persona file or directory at ``path``; returns the report as a JSON-ready dict.

    Parameters
    ----------
    profile : {"auto", "ingu", "npk"}
        How to read the columns (``mapping`` renames anything else: ``{"column": "field"}``).
    thresholds : Thresholds, optional
        Verdict thresholds and resampling settings (defaults: :class:`Thresholds`).
    text : bool
        Scan the narrative columns (lengths, PII, agreement with the record; names for NPK).
    reference_year : int
        Year the dataset's ages refer to, for birth years when the dataset has none.
    """
    say = progress or (lambda _message: None)
    thresholds = thresholds or Thresholds()
    say("reading structured fields")
    data = load_audit_data(path, profile=profile, mapping=dict(mapping or {}))
    crosswalk = Crosswalk()
    frame, derivation = derive(data.frame, crosswalk, reference_year)

    text_section = None
    if text and data.text_columns:
        say(f"scanning {len(data.text_columns)} text columns")
        needs_names = not ({"given_name", "name"} & set(frame.columns))
        report = scan_text(iter_batches(data.path, list(data.text_columns.values())), data.text_columns,
                           frame, extract_names=needs_names)
        text_section = report.section
        if report.extracted_names is not None:
            frame = frame.with_columns(report.extracted_names)

    say("computing axes")
    axes = [axis(frame, thresholds) for axis in AXES]
    say("marginal baseline")
    baseline = marginal_baseline(frame)
    say("robustness")
    robust = robustness(frame, axes, thresholds)
    privacy = k_anonymity(frame, thresholds)
    verdicts = {v: sum(a.verdict == v for a in axes) for v in ("pass", "flag", "skip")}
    notes = list(data.notes) + [
        f"{name}: {source}" for name, source in (
            ("occupation major", derivation.occupation_source), ("employment", derivation.employment_source),
            ("active duty", derivation.military_source), ("birth year", derivation.birth_year_source)) if source
    ]
    return clean({
        "tool": {"name": "ingu", "version": ingu.__version__},
        "generated_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "dataset": {"path": str(path), "profile": data.profile, "rows": data.rows,
                    "source_columns": data.source_columns, "missing_fields": data.missing,
                    "text_columns": list(data.text_columns), "notes": notes},
        "thresholds": thresholds.model_dump(),
        "references": [describe(t) for t in REFERENCE_TABLES],
        "summary": {"verdicts": verdicts, "text": _summary_text(axes)},
        "axes": [a.to_dict() for a in axes],
        "baseline": baseline,
        "crosswalk": _crosswalk_section(frame, crosswalk),
        "robustness": robust,
        "privacy": privacy,
        "text": text_section,
        "recommendations": recommendations(axes, privacy, text_section),
    })


def _summary_text(axes: list[AxisResult]) -> str:
    flagged = [a.id for a in axes if a.verdict == "flag"]
    skipped_ = [a.id for a in axes if a.verdict == "skip"]
    parts = [f"{sum(a.verdict == 'pass' for a in axes)} of {len(axes)} axes pass"]
    if flagged:
        parts.append("flagged: " + ", ".join(flagged))
    if skipped_:
        parts.append("skipped: " + ", ".join(skipped_))
    return "; ".join(parts) + "."


def _crosswalk_section(frame: pl.DataFrame, crosswalk: Crosswalk) -> dict[str, Any]:
    section: dict[str, Any] = {"version": crosswalk.version}
    if "occupation" not in frame.columns:
        section["note"] = "the dataset has no free-text occupation; the crosswalk was not used"
        return section
    counts = frame.group_by("occupation").len("n")
    report = coverage(counts["occupation"].to_list(), counts["n"].to_numpy(), crosswalk)
    section["coverage"] = report.mapped_share
    tables = [
        table("Records by crosswalk step", ["step", "records"],
              sorted(([k, int(v)] for k, v in report.rows_by_rule.items()), key=lambda r: -r[1])),
        table("Unmapped labels by mass (top 20)", ["label", "records"],
              [[label, int(n)] for label, n in list(report.unmapped)[:20]]),
    ]
    if "occupation_major" in frame.columns:
        # The dataset's own major codes vs the crosswalk's reading of its titles: how far a reader
        # that trusted the file's codes would differ from the audit's.
        both = frame.filter(pl.col("occupation_major").is_not_null() & pl.col("occ_major").is_in(list("123456789A")))
        if both.height:
            agree = float((both["occupation_major"].cast(pl.Utf8) == both["occ_major"]).mean())
            section["agreement_with_dataset_codes"] = agree
            tables.append(table("Crosswalk vs the dataset's own occupation_major", ["records compared", "agreement"],
                                [[both.height, round(agree, 5)]]))
    section["tables"] = tables
    return section


def fail_exit_code(report: dict[str, Any], fail_on: str) -> int:
    """Exit status for ``--fail-on``: 1 when any axis has that verdict (``flag``) or worse."""
    if fail_on == "never":
        return 0
    bad = {"flag"} if fail_on == "flag" else {"flag", "skip"}
    return int(any(axis["verdict"] in bad for axis in report["axes"]))


__all__ = ["fail_exit_code", "run_audit"]
