"""The ``neuroplastic`` command line: thin, it parses, calls the library and prints tables."""

from __future__ import annotations

import json
import shlex
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from neuroplastic.cli_options import (
    CLASSES,
    COMMON,
    DATA_DIR,
    DEVICE,
    HIDDEN,
    JSON,
    NO_PROGRESS,
    NONSILENT,
    PLASTICITY,
    QUICK,
    SEED,
    SET,
    SHARED,
    STORE,
    TRAINING,
    DataDirOption,
    StoreOption,
    experiment_assignments,
    given_on_command_line,
    method_extra_assignments,
    plasticity_assignments,
    with_options,
)
from neuroplastic.errors import NeuroplasticError, ParameterError

# Everything heavy (torch, sqlalchemy, matplotlib, the methods) is imported inside the command
# that needs it, so `neuroplastic --help` and an argument error answer in well under a second.
if TYPE_CHECKING:
    from pydantic import BaseModel
    from rich.table import Table

    from neuroplastic.experiments.registry import NamedExperiment
    from neuroplastic.restrict import CacheParams, RestrictParams
    from neuroplastic.results import ResultRecord
    from neuroplastic.runs import Experiment

app = typer.Typer(
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, help=__doc__
)
data_app = typer.Typer(no_args_is_help=True, help="Fetch and verify datasets.")
runs_app = typer.Typer(no_args_is_help=True, help="Inspect the run store.")
app.add_typer(data_app, name="data")
app.add_typer(runs_app, name="runs")
# Piped output (CI logs, files) gets a wide console so the comparison table is never squeezed.
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True, soft_wrap=True, highlight=False)


def _split_plasticity(
    assignments: dict[str, str],
) -> tuple[dict[str, str], RestrictParams | None, CacheParams | None]:
    """Separate ``restrict.*`` / ``cache.*`` assignments (every method's restriction and cache)
    from the methods' own; build the restriction and cache they describe."""
    from neuroplastic.params import build_params
    from neuroplastic.restrict import CacheParams, RestrictParams

    own = {k: v for k, v in assignments.items() if not k.startswith(("restrict.", "cache."))}
    r_set = {k[len("restrict.") :]: v for k, v in assignments.items() if k.startswith("restrict.")}
    c_set = {k[len("cache.") :]: v for k, v in assignments.items() if k.startswith("cache.")}
    if r_set and "policy" not in r_set:
        raise ParameterError("--p/--k/--restrict-* need --restrict POLICY")
    restrict = build_params(RestrictParams, r_set, "--restrict") if r_set else None
    enabled = c_set.pop("enabled", "true" if c_set else "false").lower() == "true"
    cache = build_params(CacheParams, c_set, "--cache") if enabled else None
    return own, restrict, cache


