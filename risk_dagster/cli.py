"""The ``risk-dagster`` command line.

Each sub-command is a thin shell over a domain module; errors in user input are printed as one
line on stderr (never a traceback) and give a non-zero exit status.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from risk_dagster.errors import InputFileError

app = typer.Typer(
    name="risk-dagster",
    help="Regulatory stress testing: supervisory scenarios to granular shocks, losses and capital.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
scenarios_app = typer.Typer(help="Read and inspect supervisory scenario files.", no_args_is_help=True)
app.add_typer(scenarios_app, name="scenarios")
bench_app = typer.Typer(help="Benchmarks that print ratios measured in one run.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
models_app = typer.Typer(help="The translator model registry (stable / current / experimental).", no_args_is_help=True)
app.add_typer(models_app, name="models")


@app.command("run")
def run_command(
    scenario: list[str] = typer.Option(
        [], "--scenario", help="Scenario partition id to run (repeatable); default: every shipped scenario."
    ),
    scenario_file: list[Path] = typer.Option(
        [], "--scenario-file", help="Your own scenario file (any layout the readers know), added as a partition."
    ),
    output: Path = typer.Option(Path("risk_output"), "--output", help="Output folder."),
    as_of: str = typer.Option(
        "", "--as-of", help="Check the contracts' freshness SLAs against this date (YYYY-MM-DD, or 'today')."
    ),
    seed: int = typer.Option(20260101, "--seed", help="Seed of every random draw; same inputs and seed, same numbers."),
    portfolio: Path | None = typer.Option(None, "--portfolio", help="Your U.S. bank's book (CSV/parquet, portfolio contract) "
                                          "for the Fed's scenarios; default: the shipped sample book."),
    balance_sheet: Path | None = typer.Option(None, "--balance-sheet", help="Its balance sheet (YAML/JSON, balance_sheet "
                                              "contract); default: the shipped sample bank's."),
    euro_portfolio: Path | None = typer.Option(None, "--euro-portfolio", help="Your euro-area bank's book (EUR) for the EBA's "
                                               "scenarios; default: the shipped euro sample book."),
    euro_balance_sheet: Path | None = typer.Option(None, "--euro-balance-sheet", help="Its balance sheet (EUR); default: the "
                                                   "shipped euro sample bank's."),
    euro_stages: Path | None = typer.Option(None, "--euro-stages", help="Its IFRS 9 stage table (YAML); default: the shipped one "
                                            "(its exposures must equal the book's loans by segment)."),
) -> None:
    """Materialize the whole asset graph in process and write OUTPUT/run_summary.json."""
    from rich.console import Console

    from risk_dagster.errors import InputFileError
    from risk_dagster.resources import CapitalSettings, EngineSettings
    from risk_dagster.runner import RunFailed, run_pipeline

    def path(p: Path | None) -> str:
        return str(p.resolve()) if p is not None else ""

    engine = EngineSettings(portfolio_path=path(portfolio), euro_portfolio_path=path(euro_portfolio))
    capital = CapitalSettings(balance_sheet_path=path(balance_sheet), euro_balance_sheet_path=path(euro_balance_sheet),
                              euro_stage_table_path=path(euro_stages))  # fmt: skip
    console = Console(stderr=True)
    try:
        with _step_display(console) as on_step:
            summary = run_pipeline(
                output, scenario, scenario_file, progress=lambda line: console.print(line, markup=False, highlight=False),
                as_of=_as_of(as_of), seed=seed,
                on_step=on_step, engine=engine, capital=capital,
            )
    except (InputFileError, RunFailed, KeyError, OSError) as error:
        typer.echo(f"error: {_one_line(error)}", err=True)
        raise typer.Exit(code=1) from None
    failed = summary.failed_checks("ERROR")
    warned = summary.failed_checks("WARN")
    drafts = sorted(s for s, e in summary.scenarios.items() if e.get("verdict") == "draft")
    console.print(
        f"run {summary.run_id}: {len(summary.scenarios)} scenario(s), "
        f"{len(summary.checks) - len(failed) - len(warned)}/{len(summary.checks)} checks passed; "
        f"summary in {Path(summary.output_dir) / 'run_summary.json'}"
    )
    if warned:
        names = ", ".join(sorted({c["name"] for c in warned}))
        console.print(f"warnings (non-blocking checks failed; their sources' reliability weights were lowered): {names}")
    from rich.table import Table

    from risk_dagster.runner import RESULT_COLUMNS, results_table

    table = Table(title=f"run {summary.run_id}", title_justify="left")
    for column in RESULT_COLUMNS:
        table.add_column(column, justify="right" if column not in ("scenario", "verdict", "pack") else "left")
    for row in results_table(summary):
        table.add_row(*(row[c] for c in RESULT_COLUMNS))
    console.print(table)
    if summary.run_pack:
        console.print(f"documentation packs in {Path(summary.output_dir) / 'pack'}; run-level pack "
                      f"{summary.run_pack['pdf']} ({summary.run_pack['pages']} pages)")
    if drafts:
        console.print(
            f"draft (the AI set not shown at least as conservative as the traditional one on all 25 statistics): "
            f"{', '.join(drafts)}; see `risk-dagster conservativeness --scenario ID`"
        )
    # a draft's failed statistics are its verdict, not a broken run; any other failed check is
    if [c for c in failed if not (c["partition"] in drafts and c["asset"] in ("conservativeness", "eba_conservativeness")
                                  and c["check"].startswith("stat_"))]:
        raise typer.Exit(code=1)


@app.command("translate")
def translate_command(
    scenario: str = typer.Option("", "--scenario", help="A scenario partition id (e.g. fed-2026-severely-adverse)."),
    scenario_file: list[Path] = typer.Option([], "--scenario-file", help="Your own scenario file(s) instead."),
    model: str = typer.Option(..., "--model", help="satellite or transformer."),
    samples: int = typer.Option(..., "--samples", help="Samples to draw before the plausibility filter."),
    seed: int = typer.Option(20260101, "--seed", help="Random seed (same inputs and seed, same numbers)."),
    out: Path = typer.Option(..., "--out", help="Output .npz (shocks, levels, factor_ids, quarters, shock_types)."),
    registry: Path | None = typer.Option(None, "--registry", help="Model registry (default: the shipped one)."),
) -> None:
    """Translate one macro scenario into joint granular shocks and write the accepted samples."""
    from rich.console import Console
    from rich.table import Table

    from risk_dagster.errors import InputFileError
    from risk_dagster.translate.service import MODELS, translate

    if model not in MODELS:
        typer.echo(f"error: --model must be one of {', '.join(MODELS)}, not {model!r}", err=True)
        raise typer.Exit(code=2)
    if not scenario and not scenario_file:
        typer.echo("error: give --scenario ID or --scenario-file PATH", err=True)
        raise typer.Exit(code=2)
    console = Console(stderr=True)
    try:
        with console.status(f"translating with the {model}"):
            result = translate(
                scenario_id=scenario or None,
                scenario_files=scenario_file,
                model=model,
                n_samples=samples,
                seed=seed,
                out=out,
                registry=registry,
            )
    except (InputFileError, KeyError, ValueError, OSError) as error:
        typer.echo(f"error: {_one_line(error)}", err=True)
        raise typer.Exit(code=2) from None
    summary = result.summary()
    table = Table(title=f"{summary['scenario_id']} — {summary['model']} {summary['model_version']}")
    table.add_column("item")
    table.add_column("value", justify="right")
    for key in ("model_source", "seed", "quarters", "factors", "drawn", "accepted", "rejected"):
        table.add_row(key, str(summary[key]))
    for rule, count in summary["rejected_by_rule"].items():
        table.add_row(f"rejected: {rule}", str(count))
    table.add_row("written to", summary["out"])
    Console().print(table)


def _run_result(path: Path, what: str, scenario: str, output: Path, rerun: bool, seed: int) -> Path:
    """``path`` of a run in ``output``; the pipeline is run for ``scenario`` first when it is missing or
    ``rerun`` (progress on stderr; a failure is one ``error:`` line and exit status 1)."""
    from risk_dagster.runner import RunFailed, run_pipeline

    if rerun or not path.is_file():
        typer.echo(f"no {what} results for {scenario} in {output}: running the pipeline for it", err=True)
        try:
            run_pipeline(output, [scenario], progress=lambda line: typer.echo(line, err=True), seed=seed)
        except (InputFileError, RunFailed, KeyError, OSError) as error:
            typer.echo(f"error: {_one_line(error)}", err=True)
            raise typer.Exit(code=1) from None
        if not path.is_file():
            typer.echo(f"error: the run wrote no {what} results for {scenario} (see {output / 'run_summary.json'})", err=True)
            raise typer.Exit(code=1)
    return path


@app.command("capital")
def capital_cli(
    scenario: str = typer.Option(..., "--scenario", help="A scenario partition id (e.g. fed-2026-severely-adverse)."),
    output: Path = typer.Option(Path("risk_output"), "--output", help="Output folder of the run."),
    scenario_set: str = typer.Option("ai", "--set", help="ai (the submission set) or traditional."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    rerun: bool = typer.Option(False, "--rerun", help="Run the pipeline for the scenario even when its results exist."),
    seed: int = typer.Option(20260101, "--seed", help="Seed of the run, when one is needed."),
) -> None:
    """CET1 path, minimum and stress capital buffer of a scenario; runs the pipeline for it when needed."""
    from risk_dagster.capital.scenario_capital import capital_text

    if scenario_set not in ("ai", "traditional"):
        typer.echo(f"error: --set must be ai or traditional, not {scenario_set!r}", err=True)
        raise typer.Exit(code=2)
    from risk_dagster.capital.eba_set_capital import eba_capital_text
    from risk_dagster.scenarios.registry import is_eba_partition

    eba = is_eba_partition(scenario)  # the euro-area bank under the EBA method: eba_capital_projection's file
    name = "eba_capital.json" if eba else "capital_summary.json"
    path = _run_result(output / "capital" / scenario / name, "capital", scenario, output, rerun, seed)
    summary = json.loads(path.read_text(encoding="utf-8"))[scenario_set]
    typer.echo(json.dumps(summary, indent=2) if as_json else (eba_capital_text if eba else capital_text)(summary))


@app.command("conservativeness")
def conservativeness_cli(
    scenario: str = typer.Option(..., "--scenario", help="A scenario partition id (e.g. fed-2026-severely-adverse)."),
    output: Path = typer.Option(Path("risk_output"), "--output", help="Output folder of the run."),
    as_json: bool = typer.Option(False, "--json", help="Print the 25 statistics as a JSON list."),
    rerun: bool = typer.Option(False, "--rerun", help="Run the pipeline for the scenario even when its results exist."),
    seed: int = typer.Option(20260101, "--seed", help="Seed of the run, when one is needed."),
) -> None:
    """The 25 conservativeness statistics of a scenario (AI against traditional); runs the pipeline when needed."""
    from risk_dagster.conservativeness.saved import STATISTICS_FILE, load_statistics, statistics_text

    folder = output / "conservativeness" / scenario
    _run_result(folder / STATISTICS_FILE, "conservativeness", scenario, output, rerun, seed)
    doc = load_statistics(folder)
    typer.echo(json.dumps(doc["statistics"], indent=2) if as_json else statistics_text(doc))


@app.command("backtest")
def backtest_cli(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    quick: bool = typer.Option(False, "--quick", help="Fewer samples and seeds, a small transformer (for a smoke test)."),
) -> None:
    """Leave-crisis-out outcomes analysis of the satellite and the transformer."""
    from risk_dagster.translate.backtest import backtest_command

    typer.echo(backtest_command(as_json, quick=quick))


@models_app.command("list")
def models_list(registry: Path = typer.Option(Path("risk_output/registry"), "--registry", help="Registry folder.")) -> None:
    """The registry's lanes and versions."""
    from rich.console import Console
    from rich.table import Table

    from risk_dagster.translate.registry import DESCRIBE_COLUMNS, bootstrap, describe_command

    bootstrap(registry)
    rows = describe_command(registry)
    table = Table(title=f"model registry {registry}")
    for column in DESCRIBE_COLUMNS:
        table.add_column(column)
    for row in rows:
        table.add_row(*[str(row.get(c, "")) for c in DESCRIBE_COLUMNS])
    Console().print(table)


