"""Render an audit ``report`` dict as report.json, report.md and a self-contained report.html.

The report dict is the plain-JSON contract produced by the audit (tool, dataset, thresholds,
references, summary, axes, baseline, crosswalk, robustness, privacy, text, recommendations). Any
key may be missing, null or of the wrong type: rendering shows what is there and never raises on
content.

Both renderers go through one *view* (:func:`build_view`): the report normalised into strings that
are already formatted (shares as %, grouped integers, four significant digits) but **not** escaped,
so each output escapes for its own syntax — Jinja2 autoescape in a sandbox for HTML, explicit
escaping of Markdown/HTML metacharacters for Markdown. Dataset values (labels, notes, occupation
titles) are untrusted throughout.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from jinja2 import PackageLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from ingu.audit.charts import as_number, chart_table, clean_text, format_number, render_svg
from ingu.io.writers import write_text_atomic

__all__ = [
    "REPORT_FILES",
    "build_view",
    "format_cell",
    "render_html",
    "render_markdown",
    "to_json",
    "write_report",
]

#: Output name by format, as returned by :func:`write_report`.
REPORT_FILES: dict[str, str] = {"json": "report.json", "md": "report.md", "html": "report.html"}

_VERDICTS = ("pass", "flag", "skip")
_DATASET_KEYS = {"path", "profile", "rows", "source_columns", "missing_fields", "notes"}
_SECTION_TITLES = {
    "baseline": "Marginal fidelity baseline",
    "crosswalk": "KSCO crosswalk",
    "robustness": "Robustness",
    "privacy": "Privacy",
    "text": "Text checks",
}


# --------------------------------------------------------------------------------------------------
# Defensive access: the contract allows anything to be missing or null.


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _str(value: Any) -> str:
    """Text for display: ``None`` is empty, numbers are formatted, the rest is ``str()``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # ids, years and small counts: no grouping ("2024", not "2,024")
    if isinstance(value, float) or as_number(value) is not None:
        return format_number(value)
    return clean_text(value)


# --------------------------------------------------------------------------------------------------
# Number formatting by name (tables and statistics carry no unit in the contract).


def _unit_for(name: str) -> str | None:
    """Guess a display unit from a column or statistic name.

    ``pp`` as a word → percentage points; ``share``/``rate``/``coverage``/``proportion`` → a 0–1
    share shown as % (only applied to values within [0, 1], see :func:`format_cell`), unless the
    name already says ``%`` or ``ratio``. Anything else is formatted generically.
    """
    lowered = name.lower()
    words = set(re.split(r"[^a-z0-9]+", lowered))
    if "pp" in words:
        return "pp"
    if "%" in lowered or "ratio" in words or "percent" in words or "pct" in words:
        return None
    if words & {"share", "rate", "coverage", "proportion", "fraction"}:
        return "share"
    return None


def _is_year(name: str) -> bool:
    return "year" in re.split(r"[^a-z0-9]+", name.lower()) or "연도" in name


def format_cell(value: Any, name: str = "", *, signed: bool = True) -> str:
    """Format one table cell or statistic value; ``name`` (column/statistic name) picks the unit.

    Strings pass through; ``None``/NaN show as an em dash; numbers follow :func:`format_number`,
    with a 0–1 value under a share-like name shown as a percentage and a ``pp`` name in percentage
    points — signed (a difference) unless ``signed`` is false or the name says ``abs``.
    """
    if value is None or isinstance(value, str):
        return format_number(value)
    if isinstance(value, (list, tuple)):  # e.g. a statistic listing out-of-band buckets
        return ", ".join(format_cell(v, name, signed=signed) for v in value) or "—"
    if isinstance(value, Mapping):
        return "; ".join(
            f"{_str(k)}: {format_cell(v, _str(k), signed=signed)}" for k, v in value.items()
        )
    if isinstance(value, int) and not isinstance(value, bool) and _is_year(name):
        return str(value)
    unit = _unit_for(name)
    number = as_number(value)
    if unit == "share" and (number is None or not 0 <= number <= 1 or isinstance(value, bool)):
        unit = None
    text = format_number(value, unit)
    if unit == "pp" and (not signed or "abs" in re.split(r"[^a-z0-9]+", name.lower())):
        text = text.removeprefix("+")
    return text