def _print_version(value: bool) -> None:
    if value:
        from neuroplastic.version import code_version

        console.print(f"neuroplastic {code_version().label}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """neuroplastic: brain-inspired, energy-efficient learning, every synaptic update counted."""


_signal_received: list[str] = []  # the name of a signal turned into KeyboardInterrupt


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    _signal_received.append(signal.Signals(signum).name)
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _takes_resume(args: list[str]) -> bool:
    """Whether the sub-command named in ``args`` (e.g. ``run``, ``runs list``) has --resume."""
    command: Any = typer.main.get_command(app)
    for arg in args:
        subcommands = getattr(command, "commands", {})
        if arg not in subcommands:
            break
        command = subcommands[arg]
    if len(args) > 1 and args[0] == "run":  # a named experiment takes --resume only if declared
        from neuroplastic.experiments.registry import find_experiment

        named = find_experiment(args[1])
        if named is not None:
            return "resume" in named.options
    return any("--resume" in param.opts for param in command.params)


def interrupted_message(args: list[str], cause: str = "") -> str:
    """One line: what stopped the command (Ctrl-C or the signal) and the exact command that
    resumes it (the same arguments with ``--resume``), or that it can be rerun."""
    how = cause if cause.startswith("SIG") else "Ctrl-C"
    if _takes_resume(args):
        again = shlex.join(["neuroplastic", *args, *([] if "--resume" in args else ["--resume"])])
        return f"interrupted ({how}); the run is marked 'interrupted'; resume it with: {again}"
    return f"interrupted ({how}); rerun with: {shlex.join(['neuroplastic', *args])}"


def _progress(opts: dict[str, Any]) -> bool:
    return not opts["no_progress"]


def _experiment(opts: dict[str, Any]) -> Experiment:
    from neuroplastic.data import parse_classes
    from neuroplastic.params import parse_hidden
    from neuroplastic.paths import check_data_dir
    from neuroplastic.runs import Experiment

    check_data_dir(opts["data_dir"])
    exp = Experiment(
        classes=parse_classes(opts["classes"]) if opts["classes"] else None,
        hidden=parse_hidden(opts["hidden"]),
        seed=opts["seed"],
        device=opts["device"],
        quick=opts["quick"],
        target_accuracy=opts["target_accuracy"],
        eval_every=opts["eval_every"],
        data_dir=opts["data_dir"],
        progress=_progress(opts),
        alphas=list(opts["m_alpha"] or []),
        nonsilent_eps=opts["nonsilent_eps"],
        info=opts["info"],
        energy_model=opts["energy_model"],
        meter=opts["meter"],
    )
    exp.validate()
    return exp


def _method_settings(
    opts: dict[str, Any], names: list[str], extra_args: list[str], owner: str
) -> tuple[dict[str, dict[str, str]], Experiment]:
    """Each method's overrides and the shared settings (restriction and cache included)."""
    from neuroplastic.methods import get_method
    from neuroplastic.params import parse_assignments, split_overrides

    assignments = {
        **parse_assignments(opts["set_"] or []),
        **plasticity_assignments(opts),
        **method_extra_assignments(extra_args, owner),
    }
    own, restrict, cache = _split_plasticity(assignments)
    models = {name: get_method(name).params_model for name in names}
    exp = _experiment(opts)
    exp.restrict, exp.cache = restrict, cache
    return split_overrides(own, models), exp


def _check_outputs(json_path: Path | None, plot: Path | None = None) -> None:
    """Fail in one line, before any training, if --json or --plot cannot be written."""
    from neuroplastic.outputs import check_output_file

    if json_path is not None:
        check_output_file(json_path, "--json")
    if plot is not None:
        check_output_file(plot, "--plot", plot=True)


def _write_or_fail(option: str, path: Path, write: Callable[[Path], None]) -> None:
    """Write an output; an OSError becomes one line naming the option and the reason."""
    from neuroplastic.errors import OutputError

    try:
        write(path)
    except OSError as exc:
        raise OutputError(f"cannot write {option} {path} ({exc.strerror or exc})") from None


def _emit(
    records: list[ResultRecord], json_path: Path | None, plot: Path | None, store_url: str
) -> None:
    from neuroplastic.outputs import Destination, export_records, kept_in_store
    from neuroplastic.report import energy_notes, plot_records, results_table
    from neuroplastic.results import write_records

    console.print(results_table(records, width=console.width))
    for line in energy_notes(records):
        console.print(f"energy: {line}", highlight=False, soft_wrap=True)
    destinations = []
    if json_path is not None:
        destinations.append(
            Destination("--json", json_path, "records", lambda p: write_records(p, records))
        )
    if plot is not None:
        destinations.append(Destination("--plot", plot, "plot", lambda p: plot_records(records, p)))
    kept_in = kept_in_store(store_url, [r.run_id for r in records])
    export_records(destinations, kept_in, console.print)


@data_app.command("fetch")
def data_fetch(
    dataset: Annotated[str, typer.Argument(help="dataset name")] = "mnist",
    data_dir: DataDirOption = None,
    force: Annotated[bool, typer.Option("--force", help="download even if present")] = False,
) -> None:
    """Download (if needed) and verify a dataset."""
    from neuroplastic.data import fetch_mnist

    if dataset != "mnist":
        raise ParameterError(f"unknown dataset {dataset!r}; available: mnist")
    path = fetch_mnist(data_dir, force=force, progress=console.print)
    console.print(f"mnist: four files verified in {path}")


def _parameter_table(title: str, model: type[BaseModel]) -> Table:
    from rich.table import Table

    from neuroplastic.params import describe_model

    table = Table(title=title, title_justify="left")
    for col in ("parameter", "type", "default", "description"):
        table.add_column(col)
    for row in describe_model(model):
        table.add_row(*row)
    return table


@app.command("methods")
def methods_cmd() -> None:
    """List the methods and named experiments, with their parameters (for --set)."""
    from neuroplastic.experiments.registry import available_experiments, find_experiment
    from neuroplastic.methods import available_methods, get_method

    for name in available_methods():
        method = get_method(name)
        console.print(_parameter_table(f"method {name}: {method.summary}", method.params_model))
    for name in available_experiments():
        named = find_experiment(name)
        assert named is not None
        console.print(_parameter_table(f"experiment {name}: {named.summary}", named.params_model))


def _run_named_experiment(
    named: NamedExperiment[Any], assignments: dict[str, str], opts: dict[str, Any]
) -> None:
    """Run a named experiment, recorded in the store; print its tables, write its JSON."""
    from neuroplastic.experiments.registry import ExperimentContext
    from neuroplastic.params import build_params
    from neuroplastic.paths import check_data_dir
    from neuroplastic.report import results_table
    from neuroplastic.runs import run_experiment
    from neuroplastic.store import RunStore

    method_overrides: dict[str, str] = {}
    if named.method_overrides:
        fields = named.params_model.model_fields
        method_overrides = {k: v for k, v in assignments.items() if k.split(".")[0] not in fields}
        assignments = {k: v for k, v in assignments.items() if k not in method_overrides}
    params = build_params(named.params_model, assignments, named.name)
    json_path: Path | None = opts["json_path"]
    _check_outputs(json_path)
    if "data_dir" in named.options:
        check_data_dir(opts["data_dir"])
    ctx = ExperimentContext(
        seed=opts["seed"],
        device=opts["device"],
        quick=opts["quick"],
        resume=opts["resume"],
        data_dir=opts["data_dir"],
        progress=_progress(opts),
        output_dir=json_path.parent if json_path is not None else Path("results") / named.name,
        console=console,
        method_overrides=method_overrides,
    )
    with RunStore(opts["store"]) as run_store:
        output = run_experiment(named, params, ctx, run_store)
    for table in output.tables:
        console.print(table)
    if output.records:
        console.print(results_table(output.records, width=console.width))
    for path in output.files:
        console.print(f"written: {path}")
    if json_path is not None:
        _write_or_fail("--json", json_path, output.write_json)
        console.print(f"results written to {json_path}")


_EXTRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True}


