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
    narrator: str = typer.Option("template", "--narrator",
                                 help="Who writes the 13 text fields: template (offline), local, openai, or none."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output file."),
    restart: bool = typer.Option(False, "--restart", help="Discard checkpoints of an earlier, different run."),
    max_retries: int = typer.Option(2, "--max-retries", help="Re-requests of a failing narrative before the fallback."),
    row_group_size: int = typer.Option(2048, "--row-group-size", help="Rows per narration checkpoint."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="openai: server URL, e.g. http://127.0.0.1:8000/v1"),
    model_name: Optional[str] = typer.Option(None, "--model", help="openai: model name on the server."),
    api_key_env: str = typer.Option("OPENAI_API_KEY", "--api-key-env", help="openai: environment variable with the key."),
    api: str = typer.Option("chat", "--api", help="openai: chat or completions."),
    concurrency: int = typer.Option(8, "--concurrency", help="openai: initial concurrent requests (adapts)."),
    max_concurrency: int = typer.Option(64, "--max-concurrency", help="openai: upper bound of concurrency."),
    timeout: float = typer.Option(120.0, "--timeout", help="openai: seconds per request."),
    cache: Optional[Path] = typer.Option(None, "--cache", help="openai: answer cache (SQLite); default OUT.cache.sqlite."),
    model_path: Optional[Path] = typer.Option(None, "--model-path", help="local: a GGUF file (default Gemma 3 270M)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="local: CPU threads."),
    prompts: Optional[Path] = typer.Option(None, "--prompts", help="Folder of replacement prompt files (*.j2)."),
    bank: Optional[Path] = typer.Option(None, "--bank", help="Folder of replacement phrase-bank files (*.yaml)."),
    templates: Optional[Path] = typer.Option(None, "--templates", help="Folder of replacement field templates (*.j2)."),
) -> None:
    """Sample synthetic Korean adults (NPK's 26 columns + extensions) and narrate them, to a file."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from ingu.io.writers import OutputError, check_output, open_writer
    from ingu.sample.sampler import SamplingError, generate as generate_rows

    options = _narrator_options(seed, base_url, model_name, api_key_env, api, concurrency, max_concurrency, timeout,
                                cache, output, model_path, threads, prompts, bank, templates)
    if not full_population and n <= 0:
        _fail(f"-n must be a positive number of records, got {n}")
    try:
        check_output(output, overwrite=overwrite)
    except OutputError as exc:
        _fail(str(exc).replace("pass overwrite=True", "pass --overwrite"))
    if narrator != "none":
        return _generate_narrated(n, seed, output, where, full_population, chunk_size, workers, narrator, options,
                                  restart, max_retries, row_group_size, overwrite)
    p, total = _sampling_plan(n, where, full_population)
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


def _narrator_options(seed, base_url, model_name, api_key_env, api, concurrency, max_concurrency, timeout, cache,
                      output, model_path, threads, prompts, bank, templates):
    from ingu.narrate.factory import NarratorOptions

    if api not in ("chat", "completions"):
        _fail(f"--api must be chat or completions, got {api!r}")
    return NarratorOptions(seed=seed, bank_dir=bank, template_dir=templates, prompt_dir=prompts, base_url=base_url,
                           model=model_name, api_key_env=api_key_env, api=api, concurrency=concurrency,
                           max_concurrency=max_concurrency, timeout=timeout,
                           cache_path=cache or output.with_name(output.name + ".cache.sqlite"),
                           model_path=model_path, threads=threads)


def _run_narration(source: Path, output: Path, narrator_name: str, options, *, overwrite: bool, restart: bool,
                   max_retries: int, row_group_size: int, fields: Optional[list[str]] = None, extra=None,
                   workers: int = 2) -> dict:
    """Narrate ``source`` into ``output`` with a progress bar (rows, tokens, tokens/s); print the summary."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ingu.io.readers import DatasetReadError
    from ingu.io.writers import OutputError
    from ingu.narrate.base import NarratorError
    from ingu.narrate.factory import make_narrator
    from ingu.narrate.fields import FIELDS
    from ingu.narrate.job import manifest_path, narrate_file
    from ingu.narrate.persona import PersonaError
    from ingu.narrate.run import NarrationRun

    if narrator_name == "openai" and options.cache_path is None:
        options.cache_path = output.with_name(output.name + ".cache.sqlite")
    started = time.perf_counter()
    try:
        backend = make_narrator(narrator_name, options)
    except NarratorError as exc:
        _fail(str(exc))
    try:
        with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[tokens]:,} tokens · {task.fields[rate]:,.0f} tok/s"),
                      TimeRemainingColumn(), console=console, transient=True) as progress:
            task = progress.add_task(f"narrating ({narrator_name})", total=None, tokens=0, rate=0.0)
            tokens = {"done": 0}

            def on_rows(rows: int, completion_tokens: int) -> None:
                tokens["done"] += completion_tokens
                elapsed = max(time.perf_counter() - started, 1e-9)
                progress.update(task, advance=rows, tokens=tokens["done"], rate=tokens["done"] / elapsed)

            run = NarrationRun(backend, max_retries=max_retries, fields=fields or FIELDS, on_rows=on_rows,
                               workers=workers)

            def on_group(rows_done: int, rows_total: int) -> None:
                progress.update(task, completed=rows_done, total=rows_total)

            manifest = narrate_file(source, output, run, row_group_size=row_group_size, overwrite=overwrite,
                                    restart=restart, extra=extra, on_group=on_group)
    except KeyboardInterrupt:
        _fail(f"interrupted; finished row groups are kept in {output}.parts — rerun the same command to resume",
              code=130)
    except (NarratorError, PersonaError, DatasetReadError, OutputError) as exc:
        _fail(str(exc))
    finally:
        if "run" in locals():
            run.close()
        if "backend" in locals():
            backend.close()
    counts = manifest["counts"]
    seconds = time.perf_counter() - started
    statuses = counts.get("statuses", {})
    console.print(
        f"narrated {counts['rows']:,} records with {narrator_name} in {seconds:.1f} s "
        f"({counts['rows'] / max(seconds, 1e-9):,.0f}/s): "
        + ", ".join(f"{statuses.get(k, 0):,} {k}" for k in ("ok", "retried", "fallback", "failed"))
        + f"; {counts['retried_fields']:,} field retries, {counts['fallback_fields']:,} fallbacks → {output} "
        f"(manifest {manifest_path(output)})", highlight=False, soft_wrap=True)
    return manifest


