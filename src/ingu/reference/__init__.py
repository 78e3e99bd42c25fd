"""Shipped official reference tables, their manifest, vocabularies and the user cache.

>>> from ingu.reference import load_table, table_entry
>>> pop = load_table("pop_mois_2024_district_sex_age5")   # polars.DataFrame
>>> table_entry("pop_mois_2024_district_sex_age5").licence
"""

from __future__ import annotations

from ingu.reference.manifest import TableEntry, load_manifest
from ingu.reference.tables import (
    ReferenceIntegrityError,
    UnknownTableError,
    cache_dir,
    clear_caches,
    describe_table,
    list_tables,
    load_table,
    table_entry,
)

__all__ = [
    "ReferenceIntegrityError",
    "TableEntry",
    "UnknownTableError",
    "cache_dir",
    "clear_caches",
    "describe_table",
    "list_tables",
    "load_manifest",
    "load_table",
    "table_entry",
]