@app.command("run", context_settings=_EXTRA_ARGS)
@with_options(COMMON, TRAINING, PLASTICITY)
def run_cmd(
    ctx: typer.Context,
    method: Annotated[
        str, typer.Argument(help="method or named experiment (see `neuroplastic methods`)")
    ],
    opts: dict[str, Any],
) -> None:
    """Train one method (or run one named experiment) and print its result.

    A named experiment also takes its parameters as options: `--n 4096` is `--set n=4096`.
    `--restrict POLICY [--p P] [--k K]` and `--cache [--cache-theta ...]` restrict / cache every
    synapse group of the method (see neuroplastic.restrict); `--set restrict.p=0.1` is `--p 0.1`.
    """
    from neuroplastic.experiments.registry import find_experiment
    from neuroplastic.runs import run_method
    from neuroplastic.store import RunStore

    _check_outputs(opts["json_path"])
    named = find_experiment(method)
    if named is not None:
        given = given_on_command_line(ctx, SHARED)
        assignments = experiment_assignments(
            named.name,
            named.options,
            named.params_model.model_fields,
            given,
            opts,
            ctx.args,
        )
        _run_named_experiment(named, assignments, opts)
        return
    overrides, exp = _method_settings(opts, [method], ctx.args, f"method {method!r}")
    with RunStore(opts["store"]) as run_store:
        record = run_method(
            method,
            overrides[method],
            exp,
            run_store,
            resume=opts["resume"],
            console=console,
            keep_checkpoint=opts["keep_checkpoints"],
        )
    _emit([record], opts["json_path"], None, run_store.url)


