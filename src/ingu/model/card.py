"""The machine-readable model card: for every variable its parents, tables and assumptions.

It is the disclosure the audit paper asks persona datasets for: what each column was fitted to, and
every conditional-independence assumption that remains (a variable is independent of every earlier
variable that is not its parent, given its parents).
"""

from __future__ import annotations

from ingu.model.build import FittedModel

INTERNAL = {"age_band", "name_cohort"}


def model_card(model: FittedModel) -> dict:
    """Build the card as a JSON-serialisable dict."""
    from ingu.reference import table_entry
    from ingu.reference.tables import UnknownTableError

    def describe(table_id: str) -> dict:
        try:
            e = table_entry(table_id)
        except (UnknownTableError, KeyError):
            return {"id": table_id}
        return {"id": table_id, "title": e.title, "agency": e.agency, "table_id": e.table_id,
                "year": e.year, "universe": e.universe}

    variables = []
    earlier: list[str] = []
    for v in model.network.variables:
        independent_of = [e for e in earlier if e not in v.parents and e not in INTERNAL]
        variables.append({
            "name": v.name,
            "internal": v.name in INTERNAL,
            "categories": len(v.labels),
            "parents": list(v.parents),
            "fitted_to": [describe(t) for t in v.fitted_to],
            "assumptions": list(v.assumptions),
            "conditionally_independent_of_given_parents": independent_of,
        })
        earlier.append(v.name)
    unmet = []
    for block, reports in model.reports.items():
        for name, report in reports.items():
            if isinstance(report, dict) and "margins" in report:
                unmet += [{"block": block, "fit": name, **m} for m in report["margins"] if not m["met"]]
    return {
        "model": model.spec.name,
        "version": model.spec.version,
        "reference_year": model.spec.reference_year,
        "universe": model.spec.universe,
        "skipped_blocks": model.skipped_blocks,
        "variables": variables,
        "tables_not_met": unmet,
        "fit_reports": model.reports,
    }