@models_app.command("promote")
def models_promote(
    model_id: str = typer.Argument(..., help="e.g. transformer"),
    version: str = typer.Argument(..., help="e.g. v0003"),
    to_lane: str = typer.Option(..., "--to", help="current (from experimental) or stable (from current)."),
    registry: Path = typer.Option(Path("risk_output/registry"), "--registry", help="Registry folder."),
    force: bool = typer.Option(False, "--force", help="Promote past failed backtest gates (needs --note)."),
    note: str = typer.Option("", "--note", help="Why; recorded in the registry history."),
) -> None:
    """Promote a version one lane up (experimental -> current -> stable), through the backtest gates."""
    from risk_dagster.translate.registry import RegistryError, bootstrap, promote_command

    try:
        bootstrap(registry)
        typer.echo(promote_command(registry, model_id, version, to_lane, force=force, note=note or None))
    except (RegistryError, KeyError, OSError) as error:
        typer.echo(f"error: {_one_line(error)}", err=True)
        raise typer.Exit(code=2) from None


@models_app.command("record-backtest")
def models_record_backtest(
    model_id: str = typer.Argument(..., help="e.g. transformer"),
    version: str = typer.Argument(..., help="e.g. v0003"),
    from_json: Path = typer.Option(..., "--from", help="Output of `risk-dagster backtest --json`."),
    model_key: str = typer.Option("transformer", "--model", help="Which model's rolling-origin scores to record."),
    registry: Path = typer.Option(Path("risk_output/registry"), "--registry", help="Registry folder."),
) -> None:
    """Record a version's rolling-origin backtest scores, which `models promote` gates on."""
    from risk_dagster.translate.registry import RegistryError, bootstrap

    try:
        doc = json.loads(from_json.read_text(encoding="utf-8"))
        scores = (doc.get("rolling_origin") or {}).get(model_key)
        if not scores:
            raise RegistryError(f"{from_json}: no rolling_origin scores for model {model_key!r}")
        keep = {k: scores[k] for k in ("energy_score", "crps", "coverage_90", "coverage_99") if k in scores}
        keep["stress"] = {k: scores["stress"].get(k) for k in ("energy_score", "coverage_90")} if "stress" in scores else None
        keep["evaluation"] = f"rolling origin ({from_json.name}, {model_key})"
        mv = bootstrap(registry).record_backtest(f"{model_id}/{version}", keep)
        typer.echo(f"recorded backtest of {mv.ref}: energy score {keep['energy_score']:.3f}, coverage 90% {keep['coverage_90']:.3f}")
    except (RegistryError, KeyError, OSError, ValueError) as error:
        typer.echo(f"error: {_one_line(error)}", err=True)
        raise typer.Exit(code=2) from None