@app.command("compare", context_settings=_EXTRA_ARGS)
@with_options(COMMON, TRAINING, PLASTICITY)
def compare_cmd(
    ctx: typer.Context,
    opts: dict[str, Any],
    methods: Annotated[
        str | None, typer.Option("--methods", help="comma-separated; default: all registered")
    ] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="write a PNG plot here")] = None,
) -> None:
    """Train several methods on the same data and architecture budget; print one table."""
    from neuroplastic.methods import default_comparison
    from neuroplastic.runs import compare
    from neuroplastic.store import RunStore

    names = (
        [m.strip() for m in methods.split(",") if m.strip()] if methods else default_comparison()
    )
    if not names:
        raise ParameterError("--methods is empty")
    _check_outputs(opts["json_path"], plot)
    overrides, exp = _method_settings(opts, names, ctx.args, "compare")
    with RunStore(opts["store"]) as run_store:
        records = compare(
            names,
            overrides,
            exp,
            run_store,
            console=console,
            resume=opts["resume"],
            keep_checkpoints=opts["keep_checkpoints"],
        )
    _emit(records, opts["json_path"], plot, run_store.url)


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ParameterError(f"{what} expects comma-separated numbers (got {text!r})") from None


@app.command("evaluate")
@with_options((SET, QUICK, SEED, CLASSES, HIDDEN, DEVICE, DATA_DIR, STORE, NO_PROGRESS, NONSILENT))
def evaluate_cmd(
    opts: dict[str, Any],
    methods: Annotated[
        str | None,
        typer.Option(
            "--methods",
            help="comma-separated, or 'all' (every method, and random-projection-localised); "
            "backprop is always added as reference",
        ),
    ] = None,
    few_shot: Annotated[bool, typer.Option("--few-shot", help="run the few-shot protocol")] = False,
    adversarial: Annotated[
        bool, typer.Option("--adversarial", help="run FGSM, PGD, transfer and Square attacks")
    ] = False,
    eps: Annotated[str, typer.Option("--eps", help="L∞ budgets on [0, 1] pixels")] = (
        "0.05,0.1,0.2,0.3"
    ),
    shots: Annotated[str, typer.Option("--shots", help="labelled examples per class")] = (
        "1,5,10,50"
    ),
    draws: Annotated[
        int | None, typer.Option("--draws", help="few-shot draws (default 10)")
    ] = None,
    samples: Annotated[
        int | None, typer.Option("--samples", help="test inputs attacked (default 1000)")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="folder for JSON and plots")] = Path(
        "results/evaluate"
    ),
) -> None:
    """Signatures, few-shot and adversarial robustness of several methods; claims judged."""
    from neuroplastic.experiments.evaluate import (
        base_method,
        evaluation_methods,
        quick_attack_settings,
        quick_few_shot_settings,
        run_evaluation,
    )
    from neuroplastic.experiments.evaluate_report import tables
    from neuroplastic.methods import default_comparison, get_method
    from neuroplastic.metrics.adversarial import attack_settings
    from neuroplastic.metrics.few_shot import few_shot_settings
    from neuroplastic.params import parse_assignments, split_overrides
    from neuroplastic.store import RunStore

    set_, quick, seed, store = opts["set_"], opts["quick"], opts["seed"], opts["store"]
    names = (
        [m.strip() for m in methods.split(",") if m.strip()] if methods else default_comparison()
    )
    if not names:
        raise ParameterError("--methods is empty")
    names = evaluation_methods(names)
    models = {name: get_method(base_method(name)[0]).params_model for name in ["backprop", *names]}
    overrides = split_overrides(parse_assignments(set_ or []), models)
    attack = None
    if adversarial:
        values: dict[str, Any] = {"eps": _floats(eps, "--eps"), "seed": seed}
        if samples is not None:
            values["samples"] = samples
        attack = attack_settings(**(quick_attack_settings(**values) if quick else values))
    shot_settings = None
    if few_shot:
        try:
            counts = [int(t) for t in shots.split(",") if t.strip()]
        except ValueError:
            raise ParameterError(
                f"--shots expects comma-separated integers (got {shots!r})"
            ) from None
        fs: dict[str, Any] = {"shots": counts, "seed": seed}
        if draws is not None:
            fs["draws"] = draws
        shot_settings = few_shot_settings(**(quick_few_shot_settings(**fs) if quick else fs))
    from neuroplastic.runs import Experiment

    exp = _experiment(
        {
            "energy_model": Experiment.energy_model,  # evaluate has no energy options
            "meter": Experiment.meter,
            **opts,
            "target_accuracy": None,
            "eval_every": 0,
            "m_alpha": None,
            "info": False,
        }
    )
    with RunStore(store) as run_store:
        report = run_evaluation(
            names,
            overrides,
            exp,
            run_store,
            out,
            attack=attack,
            few_shot=shot_settings,
            console=console,
        )
    for table in tables(report):
        console.print(table)
    console.print(f"stored as run {report.run_id}; {report.wall_s:.1f} s in all")
    for path in report.files:
        console.print(f"written: {path}")
    if report.errors:
        raise NeuroplasticError(
            f"evaluate: {len(report.errors)} part(s) failed (the rest is written): "
            + "; ".join(report.errors)
        )