# --------------------------------------------------------------------------------------------------
# The view: one normalised, formatted, *unescaped* structure for both renderers.


def _anchor(prefix: str, key: str, used: set[str]) -> str:
    """An HTML id from untrusted text: [A-Za-z0-9_-] only, unique within the page."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-")[:60] or "x"
    anchor, i = f"{prefix}-{slug}", 2
    while anchor in used:
        anchor, i = f"{prefix}-{slug}-{i}", i + 1
    used.add(anchor)
    return anchor


def _table_view(table: Any) -> dict[str, Any] | None:
    """A contract TABLE as {title, columns, rows: [[{text, num}]], note}; ``None`` if unusable."""
    data = _map(table)
    rows_in = [r for r in _list(data.get("rows")) if isinstance(r, (list, tuple))]
    columns = [_str(c) for c in _list(data.get("columns"))]
    if not columns and not rows_in:
        return None
    width = max([len(columns)] + [len(r) for r in rows_in])
    # Ragged input: pad the header and short rows so every row has one cell per column.
    columns += [""] * (width - len(columns))
    rows = []
    for raw in rows_in:
        cells = []
        for i in range(width):
            value = raw[i] if i < len(raw) else None
            numeric = as_number(value) is not None or (
                isinstance(value, float) and not math.isfinite(value)
            )
            cells.append({"text": format_cell(value, columns[i]), "num": numeric})
        rows.append(cells)
    # A column is numeric (right-aligned, header included) when all its non-empty cells are numbers.
    numeric = []
    for i in range(width):
        filled = [row[i] for row in rows if row[i]["text"] != "—"]
        numeric.append(bool(filled) and all(cell["num"] for cell in filled))
    return {
        "title": _str(data.get("title")),
        "columns": columns,
        "numeric": numeric,
        "rows": rows,
        "note": _str(data.get("note")),
    }


def _chart_view(chart: Any) -> dict[str, Any]:
    return {
        "title": _str(_map(chart).get("title")),
        "svg": render_svg(chart),
        "table": _table_view(chart_table(chart)),
    }


_BLOCK_KEYS = {"title", "summary", "note", "tables", "charts", "metrics"}


def _is_fact(value: Any) -> bool:
    """Scalars and flat lists of scalars: what a section's extra keys may show as facts."""
    scalar = (str, int, float, bool)
    if isinstance(value, scalar) or as_number(value) is not None:
        return True
    return (
        isinstance(value, (list, tuple))
        and bool(value)
        and all(isinstance(v, scalar) for v in value)
    )


def _facts(data: Mapping[str, Any], known: set[str]) -> list[dict[str, str]]:
    """Keys beyond the contract (e.g. a crosswalk's ``version``/``coverage``, a robustness summary
    number) as name/value facts, in the producer's order; nested structures are left to tables."""
    return [
        {"name": _str(k), "value": format_cell(v, _str(k))}
        for k, v in data.items()
        if _str(k) not in known and _is_fact(v)
    ]


def _block_view(section: Any, key: str) -> dict[str, Any] | None:
    """The shared shape of baseline/crosswalk/robustness/privacy/text sections."""
    if not isinstance(section, Mapping):
        return None
    tables = [t for t in (_table_view(x) for x in _list(section.get("tables"))) if t]
    charts = [_chart_view(c) for c in _list(section.get("charts")) if isinstance(c, Mapping)]
    summary = "\n\n".join(s for s in (_str(section.get("summary")), _str(section.get("note"))) if s)
    return {
        "anchor": f"sec-{key}",
        "title": _str(section.get("title")) or _SECTION_TITLES[key],
        "summary": summary,
        "facts": _facts(section, _BLOCK_KEYS),
        "metrics": None,
        "tables": tables,
        "charts": charts,
    }