@app.command("stress")
def stress_cli(
    portfolio: Path = typer.Option(..., "--portfolio", help="Book (CSV or parquet) meeting the portfolio contract."),
    shocks: Path = typer.Option(..., "--shocks", help="ShockSet .npz (from `risk-dagster translate`; fields in the README)."),
    out: Path = typer.Option(
        ..., "--out",
        help="Losses per sample, quarter and segment; the extension names the format: .parquet or .csv (tidy "
        "sample, quarter, segment, loss) or .npz (arrays). Any other extension is refused.",
    ),
    precision: str = typer.Option("fp64", "--precision", help="fp64 or fp32 pricing."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when present), cpu or cuda."),
    backend: str = typer.Option("local", "--backend", help="local or dask."),
    dask_address: str = typer.Option("", "--dask-address", help="Scheduler address (default: a LocalCluster)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (amounts in USD, unscaled)."),
) -> None:
    """Revalue a book under a ShockSet and write losses per sample, quarter and segment.

    Amounts are in USD, loss positive (a gain is negative). A warning on stderr flags quantiles
    that rest on fewer than 10 tail samples (n x (1 - q) < 10).
    """
    from risk_dagster.engine.service import format_stress_summary, stress_command

    try:
        summary = stress_command(
            portfolio, shocks, out, device=device, precision=precision, backend=backend, dask_address=dask_address
        )
    except (InputFileError, KeyError, ValueError, OSError) as error:
        typer.echo(f"error: {_one_line(error)}", err=True)
        raise typer.Exit(code=2) from None
    for warning in summary["warnings"]:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(json.dumps(summary, indent=2) if as_json else format_stress_summary(summary))