@runs_app.command("list")
def runs_list(
    limit: Annotated[int, typer.Option("--limit", min=1)] = 20,
    method: Annotated[str | None, typer.Option("--method")] = None,
    status: Annotated[str | None, typer.Option("--status")] = None,
    store: StoreOption = None,
) -> None:
    """List recent runs and named experiments, newest first (killed runs show as crashed)."""
    from rich.table import Table

    from neuroplastic.store import RunStore

    with RunStore(store) as run_store:
        runs = run_store.list_runs(limit=limit, method=method, status=status)
        table = Table(title=f"runs in {run_store.url}")
        columns = ("id", "method", "dataset", "status", "seed", "device", "started UTC", "result")
        for col in columns:
            table.add_column(col)
        for run in runs:
            result = run_store.get_result(run.id) or {}
            acc = result.get("test_accuracy")
            summary = result.get("headline") or ("-" if acc is None else f"{acc:.2%}")
            table.add_row(
                str(run.id),
                run.method,
                run.dataset,
                run.status + (" (warning)" if result.get("warnings") else ""),
                str(run.seed),
                run.device,
                run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                summary,
            )
    console.print(table)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[int, typer.Argument(help="run id (see `neuroplastic runs list`)")],
    store: StoreOption = None,
    energy_model: Annotated[
        str | None,
        typer.Option(
            "--energy-model", help="re-estimate the stored counts with these energy tables"
        ),
    ] = None,
) -> None:
    """Show one run: its parameters, status, metrics over time and result record."""
    from rich.table import Table

    from neuroplastic.report import energy_notes, results_table
    from neuroplastic.results import ResultRecord
    from neuroplastic.store import RunStore

    with RunStore(store) as run_store:
        run = run_store.get_run(run_id)
        result = run_store.get_result(run_id)
        metrics = run_store.get_metrics(run_id)
    info: dict[str, Any] = {
        "id": run.id,
        "method": run.method,
        "dataset": run.dataset,
        "status": run.status,
        "error": run.error,
        "seed": run.seed,
        "device": run.device,
        "code_version": run.code_version,
        "started_at": run.started_at.isoformat(),
        "ended_at": run.ended_at.isoformat() if run.ended_at else None,
        "checkpoint": run.checkpoint,
        "params": run.params,
        "provenance": (result or {}).get("provenance"),
    }
    console.print_json(json.dumps(info))
    if metrics:
        table = Table(title="metrics over training")
        names = sorted({m.name for m in metrics})
        table.add_column("samples")
        for n in names:
            table.add_column(n)
        by_step: dict[int, dict[str, float]] = {}
        for m in metrics:
            by_step.setdefault(m.samples_seen, {})[m.name] = m.value
        for step, values in sorted(by_step.items()):
            table.add_row(str(step), *(f"{values.get(n, float('nan')):.4g}" for n in names))
        console.print(table)
    if result and run.method == "evaluate":  # an evaluation report, not one method's record
        from neuroplastic.experiments.evaluate import EvaluationReport
        from neuroplastic.experiments.evaluate_report import tables

        stored = {k: v for k, v in result.items() if k != "record_run_ids"}
        for table in tables(EvaluationReport.model_validate(stored)):
            console.print(table)
    elif result and result.get("kind") == "experiment":  # a named experiment's document
        console.print_json(json.dumps(result, default=str))
    elif result:
        record = ResultRecord.model_validate(result)
        if energy_model is not None and record.energy is not None:
            from neuroplastic.energy.models import resolve_models

            record.energy = record.energy.with_tables(resolve_models(energy_model))
        console.print(results_table([record], title="result", width=console.width))
        for line in energy_notes([record]):
            console.print(f"energy: {line}", highlight=False, soft_wrap=True)
        for warning in record.warnings:
            console.print(f"[yellow]warning:[/yellow] {warning}")