def _verdict(value: Any) -> tuple[str, str]:
    """(css class, label) for a verdict; unknown verdicts render neutral with their own text."""
    text = _str(value).strip()
    key = text.lower()
    if key in _VERDICTS:
        return key, key.upper()
    return "unknown", text.upper() or "—"


def _recommendation_class(value: str) -> str:
    """Colour class for a use recommendation: USE green, USE WITH … amber, DO NOT … red."""
    key = " ".join(value.upper().split())
    if key.startswith("DO NOT") or key in {"AVOID", "NO"}:
        return "avoid"
    if key == "USE":
        return "use"
    if key.startswith("USE"):
        return "caution"
    return "unknown"


def build_view(report: Any) -> dict[str, Any]:
    """Normalise a report dict into the formatted (unescaped) view both renderers lay out."""
    r = _map(report)
    tool = _map(r.get("tool"))
    dataset = _map(r.get("dataset"))
    references_in = [_map(x) for x in _list(r.get("references")) if isinstance(x, Mapping)]
    ref_by_id = {_str(x.get("id")): x for x in references_in if _str(x.get("id"))}
    used: set[str] = set()

    def ref_list(ids: Any) -> list[dict[str, str]]:
        out = []
        for rid in _list(ids) if not isinstance(ids, str) else [ids]:
            rid_s = _str(rid)
            ref = ref_by_id.get(rid_s, {})
            tip = ", ".join(
                s
                for s in (_str(ref.get("title")), _str(ref.get("agency")), _str(ref.get("year")))
                if s
            )
            out.append({"id": rid_s, "tip": tip})
        return out

    axes = []
    for i, raw in enumerate(_list(r.get("axes"))):
        if not isinstance(raw, Mapping):
            continue
        axis_id = _str(raw.get("id")) or f"axis {i + 1}"
        cls, label = _verdict(raw.get("verdict"))
        statistics = [
            {"name": _str(k), "value": format_cell(v, _str(k))}
            for k, v in _map(raw.get("statistics")).items()
        ]
        axes.append(
            {
                "id": axis_id,
                "anchor": _anchor("axis", axis_id, used),
                "title": _str(raw.get("title")) or axis_id,
                "verdict": label,
                "verdict_class": cls,
                "reason": _str(raw.get("reason")),
                "headline": _str(raw.get("headline")),
                "references": ref_list(raw.get("reference")),
                "statistics": statistics,
                "tables": [t for t in (_table_view(x) for x in _list(raw.get("tables"))) if t],
                "charts": [
                    _chart_view(c) for c in _list(raw.get("charts")) if isinstance(c, Mapping)
                ],
            }
        )

    summary = _map(r.get("summary"))
    counts_in = _map(summary.get("verdicts"))
    counts = []
    for verdict in _VERDICTS:
        if verdict in counts_in:
            n = counts_in.get(verdict)
        else:  # not reported: count the axes rather than show nothing
            n = sum(1 for a in axes if a["verdict_class"] == verdict) if axes else None
        counts.append({"verdict": verdict, "label": verdict.upper(), "n": _str(n) or "—"})

    recommendations = []
    for raw in _list(r.get("recommendations")):
        if isinstance(raw, Mapping):
            rec = _str(raw.get("recommendation"))
            recommendations.append(
                {
                    "task": _str(raw.get("task")),
                    "recommendation": rec or "—",
                    "cls": _recommendation_class(rec),
                    "reason": _str(raw.get("reason")),
                }
            )

    sections: dict[str, dict[str, Any] | None] = {}
    baseline = _block_view(r.get("baseline"), "baseline")
    if baseline is not None:
        metric_rows = [
            [
                _str(m.get("dimension")),
                _str(m.get("metric")),
                m.get("value"),
                _str(m.get("reading")),
            ]
            for m in (_map(x) for x in _list(_map(r.get("baseline")).get("metrics")))
        ]
        if metric_rows:
            baseline["metrics"] = _table_view(
                {"columns": ["Dimension", "Metric", "Value", "Reading"], "rows": metric_rows}
            )
    sections["baseline"] = baseline
    for key in ("crosswalk", "robustness", "privacy", "text"):
        sections[key] = _block_view(r.get(key), key)

    thresholds = [
        {"name": _str(k), "value": format_cell(v, _str(k), signed=False)}
        for k, v in _map(r.get("thresholds")).items()
    ]
    references = [
        {
            "id": _str(x.get("id")),
            "title": _str(x.get("title")),
            "agency": _str(x.get("agency")),
            "year": _str(x.get("year")),
            "universe": _str(x.get("universe")),
        }
        for x in references_in
    ]

    source_columns = [
        {"field": _str(k), "column": _str(v)}
        for k, v in _map(dataset.get("source_columns")).items()
    ]
    rows = dataset.get("rows")
    dataset_path = _str(dataset.get("path"))
    name = dataset_path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] if dataset_path else ""

    nav = [("sec-summary", "Summary"), ("sec-verdicts", "Verdicts")]
    if recommendations:
        nav.append(("sec-recommendations", "Use recommendations"))
    if baseline:
        nav.append(("sec-baseline", "Baseline"))
    if axes:
        nav.append(("sec-axes", "Axes"))
    nav += [(s["anchor"], s["title"]) for k, s in sections.items() if s and k != "baseline"]
    if _map(dataset.get("source_columns")):
        nav.append(("sec-columns", "Source columns"))
    if thresholds:
        nav.append(("sec-thresholds", "Thresholds"))
    if references:
        nav.append(("sec-references", "References"))

    return {
        "title": f"Audit report: {name}" if name else "Audit report",
        "tool": " ".join(s for s in (_str(tool.get("name")), _str(tool.get("version"))) if s),
        "generated_at": _str(r.get("generated_at")),
        "dataset": {
            "path": dataset_path,
            "profile": _str(dataset.get("profile")),
            "rows": format_number(rows, "count") if as_number(rows) is not None else _str(rows),
            "source_columns": source_columns,
            "missing_fields": [_str(x) for x in _list(dataset.get("missing_fields"))],
            "notes": [_str(x) for x in _list(dataset.get("notes")) if _str(x)],
            "extra": _facts(dataset, _DATASET_KEYS),
        },
        "summary": {"counts": counts, "text": _str(summary.get("text"))},
        "axes": axes,
        "recommendations": recommendations,
        "baseline": baseline,
        "sections": [s for k, s in sections.items() if s and k != "baseline"],
        "thresholds": thresholds,
        "references": references,
        "nav": [{"anchor": a, "label": label} for a, label in nav],
    }