@bench_app.command("engine")
def bench_engine_cli(
    positions: int = typer.Option(20_000, "--positions", help="Instruments in the benchmark book."),
    scenarios: int = typer.Option(500, "--scenarios", help="Scenarios revalued."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Engine throughput (fp64, fp32; per-position values and segment P&L) against the QuantLib loop on the
    same book, with parity error and the fixed costs at 2,000 x 200."""
    import importlib.util

    from risk_dagster.engine.benchmark import bench_command

    # QuantLib is a dependency of the package; a broken or partial environment gets one line.
    if importlib.util.find_spec("QuantLib") is None:
        typer.echo(
            "error: risk-dagster bench engine prices the reference with QuantLib, which is not installed in this "
            "environment: pip install 'QuantLib>=1.34' (or reinstall the package: pip install .)",
            err=True,
        )
        raise typer.Exit(code=2)

    typer.echo(bench_command(positions, scenarios, as_json))


@bench_app.command("pipeline")
def bench_pipeline_cli(
    output: Path = typer.Option(Path("risk_output"), "--output", help="Output folder of the timed run (a folder "
                                "with a previous run reuses its trained translator: the warm case)."),
    scenario: list[str] = typer.Option([], "--scenario", help="Scenario ids (repeatable); default: every shipped one."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Time the main job on the shipped data in one run: total, each Dagster step, peak memory, what
    dominates, as ratios to the 5-minute (warm) and 15-minute (cold) goals."""
    from risk_dagster.errors import InputFileError
    from risk_dagster.pipeline_benchmark import bench_pipeline, report_text
    from risk_dagster.runner import RunFailed

    try:
        report = bench_pipeline(output, scenario, progress=lambda line: typer.echo(line, err=True))
    except (InputFileError, RunFailed, KeyError, OSError) as error:
        typer.echo(f"error: {_one_line(error)}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(json.dumps(report, indent=2) if as_json else report_text(report))


def _as_of(text: str) -> str | None:
    from datetime import date

    if not text:
        return None
    if text == "today":
        return date.today().isoformat()
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise typer.BadParameter(f"--as-of must be YYYY-MM-DD or 'today', not {text!r}") from None


def _one_line(error: BaseException) -> str:
    text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    return " ".join(str(text).split())


def _fail(exc: BaseException) -> typer.Exit:
    """One line on stderr, ``error: `` first, and exit status 2."""
    typer.echo(f"error: {_one_line(exc) or type(exc).__name__}", err=True)
    return typer.Exit(code=2)


@scenarios_app.command("inspect")
def scenarios_inspect(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH...", help="Scenario files (Fed, NGFS, EBA).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list on stdout.")] = False,
) -> None:
    """Tell what each scenario file holds, from its content (kind, scope, quarters, variables)."""
    from risk_dagster.scenarios.inspect import inspect_paths

    try:
        reports = inspect_paths(paths)
    except (InputFileError, OSError) as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(reports, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for report in reports:
        table = Table(title=str(report["path"]), show_header=False, title_justify="left")
        table.add_column("field", style="bold")
        table.add_column("value", overflow="fold")
        for key, value in report.items():
            if key == "path":
                continue
            if isinstance(value, dict):
                value = ", ".join(f"{k} -> {v}" for k, v in value.items())
            elif isinstance(value, list):
                value = ", ".join(map(str, value)) or "-"
            table.add_row(key, "-" if value is None else str(value))
        console.print(table)


def main() -> None:
    """Console-script entry point."""
    app()


@contextlib.contextmanager
def _step_display(console: Any) -> Iterator[Callable[[Any], None]]:
    """Per-step progress of ``run``: a bar per job in a terminal, a plain line per step otherwise
    (a log file, CI)."""
    from risk_dagster.step_progress import StepEvent, format_step

    if not console.is_terminal:

        def line(event: StepEvent) -> None:
            if event.status != "started":
                console.print(format_step(event), markup=False, highlight=False)

        yield line
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bars = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)  # fmt: skip
    tasks: dict[tuple[str, str | None], Any] = {}

    def bar(event: StepEvent) -> None:
        key = (event.job, event.partition)
        label = event.partition or event.job.removesuffix("_job")
        if key not in tasks:
            tasks[key] = bars.add_task(label, total=event.total)
        if event.status == "started":
            bars.update(tasks[key], description=f"{label}: {event.step}")
        else:
            bars.update(tasks[key], completed=event.done, description=label if event.done == event.total else f"{label}: {event.step} {event.status}")

    with bars:
        yield bar


if __name__ == "__main__":
    main()