@app.command("sweep")
def sweep_cmd(
    spec: Annotated[
        Path | None, typer.Argument(help="sweep spec (YAML); or use --run/--grid")
    ] = None,
    run: Annotated[
        str | None, typer.Option("--run", help="method or experiment of a --grid sweep")
    ] = None,
    grid: Annotated[
        list[str] | None, typer.Option("--grid", help="key=v1,v2 (repeatable): the grid")
    ] = None,
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="seeds 0..N-1 (--grid)")] = 1,
    set_: Annotated[
        list[str] | None, typer.Option("--set", "-s", help="key=value for every configuration")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="sweep id (default: spec)")] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="join this Ray cluster (default: local Ray)")
    ] = None,
    cpus_per_run: Annotated[float, typer.Option("--cpus-per-run", help="CPUs per run")] = 1.0,
    gpus_per_run: Annotated[float, typer.Option("--gpus-per-run", help="GPUs per run")] = 0.0,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="worker count (default: all CPUs)")
    ] = None,
    retries: Annotated[
        int | None, typer.Option("--retries", min=0, help="extra attempts (default: spec's, 1)")
    ] = None,
    store: StoreOption = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="no progress bar")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="validate and list the configurations only")
    ] = False,
) -> None:
    """Run a grid of `neuroplastic run` configurations on Ray, into one store.

    Re-running the same sweep skips configurations already finished (same configuration and
    code version); Ctrl-C stops scheduling and a re-run resumes.
    """
    from neuroplastic.sweep.spec import SpecError, grid_sweep, load_spec

    if spec is not None and (run or grid):
        raise SpecError("give a spec file or --run/--grid, not both")
    if spec is not None:
        sweep = load_spec(spec)
        if name:
            sweep.id = name
    elif run:
        sweep = grid_sweep(run, grid or [], seeds, set_ or [], name=name)
    else:
        raise SpecError("give a sweep spec (YAML) or --run NAME with --grid key=v1,v2")
    if dry_run:
        for config in sweep.configs:
            console.print(config.label())
        console.print(f"sweep {sweep.id}: {len(sweep.configs)} configurations (nothing run)")
        return
    from neuroplastic.sweep.driver import run_sweep

    summary = run_sweep(
        sweep,
        store,
        address=address,
        cpus_per_run=cpus_per_run,
        gpus_per_run=gpus_per_run,
        workers=workers,
        retries=retries,
        console=err_console,
        progress=not no_progress,
    )
    overhead = summary.overhead_per_run
    console.print(
        f"sweep {summary.sweep_id}: {summary.total} configurations, "
        f"{summary.already_finished} already finished, {summary.finished} finished now, "
        f"{summary.failed} failed, {summary.retried} retried"
        + (f"; {summary.workers} workers" if summary.workers else "")
        + (
            f"; overhead {overhead:.3f} s/run"
            if overhead is not None and not (summary.failed or summary.retried)
            else ""
        )
    )
    for failure in summary.failures:
        err_console.print(f"[red]failed:[/red] {failure}")
    if summary.interrupted:
        err_console.print("[yellow]interrupted[/yellow]; run the same sweep again to resume")
        raise SystemExit(130)
    if summary.failed:
        raise SystemExit(1)