def _sampling_plan(n: int, where: Optional[str], full_population: bool):
    """The sampler's plan and the number of records to draw, or a clear error for a bad ``--where``."""
    from ingu.sample.posterior import EmptyConditionalError
    from ingu.sample.sampler import SamplingError, plan, population_size
    from ingu.sample.where import WhereError

    model = _load_model()
    try:
        p = plan(model, where, full_population=full_population)
    except (WhereError, SamplingError) as exc:
        _fail(str(exc))
    except EmptyConditionalError:
        _fail(f"no adult satisfies --where {where!r} under the model (an empty conditional)")
    return p, population_size(p) if full_population else n


def _generate_narrated(n, seed, output, where, full_population, chunk_size, workers, narrator, options, restart,
                       max_retries, row_group_size, overwrite) -> None:
    """Records first (into the checkpoint folder, so a resumed run reuses them), then narration."""
    import shutil

    from ingu.io.writers import OutputError, open_writer
    from ingu.narrate.job import parts_dir
    from ingu.sample.sampler import SamplingError, generate as generate_rows

    folder = parts_dir(output)
    records = folder / "records.parquet"
    request = {"n": None if full_population else n, "seed": seed, "where": where, "full_population": full_population}
    stamp = folder / "records.json"
    reuse = records.is_file() and stamp.is_file() and json.loads(stamp.read_text()) == request and not restart
    if not reuse:
        if folder.exists() and not restart and any(folder.iterdir()):
            _fail(f"{folder} holds checkpoints of an earlier run with other options; pass --restart to discard them")
        p, total = _sampling_plan(n, where, full_population)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        started = time.perf_counter()
        try:
            with console.status(f"sampling {total:,} records …"):
                with open_writer(records, overwrite=True) as writer:
                    for table in generate_rows(p, total, seed, chunk_size=chunk_size, workers=workers):
                        writer.write(table)
        except KeyboardInterrupt:
            shutil.rmtree(folder, ignore_errors=True)
            _fail("interrupted; no output file was written", code=130)
        except (OutputError, SamplingError) as exc:
            shutil.rmtree(folder, ignore_errors=True)
            _fail(str(exc))
        stamp.write_text(json.dumps(request))
        console.print(f"sampled {total:,} records in {time.perf_counter() - started:.1f} s", highlight=False)
    _run_narration(records, output, narrator, options, overwrite=overwrite, restart=False, max_retries=max_retries,
                   row_group_size=row_group_size, extra={"generate": request}, workers=workers)