# --------------------------------------------------------------------------------------------------
# HTML


@functools.lru_cache(maxsize=1)
def _environment() -> SandboxedEnvironment:
    # Sandboxed + autoescaped: the view is ours, but its strings come from the dataset; the sandbox
    # also keeps a future template edit from reaching Python internals through them.
    return SandboxedEnvironment(
        loader=PackageLoader("ingu.audit", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(report: Any) -> str:
    """Render the report as one self-contained HTML page: inline CSS and SVG, no scripts or URLs."""
    view = build_view(report)
    # The SVG strings are built by charts.render_svg, which escapes every piece of text itself.
    for chart in _iter_charts(view):
        chart["svg"] = Markup(chart["svg"])
    return _environment().get_template("report.html.j2").render(view=view)


def _iter_charts(view: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for axis in view["axes"]:
        yield from axis["charts"]
    for section in [view["baseline"], *view["sections"]]:
        if section:
            yield from section["charts"]


# --------------------------------------------------------------------------------------------------
# Markdown

_MD_SPECIAL = re.compile(r"([\\`*\[\]|~])")
# Underscores only matter at word edges in CommonMark; leaving intraword ones keeps snake_case
# identifiers readable in the raw file.
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def _md(text: str) -> str:
    """Escape untrusted text for Markdown: HTML metacharacters as entities, markup backslashed."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return _MD_UNDERSCORE.sub(r"\\_", text)


def _md_cell(text: str) -> str:
    """A table cell: escaped, on one line (a newline would end the table row)."""
    return " ".join(_md(text).split()) or " "


def _md_para(text: str) -> str:
    """A paragraph: escaped, blank lines kept, a line that would open a block is guarded."""
    lines = []
    for line in _md(text).splitlines():
        # "-", "+", "1." or ">" at the start of a line would make a list or quote.
        lines.append(re.sub(r"^(\s*)([-+=#]|\d+\.)", r"\1\\\2", line))
    return "\n".join(lines)


def _md_table(table: dict[str, Any] | None, out: list[str], heading: str = "####") -> None:
    if not table:
        return
    if table["title"]:
        out += [f"{heading} {_md_cell(table['title'])}", ""]
    columns = table["columns"]
    if columns:
        out.append("| " + " | ".join(_md_cell(c) for c in columns) + " |")
        out.append(
            "|" + "|".join("---:" if numeric else "---" for numeric in table["numeric"]) + "|"
        )
        for row in table["rows"]:
            out.append("| " + " | ".join(_md_cell(c["text"]) for c in row) + " |")
        out.append("")
    if table["note"]:
        out += [f"*{_md_cell(table['note'])}*", ""]


def _md_kv(
    rows: list[dict[str, str]], key: str, value: str, head: tuple[str, str], out: list[str]
) -> None:
    if not rows:
        return
    out += [f"| {head[0]} | {head[1]} |", "|---|---:|"]
    out += [f"| {_md_cell(r[key])} | {_md_cell(r[value])} |" for r in rows]
    out.append("")


def _md_block(section: dict[str, Any], out: list[str]) -> None:
    out += [f"## {_md_cell(section['title'])}", ""]
    if section["summary"]:
        out += [_md_para(section["summary"]), ""]
    _md_kv(section["facts"], "name", "value", ("Item", "Value"), out)
    _md_table(section["metrics"], out)
    for table in section["tables"]:
        _md_table(table, out, "###")
    for chart in section["charts"]:
        _md_chart(chart, out, "###")


def _md_chart(chart: dict[str, Any], out: list[str], heading: str) -> None:
    table = dict(
        chart["table"] or {"columns": [], "numeric": [], "rows": [], "note": "", "title": ""}
    )
    table["title"] = f"Figure data: {chart['title']}" if chart["title"] else "Figure data"
    _md_table(table, out, heading)


def render_markdown(report: Any) -> str:
    """Render the report as GitHub-flavoured Markdown (charts appear as their data tables)."""
    v = build_view(report)
    d = v["dataset"]
    out: list[str] = [f"# {_md_cell(v['title'])}", ""]
    facts = [
        ("Dataset", d["path"]),
        ("Profile", d["profile"]),
        ("Rows", d["rows"]),
        ("Generated", v["generated_at"]),
        ("Tool", v["tool"]),
    ]
    out += [f"- **{k}:** {_md_cell(x)}" for k, x in facts if x]
    if d["missing_fields"]:
        out.append("- **Missing fields:** " + ", ".join(_md_cell(x) for x in d["missing_fields"]))
    out += [
        f"- **{_md_cell(f['name'].replace('_', ' '))}:** {_md_cell(f['value'])}" for f in d["extra"]
    ]
    out += [f"- **Note:** {_md_cell(x)}" for x in d["notes"]]
    out.append("")
    if d["source_columns"]:
        out += ["**Source columns**", ""]
        _md_kv(d["source_columns"], "field", "column", ("Field", "Column"), out)

    out += ["## Summary", ""]
    out += [
        "Verdicts: "
        + ", ".join(f"**{c['label']}** {_md_cell(c['n'])}" for c in v["summary"]["counts"]),
        "",
    ]
    if v["summary"]["text"]:
        out += [_md_para(v["summary"]["text"]), ""]

    out += ["## Verdicts", ""]
    if v["axes"]:
        out += [
            "| Axis | Reference | Headline diagnostic | Verdict | Reason |",
            "|---|---|---|---|---|",
        ]
        for a in v["axes"]:
            refs = ", ".join(r["id"] for r in a["references"])
            out.append(
                f"| {_md_cell(a['title'])} | {_md_cell(refs)} | {_md_cell(a['headline'])} "
                f"| **{_md_cell(a['verdict'])}** | {_md_cell(a['reason'])} |"
            )
        out.append("")
    else:
        out += ["No axes were audited.", ""]

    if v["recommendations"]:
        out += [
            "## Use recommendations",
            "",
            "| Downstream task | Recommendation | Reason |",
            "|---|---|---|",
        ]
        out += [
            f"| {_md_cell(x['task'])} | **{_md_cell(x['recommendation'])}** "
            f"| {_md_cell(x['reason'])} |"
            for x in v["recommendations"]
        ]
        out.append("")

    if v["baseline"]:
        _md_block(v["baseline"], out)

    if v["axes"]:
        out += ["## Axes", ""]
    for a in v["axes"]:
        out += [f"### {_md_cell(a['title'])}: {_md_cell(a['verdict'])}", ""]
        out += [f"- **Axis:** {_md_cell(a['id'])}"]
        if a["references"]:
            out.append(
                "- **Reference:** "
                + ", ".join(
                    _md_cell(r["id"]) + (f" ({_md_cell(r['tip'])})" if r["tip"] else "")
                    for r in a["references"]
                )
            )
        if a["headline"]:
            out.append(f"- **Headline:** {_md_cell(a['headline'])}")
        if a["reason"]:
            out.append(f"- **Reason:** {_md_cell(a['reason'])}")
        out.append("")
        _md_kv(a["statistics"], "name", "value", ("Statistic", "Value"), out)
        for table in a["tables"]:
            _md_table(table, out)
        for chart in a["charts"]:
            _md_chart(chart, out, "####")

    for section in v["sections"]:
        _md_block(section, out)

    if v["thresholds"]:
        out += ["## Thresholds", ""]
        _md_kv(v["thresholds"], "name", "value", ("Threshold", "Value"), out)
    if v["references"]:
        out += [
            "## References",
            "",
            "| Id | Title | Agency | Year | Universe |",
            "|---|---|---|---|---|",
        ]
        out += [
            "| "
            + " | ".join(_md_cell(x[k]) for k in ("id", "title", "agency", "year", "universe"))
            + " |"
            for x in v["references"]
        ]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# --------------------------------------------------------------------------------------------------
# JSON and files


def _jsonable(value: Any) -> Any:
    """Plain JSON values: NaN/±inf become null, tuples lists, numpy scalars Python numbers."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    item = getattr(value, "item", None)
    if callable(item):  # numpy scalar
        with contextlib.suppress(TypeError, ValueError):
            return _jsonable(item())
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    tolist = getattr(value, "tolist", None)
    if callable(tolist):  # numpy array
        return _jsonable(tolist())
    return str(value)


def to_json(report: Any) -> str:
    """The report as strict JSON text (UTF-8 friendly, indented; NaN/inf written as null)."""
    return json.dumps(_jsonable(report), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def write_report(report: Any, out_dir: Path | str) -> dict[str, Path]:
    """Write report.json, report.md and report.html into ``out_dir`` (created if needed).

    All three are rendered in memory first, so a rendering error writes nothing; each file then
    appears atomically (temporary file in ``out_dir`` + ``os.replace``), replacing an older one.
    Returns ``{"json": path, "md": path, "html": path}``.
    """
    out = Path(out_dir)
    texts = {"json": to_json(report), "md": render_markdown(report), "html": render_html(report)}
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for key, text in texts.items():
        path = out / REPORT_FILES[key]
        write_text_atomic(path, text)
        paths[key] = path
    return paths