@runs_app.command("export")
def runs_export(
    sweep: Annotated[str, typer.Option("--sweep", help="sweep id")],
    fmt: Annotated[str, typer.Option("--format", help="csv, parquet or tensorboard")] = "csv",
    out: Annotated[
        Path | None, typer.Option("--out", help="file (csv, parquet) or directory (tensorboard)")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Export a sweep: a row per configuration (CSV, Parquet) or metrics over time (TensorBoard)."""
    from neuroplastic.store.sweeps import SweepStore
    from neuroplastic.sweep import tables

    if fmt not in ("csv", "parquet", "tensorboard"):
        raise ParameterError(f"--format must be csv, parquet or tensorboard (got {fmt!r})")
    default = Path("results") / "sweeps" / (sweep if fmt == "tensorboard" else f"{sweep}.{fmt}")
    target = out or default
    with SweepStore(store) as sweep_store:
        if fmt == "tensorboard":
            dirs = tables.write_tensorboard(sweep_store, sweep, target)
            console.print(f"{len(dirs)} runs written as TensorBoard event files under {target}")
            return
        rows = tables.sweep_rows(sweep_store, sweep)
    writer = tables.write_csv if fmt == "csv" else tables.write_parquet
    writer(rows, target)
    console.print(f"{len(rows)} configurations written to {target}")


@runs_app.command("compare")
def runs_compare(
    sweep: Annotated[str, typer.Option("--sweep", help="sweep id")],
    by: Annotated[str, typer.Option("--by", help="parameter key to compare along")],
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", help="result column, e.g. result.test_accuracy (repeatable)"),
    ] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="write a PNG plot here")] = None,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="write the table as markdown here")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Aggregate a sweep's seeds (mean, sd, n) along one key; table, markdown and plot."""
    from rich.table import Table

    from neuroplastic.store.sweeps import SweepStore
    from neuroplastic.sweep import tables

    with SweepStore(store) as sweep_store:
        rows = tables.sweep_rows(sweep_store, sweep)
    metrics = list(metric or tables.default_metrics(rows))
    aggs = tables.aggregate(rows, by, metrics)
    header, body = tables.wide_table(aggs)
    table = Table(title=f"sweep {sweep}: mean ± sd over seeds (n seeds)", title_justify="left")
    for col in header:
        table.add_column(col)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for cells in body:
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    console.print(table)
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text("\n".join(lines) + "\n")
        console.print(f"markdown written to {markdown}")
    if plot is not None:
        tables.plot_aggregate(aggs, by, plot)
        console.print(f"plot written to {plot}")


@app.command("continual")
@with_options(COMMON, (HIDDEN,))
def continual(
    opts: dict[str, Any],
    methods: Annotated[
        str, typer.Option("--methods", help="comma-separated methods")
    ] = "structural,backprop",
    first: Annotated[
        str, typer.Option("--first", help="classes learned in phase A, e.g. 0,1,2,3,4")
    ] = "0,1,2,3,4",
    second: Annotated[
        str, typer.Option("--second", help="classes learned in phase B, e.g. 5,6,7,8,9")
    ] = "5,6,7,8,9",
) -> None:
    """Space for new memories: learn --first classes, then --second (= `run continual`)."""
    from neuroplastic.experiments.registry import EXPERIMENTS
    from neuroplastic.params import parse_assignments

    named = EXPERIMENTS.get("continual")
    assignments = {
        **parse_assignments(opts["set_"] or []),
        "methods": methods,
        "first": first,
        "second": second,
        "hidden": opts["hidden"],
    }
    _run_named_experiment(named, assignments, {**opts, "resume": False})


@app.command("app")
def app_cmd(
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="port to listen on")] = 5006,
    host: Annotated[
        str, typer.Option("--host", help="address to listen on (default: this machine only)")
    ] = "127.0.0.1",
    open_browser: Annotated[bool, typer.Option("--open", help="open a browser tab")] = False,
    simulation: Annotated[
        str | None, typer.Option("--sim", help="simulation shown first (default: the first)")
    ] = None,
    files: Annotated[
        list[Path] | None,
        typer.Option("--file", help="Python file of user simulations to load (repeatable)"),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Start the interactive simulator in the browser (Panel; needs the `app` extra)."""
    from neuroplastic.simulator.server import serve

    console.print(f"neuroplastic simulator on http://{host}:{port}/ (Ctrl-C stops it)")
    serve(
        host,
        port,
        store_url=store,
        simulation=simulation,
        files=files or [],
        open_browser=open_browser,
        warn=lambda text: err_console.print(f"[yellow]{text}[/yellow]"),
    )


@app.command("personalise")
@with_options((SET, JSON, DATA_DIR))
def personalise_cmd(
    opts: dict[str, Any],
    model: Annotated[Path, typer.Option("--model", help="base model file (never modified)")],
    user: Annotated[
        str, typer.Option("--user", help="user spec, e.g. 'classes=1,4,7;slant=0.3;seed=2'")
    ] = "",
    arch: Annotated[
        str, typer.Option("--arch", help="auto (a neuroplastic model file) or resnet50")
    ] = "auto",
    images: Annotated[
        Path | None, typer.Option("--images", help="resnet50: tensor file of the user's images")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="write the personalised model here")
    ] = None,
) -> None:
    """Fine-prune a model for one user: label-free, forward passes only (issue 17)."""
    from rich.table import Table

    from neuroplastic.atomic import write_json_atomic
    from neuroplastic.finepruning.personalise import personalise
    from neuroplastic.finepruning.prune import FinePruneParams
    from neuroplastic.params import build_params, parse_assignments

    params = build_params(FinePruneParams, parse_assignments(opts["set_"] or []), "personalise")
    json_path = opts["json_path"]
    result = personalise(
        model, user, params, arch=arch, images=images, out=out, data_dir=opts["data_dir"]
    )
    rec = result["record"]
    table = Table(title=f"personalise {result['arch']} for one user")
    for col in (
        "acc before",
        "acc after",
        "sparsity",
        "forward",
        "backward",
        "mask writes",
        "bias M0",
        "removed outputs",
        "seconds",
    ):
        table.add_column(col)

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{100 * v:.2f} %"

    table.add_row(
        pct(result["accuracy_before"]),
        pct(result["accuracy_after"]),
        f"{rec['sparsity']:.3f}",
        str(rec["forward_samples"]),
        str(rec["backward_samples"]),
        str(rec["mask_writes"]),
        f"{rec['ledger_m0']:.0f}",
        ",".join(str(i) for i in rec["removed_outputs"]) or "-",
        f"{result['personalise_seconds']:.2f}",
    )
    console.print(table)
    console.print(f"stopping rule: {rec['stopping_rule']}; stopped: {rec['stop_reason']}")
    if result["written"]:
        console.print(f"personalised model written to {result['written']}")
    if json_path is not None:
        write_json_atomic(json_path, result)
        console.print(f"results written to {json_path}")


def main() -> None:
    """Entry point: run the CLI, printing library errors as one line and exiting with 2."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        app()
    except NeuroplasticError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise SystemExit(2) from None
    except KeyboardInterrupt as exc:  # not reached through typer, which exits with 130
        err_console.print(interrupted_message(sys.argv[1:], str(exc)), markup=False)
        raise SystemExit(130) from None
    except SystemExit as exc:
        if exc.code != 130:  # typer's exit status for a KeyboardInterrupt
            raise
        cause = _signal_received[-1] if _signal_received else "Ctrl-C"
        err_console.print(interrupted_message(sys.argv[1:], cause), markup=False)
        raise


if __name__ == "__main__":
    main()