@app.command()
def narrate(
    data: Path = typer.Argument(..., help="Record file (ours or NPK-shaped): .parquet (or a folder), .jsonl, .csv."),
    output: Path = typer.Option(..., "-o", "--output", help="Output file: .parquet, .jsonl or .csv."),
    narrator: str = typer.Option("template", "--narrator", help="template (offline), local or openai."),
    seed: int = typer.Option(0, "--seed", help="Seed of the template narrator and of LLM sampling."),
    fields: Optional[str] = typer.Option(None, "--fields", help="Comma-separated subset of the 13 fields to write."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output file."),
    restart: bool = typer.Option(False, "--restart", help="Discard checkpoints of an earlier, different run."),
    max_retries: int = typer.Option(2, "--max-retries", help="Re-requests of a failing narrative before the fallback."),
    row_group_size: int = typer.Option(2048, "--row-group-size", help="Rows per checkpoint."),
    workers: int = typer.Option(2, "--workers", help="Processes for the template narrator."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="openai: server URL, e.g. http://127.0.0.1:8000/v1"),
    model_name: Optional[str] = typer.Option(None, "--model", help="openai: model name on the server."),
    api_key_env: str = typer.Option("OPENAI_API_KEY", "--api-key-env", help="openai: environment variable with the key."),
    api: str = typer.Option("chat", "--api", help="openai: chat or completions."),
    concurrency: int = typer.Option(8, "--concurrency", help="openai: initial concurrent requests (adapts)."),
    max_concurrency: int = typer.Option(64, "--max-concurrency", help="openai: upper bound of concurrency."),
    timeout: float = typer.Option(120.0, "--timeout", help="openai: seconds per request."),
    cache: Optional[Path] = typer.Option(None, "--cache", help="openai: answer cache (SQLite); default OUT.cache.sqlite."),
    model_path: Optional[Path] = typer.Option(None, "--model-path", help="local: a GGUF file (default Gemma 3 270M)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="local: CPU threads."),
    prompts: Optional[Path] = typer.Option(None, "--prompts", help="Folder of replacement prompt files (*.j2)."),
    bank: Optional[Path] = typer.Option(None, "--bank", help="Folder of replacement phrase-bank files (*.yaml)."),
    templates: Optional[Path] = typer.Option(None, "--templates", help="Folder of replacement field templates (*.j2)."),
) -> None:
    """Write the 13 narrative fields for an existing record file (ours or NPK-shaped)."""
    options = _narrator_options(seed, base_url, model_name, api_key_env, api, concurrency, max_concurrency, timeout,
                                cache, output, model_path, threads, prompts, bank, templates)
    chosen = [f.strip() for f in fields.split(",")] if fields else None
    _run_narration(data, output, narrator, options, overwrite=overwrite, restart=restart, max_retries=max_retries,
                   row_group_size=row_group_size, fields=chosen, extra={"narrate": str(data)}, workers=workers)


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


@app.command()
def survey(
    questionnaire: str = typer.Argument(..., help="Questionnaire YAML file, or a shipped one by name (kgss_2016)."),
    personas: Path = typer.Option(..., "--personas", help="Persona file to sample respondents from."),
    n: int = typer.Option(1000, "-n", help="Respondents to draw."),
    backend: str = typer.Option("model", "--backend", help="model (offline response model), local or openai."),
    out: Path = typer.Option(Path("survey"), "--out", help="Output folder."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample and of the answers."),
    strata: str = typer.Option("sex,age_band,province", "--strata",
                               help="Stratification variables (comma-separated); 'none' for a simple random sample."),
    margins: str = typer.Option("reference", "--margins", help="Raking margins: reference (official) or personas."),
    validate: bool = typer.Option(False, "--validate", help="Compare with the real survey results the questions link to."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="openai: server URL."),
    model_name: Optional[str] = typer.Option(None, "--model", help="openai: model name on the server."),
    api_key_env: str = typer.Option("OPENAI_API_KEY", "--api-key-env", help="openai: environment variable with the key."),
    api: str = typer.Option("chat", "--api", help="openai: chat or completions."),
    concurrency: int = typer.Option(8, "--concurrency", help="openai: initial concurrent requests (adapts)."),
    max_concurrency: int = typer.Option(64, "--max-concurrency", help="openai: upper bound of concurrency."),
    timeout: float = typer.Option(120.0, "--timeout", help="openai: seconds per request."),
    cache: Optional[Path] = typer.Option(None, "--cache", help="LLM answer cache (SQLite); default OUT/answers.cache.sqlite."),
    max_retries: int = typer.Option(2, "--max-retries", help="LLM: re-asks of an unparseable answer."),
    model_path: Optional[Path] = typer.Option(None, "--model-path", help="local: a GGUF file (default Gemma 3 270M)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="local: CPU threads."),
) -> None:
    """Ask sampled personas a questionnaire; weight, estimate by group, and (--validate) compare with real surveys."""
    from ingu.io.readers import DatasetReadError, dataset_columns, read_columns
    from ingu.simulate.factory import (SURVEY_BACKENDS, SurveyBackendError, SurveyBackendOptions,
                                       make_survey_backend, resolve_questionnaire)
    from ingu.simulate.groups import GroupError
    from ingu.simulate.questionnaire import QuestionnaireError, load_questionnaire
    from ingu.simulate.sampling import SamplingError
    from ingu.simulate.survey import run_survey, sample_columns
    from ingu.simulate.weights import MARGIN_SOURCES, WeightingError

    if backend not in SURVEY_BACKENDS:
        _fail(f"unknown backend {backend!r}; known: {', '.join(SURVEY_BACKENDS)}")
    if margins not in MARGIN_SOURCES:
        _fail(f"--margins must be one of {', '.join(MARGIN_SOURCES)}, got {margins!r}")
    chosen_strata = [] if strata.strip().lower() == "none" else [s.strip() for s in strata.split(",") if s.strip()]
    options = SurveyBackendOptions(seed=seed, base_url=base_url, model=model_name, api_key_env=api_key_env, api=api,
                                   concurrency=concurrency, max_concurrency=max_concurrency, timeout=timeout,
                                   cache_path=cache or out / "answers.cache.sqlite", model_path=model_path,
                                   threads=threads, max_retries=max_retries)
    try:
        form = load_questionnaire(resolve_questionnaire(questionnaire))
        columns = sample_columns(dataset_columns(personas), needs_personas=backend != "model")
        with console.status(f"reading {personas} …"):
            population = read_columns(personas, columns)
        chosen = make_survey_backend(backend, population, options)
    except (QuestionnaireError, SurveyBackendError, DatasetReadError) as exc:
        _fail(str(exc))
    started = time.perf_counter()
    try:
        with console.status("surveying …") as status:
            manifest = run_survey(
                form, population, chosen, out, n=n, seed=seed, strata=chosen_strata, margins=margins,
                validate=validate, personas_source=str(personas),
                on_question=lambda i, total, qid: status.update(f"surveying: {qid} ({i + 1}/{total}) …"))
    except (QuestionnaireError, SamplingError, WeightingError, GroupError) as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted; answers already given are in the cache (LLM backends)", code=130)
    finally:
        chosen.close()
    for qid, counts in manifest["answers"].items():
        statuses = ", ".join(f"{v} {k}" for k, v in counts["statuses"].items())
        console.print(f"{qid}: {statuses}", highlight=False)
    for text in manifest["verdicts"].values():
        console.print(text, highlight=False, soft_wrap=True)
    if manifest.get("overall_verdict"):
        console.print(f"[bold]overall:[/] {manifest['overall_verdict']}", highlight=False, soft_wrap=True)
    console.print(f"surveyed {manifest['sample']['n']:,} personas × {len(form.questions)} questions with {backend} in "
                  f"{time.perf_counter() - started:.1f} s → {out}/", highlight=False)


@app.command()
def network(
    personas: Path = typer.Argument(..., help="Persona file (.parquet, .jsonl, .csv) whose rows become nodes."),
    out: Path = typer.Option(Path("network.parquet"), "-o", "--output", help="Edge list (Parquet)."),
    graphml: Optional[Path] = typer.Option(None, "--graphml", help="Also write GraphML here."),
    spec: Optional[Path] = typer.Option(None, "--spec", help="Network spec YAML (mean degree, target assortativity)."),
    mean_degree: Optional[float] = typer.Option(None, "--mean-degree", help="Override the spec's mean degree."),
    target: list[str] = typer.Option([], "--target", help="ATTRIBUTE=VALUE target assortativity (repeatable)."),
    seed: int = typer.Option(0, "--seed", help="Same seed ⇒ identical edges."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing output files."),
) -> None:
    """Build a homophily network over personas (age, district, education, occupation, family) and check it."""
    from ingu.io.readers import DatasetReadError, dataset_columns, read_columns
    from ingu.io.writers import OutputError
    from ingu.simulate.network import (NetworkInputError, NetworkOutputError, NetworkSpec, NetworkSpecError,
                                       build_network, load_network_spec, write_network)

    try:
        chosen = load_network_spec(spec)
        if mean_degree is not None or target:
            data = chosen.to_dict()
            if mean_degree is not None:
                data["mean_degree"] = mean_degree
            for key, value in _pairs(target, "--target").items():
                try:
                    data.setdefault("assortativity", {})[key] = float(value)
                except ValueError:
                    _fail(f"--target {key}={value}: not a number")
            chosen = NetworkSpec.from_dict(data, source="command line")
        columns = [c for c in chosen.input_columns() if c in dataset_columns(personas)]
        with console.status(f"reading {personas} …"):
            table = read_columns(personas, columns)
        started = time.perf_counter()
        with console.status(f"building a network over {table.num_rows:,} personas …"):
            built = build_network(table, chosen, seed, source=str(personas))
            write_network(built, out, graphml, overwrite=overwrite)
    except (NetworkSpecError, NetworkInputError, NetworkOutputError, OutputError, DatasetReadError) as exc:
        _fail(str(exc))
    for item in built.report.attributes:
        colour = "green" if item.within_tolerance else ("yellow" if item.target is None else "red")
        achieved = "–" if item.achieved is None else f"{item.achieved:.3f}"
        console.print(f"[{colour}]{item.name:>11}[/] target {item.target}  achieved {achieved}  {item.status}"
                      + (f" ({item.note})" if item.note else ""), highlight=False, soft_wrap=True)
    console.print(f"{built.n_nodes:,} nodes, {built.n_edges:,} edges, mean degree {built.degree().mean():.2f} in "
                  f"{time.perf_counter() - started:.1f} s → {out}" + (f", {graphml}" if graphml else ""), highlight=False)
    if not built.report.ok:
        console.print("[red]some targets were not met within tolerance; see the notes above[/]")
        raise typer.Exit(1)


@app.command()
def diffuse(
    edges: Path = typer.Argument(..., help="Edge list written by 'ingu network'."),
    personas: Optional[Path] = typer.Option(None, "--personas", help="The persona file the network was built on "
                                            "(needed for curves by group)."),
    model: str = typer.Option("ic", "--model", help="ic (independent cascade), lt (linear threshold) or sir."),
    steps: int = typer.Option(100, "--steps"),
    seed: int = typer.Option(0, "--seed"),
    initial: int = typer.Option(10, "--initial", help="Number of random initial adopters / infected."),
    p: Optional[float] = typer.Option(None, "--p", help="ic: transmission probability per edge."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="lt: fixed threshold (default uniform)."),
    beta: Optional[float] = typer.Option(None, "--beta", help="sir: infection probability per contact and step."),
    gamma: Optional[float] = typer.Option(None, "--gamma", help="sir: recovery probability per step."),
    group_by: str = typer.Option("sex,age_band,province", "--group-by", help="Curves by these columns (with --personas)."),
    out: Path = typer.Option(Path("diffusion"), "--out", help="Output folder (curves, final state, charts)."),
    overwrite: bool = typer.Option(False, "--overwrite"),
) -> None:
    """Run independent cascade, linear threshold or SIR on a network; adoption curves overall and by group."""
    from ingu.io.readers import DatasetReadError, dataset_columns, read_columns
    from ingu.io.writers import OutputError
    from ingu.simulate.diffusion import DiffusionError, diffuse as run_diffusion, make_model, write_diffusion
    from ingu.simulate.network import NetworkInputError, NetworkOutputError, read_network

    params = {k: v for k, v in {"p": p, "threshold": threshold, "beta": beta, "gamma": gamma}.items() if v is not None}
    groups = [g.strip() for g in group_by.split(",") if g.strip()] if personas else []
    try:
        chosen = make_model(model, **params)
        net = read_network(edges)
        table = None
        if personas is not None:
            available = dataset_columns(personas)
            wanted = {"uuid", "age", *groups}
            table = read_columns(personas, [c for c in available if c in wanted])
        started = time.perf_counter()
        result = run_diffusion(net, chosen, steps, seed, initial=initial, table=table, group_by=groups)
        paths = write_diffusion(result, out, overwrite=overwrite)
    except (DiffusionError, NetworkInputError, NetworkOutputError, OutputError, DatasetReadError, TypeError) as exc:
        _fail(str(exc))
    overall = result.final().row(0, named=True)
    shares = ", ".join(f"{k.removeprefix('share_')} {v:.1%}" for k, v in overall.items()
                       if k.startswith("share_") and v is not None)
    console.print(f"{model}: {steps} steps on {net.n_nodes:,} nodes in {time.perf_counter() - started:.2f} s; "
                  f"after the last step: {shares} → " + ", ".join(str(p) for p in paths),
                  highlight=False, soft_wrap=True)
