"""The ``ingu`` command: thin wrappers that parse options and call the packages."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

app = typer.Typer(help="ingu (인구): synthetic Korean populations faithful to official statistics.",
                  no_args_is_help=True, add_completion=False)
reference_app = typer.Typer(help="Shipped official reference tables.", no_args_is_help=True)
model_app = typer.Typer(help="The population model.", no_args_is_help=True)
app.add_typer(reference_app, name="reference")
app.add_typer(model_app, name="model")
console = Console(stderr=True)


def _fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _load_model(refit: bool = False):
    from ingu.model.build import load_model

    with console.status("fitting the population model to the reference tables …"):
        return load_model(refit=refit)


@app.command()
def generate(
    n: int = typer.Option(10_000, "-n", help="Number of records."),
    seed: int = typer.Option(0, "--seed", help="Random seed; same seed ⇒ identical rows."),
    output: Path = typer.Option(Path("personas.parquet"), "-o", "--output",
                                help="Output file: .parquet, .jsonl or .csv."),
    where: Optional[str] = typer.Option(None, "--where",
                                        help="Condition, e.g. \"sex == '여자' and 30 <= age < 40\"."),
    full_population: bool = typer.Option(False, "--full-population",
                                         help="Every registered adult of Korea (≈43.7M), streamed."),
    chunk_size: int = typer.Option(65_536, "--chunk-size", help="Rows per written batch / row group."),
    workers: int = typer.Option(2, "--workers", help="Sampling threads."),
    narrator: str = typer.Option("none", "--narrator", help="Narrative generator (only 'none' for now)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output file."),
) -> None:
    """Sample synthetic Korean adults (NPK's 26 columns + extensions) to a file."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from ingu.io.writers import OutputError, check_output, open_writer
    from ingu.sample.posterior import EmptyConditionalError
    from ingu.sample.sampler import SamplingError, generate as generate_rows, plan, population_size
    from ingu.sample.where import WhereError

    if narrator != "none":
        _fail(f"unknown narrator {narrator!r}: only 'none' is available in this version")
    if not full_population and n <= 0:
        _fail(f"-n must be a positive number of records, got {n}")
    try:
        check_output(output, overwrite=overwrite)
    except OutputError as exc:
        _fail(str(exc).replace("pass overwrite=True", "pass --overwrite"))
    model = _load_model()
    try:
        p = plan(model, where, full_population=full_population)
    except (WhereError, SamplingError) as exc:
        _fail(str(exc))
    except EmptyConditionalError:
        _fail(f"no adult satisfies --where {where!r} under the model (an empty conditional)")
    total = population_size(p) if full_population else n
    started = time.perf_counter()
    try:
        with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=console, transient=True) as progress:
            task = progress.add_task("sampling", total=total, visible=False)

            def advance(rows: int) -> None:
                if time.perf_counter() - started > 1.0:
                    progress.update(task, visible=True)
                progress.advance(task, rows)

            with open_writer(output, overwrite=overwrite) as writer:
                for table in generate_rows(p, total, seed, chunk_size=chunk_size, workers=workers,
                                           on_rows=advance):
                    writer.write(table)
    except KeyboardInterrupt:
        _fail("interrupted; no output file was written", code=130)
    except (OutputError, SamplingError) as exc:
        _fail(str(exc))
    seconds = time.perf_counter() - started
    console.print(f"wrote {total:,} records to {output} in {seconds:.1f} s")


def _pairs(values: list[str], option: str) -> dict[str, str]:
    """``["a=b", …]`` → ``{"a": "b"}``, with a clear error for anything else."""
    out = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key.strip() or not item.strip():
            _fail(f"{option} expects NAME=VALUE, got {value!r}")
        out[key.strip()] = item.strip()
    return out


