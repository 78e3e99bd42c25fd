"""Rebuild the shipped reference tables from a copy of the upstream data folder.

Usage::

    python -m tools.build_reference SOURCE_DIR [--only MODULE ...]

SOURCE_DIR is the folder of gathered official tables (the project's data drop). This script is a
developer tool: the package itself never reads SOURCE_DIR; it reads only what this script writes
into ``src/ingu/reference/data`` (tables + ``manifest.json``).

Each domain module (``regions``, ``tables``, ``names`` …) exposes ``build(src, out) -> list[dict]``
returning one manifest entry per file it wrote. Entries of the modules that ran replace their old
entries; entries of other modules are kept, so domains can be rebuilt independently.
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

MODULES = ["regions", "tables", "names", "npk_priors", "household_prior", "audit_refs", "surveys"]
OUT = Path(__file__).resolve().parents[2] / "src" / "ingu" / "reference" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source", type=Path)
    parser.add_argument("--only", nargs="*", default=MODULES)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    manifest_path = OUT / "manifest.json"
    entries = json.loads(manifest_path.read_text("utf-8")) if manifest_path.exists() else []
    for name in args.only:
        module = importlib.import_module(f"tools.build_reference.{name}")
        new = module.build(args.source, OUT)
        for entry in new:
            entry["builder"] = name
        entries = [e for e in entries if e.get("builder") != name] + new
        print(f"{name}: {len(new)} tables")
    entries.sort(key=lambda e: e["id"])
    ids = [e["id"] for e in entries]
    if len(ids) != len(set(ids)):
        raise SystemExit(f"duplicate table ids in manifest: {sorted(i for i in ids if ids.count(i) > 1)}")
    manifest_path.write_text(json.dumps(entries, ensure_ascii=False, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
