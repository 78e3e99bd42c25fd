"""k-anonymity sweep over quasi-identifier sets (paper §9.3).

A synthetic record is no one, so a small equivalence class is not a disclosure; the risk the paper
names is downstream users reading micro-cohort cells as population estimates. The sweep reports,
for growing QI sets, the number of classes, the smallest class and the records in classes below k.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ingu.audit.axes.base import clean, table
from ingu.audit.thresholds import Thresholds

AGE_BAND = "_age_band10"
QI_SETS: tuple[tuple[str, ...], ...] = (
    ("sex", AGE_BAND, "province"),
    ("sex", AGE_BAND, "province", "education_level"),
    ("sex", AGE_BAND, "province", "education_level", "occ_major"),
    ("sex", "age", "district", "education_level", "occupation"),
)


def k_anonymity(frame: pl.DataFrame, thresholds: Thresholds) -> dict[str, Any]:
    """Sweep the QI sets the dataset has; one group-by each."""
    k = thresholds.k_anonymity
    data = frame.with_columns((pl.col("age") // 10 * 10).alias(AGE_BAND)) if "age" in frame.columns else frame
    rows, results = [], []
    for qi in QI_SETS:
        shown = ", ".join("age band (10y)" if c == AGE_BAND else c for c in qi)
        if any(c not in data.columns for c in qi):
            rows.append([shown, None, None, None, None, "skipped: field missing"])
            continue
        sizes = data.group_by(list(qi)).len("size")["size"]
        below = sizes.filter(sizes < k)
        small_records = int(below.sum()) if below.len() else 0
        results.append({"qi": list(qi), "classes": sizes.len(), "smallest": int(sizes.min()),
                        "records_below_k": small_records, "share_below_k": small_records / max(data.height, 1)})
        rows.append([shown, sizes.len(), int(sizes.min()), small_records, round(small_records / max(data.height, 1), 5), ""])
    worst = next((r for r in reversed(results) if r["records_below_k"]), None)
    summary = (f"k = {k}: the coarsest QI set has smallest class {results[0]['smallest']}; "
               + (f"with {len(worst['qi'])} QIs, {worst['records_below_k']:,} records sit in classes below k."
                  if worst else "no class below k in any QI set.")) if results else "no QI set computable"
    return clean({"summary": summary, "k": k, "sets": results,
                  "tables": [table("k-anonymity sweep", ["quasi-identifiers", "classes", "smallest class",
                                                         f"records in classes < {k}", "share", "note"], rows,
                                   note="Synthetic records are not persons: small classes matter because downstream "
                                        "users may read micro-cohorts as population estimates (paper §9.3).")]})