@app.command()
def audit(
    data: Path = typer.Argument(..., help="Persona file or directory of Parquet shards (.parquet, .jsonl, .csv)."),
    out: Path = typer.Option(Path("audit"), "--out", help="Directory for report.json, report.md, report.html."),
    profile: str = typer.Option("auto", "--profile", help="Column layout: auto, ingu or npk."),
    mapping: list[str] = typer.Option([], "--map", help="column=field, for datasets with other column names."),
    threshold: list[str] = typer.Option([], "--threshold", help="NAME=VALUE to override a verdict threshold."),
    text: bool = typer.Option(True, "--text/--no-text", help="Scan narrative columns (lengths, PII, agreement)."),
    fail_on: str = typer.Option("never", "--fail-on", help="Exit 1 when an axis has this verdict: flag, skip or never."),
) -> None:
    """Audit a persona dataset against official Korean statistics (marginals + six IAF joint axes)."""
    from pydantic import ValidationError

    from ingu.audit.profiles import DatasetFieldError, parse_mapping
    from ingu.audit.report import write_report
    from ingu.audit.runner import fail_exit_code, run_audit
    from ingu.audit.thresholds import Thresholds
    from ingu.io.readers import DatasetReadError

    if fail_on not in ("flag", "skip", "never"):
        _fail(f"--fail-on must be flag, skip or never, got {fail_on!r}")
    try:
        thresholds = Thresholds.from_overrides(_pairs(threshold, "--threshold"))
    except ValidationError as exc:
        _fail("bad --threshold: " + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    try:
        columns_to_fields = parse_mapping(mapping)
    except ValueError as exc:
        _fail(str(exc))
    started = time.perf_counter()
    try:
        with console.status("auditing …") as status:
            report = run_audit(data, profile=profile, mapping=columns_to_fields, thresholds=thresholds,
                               text=text, progress=lambda message: status.update(f"auditing: {message} …"))
    except (DatasetReadError, DatasetFieldError, ValueError) as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted; no report was written", code=130)
    paths = write_report(report, out)
    seconds = time.perf_counter() - started
    for axis in report["axes"]:
        colour = {"pass": "green", "flag": "red", "skip": "yellow"}[axis["verdict"]]
        console.print(f"[{colour}]{axis['verdict']:>4}[/] {axis['id']}: {axis['reason']}", highlight=False, soft_wrap=True)
    console.print(f"audited {report['dataset']['rows']:,} records in {seconds:.1f} s → "
                  + ", ".join(str(p) for p in paths.values()), highlight=False)
    code = fail_exit_code(report, fail_on)
    if code:
        raise typer.Exit(code)


@reference_app.command("list")
def reference_list() -> None:
    """List the reference tables (shipped and fetched)."""
    from rich.table import Table

    from ingu.reference.tables import list_tables

    df = list_tables()
    table = Table(*df.columns)
    for row in df.iter_rows():
        table.add_row(*[str(x) for x in row])
    Console().print(table)


@reference_app.command("show")
def reference_show(table_id: str = typer.Argument(..., help="Table id, e.g. vocab_province.")) -> None:
    """Show a table's provenance and first rows."""
    from ingu.reference.tables import UnknownTableError, describe_table

    try:
        Console().print(describe_table(table_id), highlight=False)
    except UnknownTableError as exc:
        _fail(str(exc))


@reference_app.command("fetch")
def reference_fetch(
    table: str = typer.Option(..., "--table", help="KOSIS table id (DT_…) or a known alias."),
    api_key: Optional[str] = typer.Option(None, "--api-key", help="KOSIS OpenAPI key (or $KOSIS_API_KEY)."),
    period: Optional[str] = typer.Option(None, "--period", help="2024, 2020-2024, latest:N."),
    param: list[str] = typer.Option([], "--param", help="Extra KEY=VALUE query parameters."),
) -> None:
    """Refresh a table from the KOSIS OpenAPI into the user cache (preferred by the model)."""
    from ingu.reference.kosis import KosisError, fetch_command

    try:
        fetch_command(table, api_key, period, param, echo=lambda m: console.print(m, highlight=False))
    except (KosisError, ValueError) as exc:
        _fail(str(exc))


@model_app.command("card")
def model_card_command(
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write the card JSON here."),
) -> None:
    """Write the machine-readable model card (parents, tables, assumptions, fit reports)."""
    from ingu.model.card import model_card

    card = json.dumps(model_card(_load_model()), ensure_ascii=False, indent=1, default=str)
    if output:
        output.write_text(card + "\n", "utf-8")
        console.print(f"wrote the model card to {output}")
    else:
        sys.stdout.write(card + "\n")


@model_app.command("fit")
def model_fit(refit: bool = typer.Option(True, "--refit/--no-refit")) -> None:
    """Fit the model now (it is cached in the user cache and refitted when its inputs change)."""
    model = _load_model(refit=refit)
    console.print(f"fitted {len(model.network.variables)} variables; skipped blocks: {model.skipped_blocks}")


if __name__ == "__main__":
    app()
