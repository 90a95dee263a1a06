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

DataDir = Annotated[
    str | None, typer.Option("--data-dir", help="dataset directory (default $NEUROPLASTIC_DATA)")
]
StoreOpt = Annotated[
    str | None, typer.Option("--store", help="store path or URL (default $NEUROPLASTIC_STORE)")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="parameter override key=value (method.key=value)"),
]
Quick = Annotated[bool, typer.Option("--quick", help="small subset, at most 3 epochs: seconds")]
JsonOut = Annotated[Path | None, typer.Option("--json", help="write the result record(s) here")]
Seed = Annotated[int, typer.Option("--seed", min=0, help="seed of weights and data order")]
Classes = Annotated[str | None, typer.Option("--classes", help="class subset, e.g. 1,2,6")]
Hidden = Annotated[str, typer.Option("--hidden", help="hidden widths, e.g. 1000 or 500,100")]
Device = Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:1")]
Target = Annotated[
    float | None,
    typer.Option("--target-accuracy", help="stop at this validation accuracy"),
]
EvalEvery = Annotated[int, typer.Option("--eval-every", min=0, help="evaluate every N samples")]
Resume = Annotated[bool, typer.Option("--resume", help="continue the last unfinished run")]
KeepCheckpoints = Annotated[
    bool,
    typer.Option("--keep-checkpoints", help="keep a finished run's checkpoint (default: delete)"),
]
Alphas = Annotated[
    list[float] | None,
    typer.Option("--m-alpha", help="also count M_alpha = Σ|Δw|^alpha (repeatable)"),
]
NonsilentEps = Annotated[
    float, typer.Option("--nonsilent-eps", min=0, help="|w| above which a synapse is non-silent")
]
Info = Annotated[
    bool, typer.Option("--info", help="add I(X;Z), I(Z;Y) and bits per synapse to the record")
]
NoProgress = Annotated[
    bool, typer.Option("--no-progress", help="no progress bar (or, in logs, progress lines)")
]
RestrictOpt = Annotated[
    str | None,
    typer.Option(
        "--restrict",
        help="restriction policy for every method: none, top, balanced, per-neuron, path, "
        "path-top, random, weight, frozen-hidden",
    ),
]
RestrictP = Annotated[float | None, typer.Option("--p", help="restriction: fraction written")]
RestrictK = Annotated[int | None, typer.Option("--k", help="restriction: plastic hidden units")]
RestrictSeed = Annotated[
    int | None, typer.Option("--restrict-seed", help="restriction: seed of masks / path units")
]
CacheOpt = Annotated[bool, typer.Option("--cache", help="synaptic caching (w = s + l)")]
CacheTau = Annotated[
    float | None, typer.Option("--cache-tau", help="cache decay time in samples (0 = no decay)")
]
CacheC = Annotated[
    float | None, typer.Option("--cache-c", help="cache maintenance cost per |s| per sample")
]
CacheTheta = Annotated[
    float | None, typer.Option("--cache-theta", help="cache consolidation threshold")
]
CacheMode = Annotated[
    str | None, typer.Option("--cache-mode", help="synapse, neuron-any or neuron-sum")
]


def _plasticity_assignments(
    restrict: str | None,
    p: float | None,
    k: int | None,
    restrict_seed: int | None,
    cache: bool,
    cache_tau: float | None,
    cache_c: float | None,
    cache_theta: float | None,
    cache_mode: str | None,
) -> tuple[dict[str, str], dict[str, str]]:
    """The restriction and cache options given, as key=value assignments (unset ones left out)."""
    r = {"policy": restrict, "p": p, "k": k, "seed": restrict_seed}
    c = {"tau": cache_tau, "c": cache_c, "theta": cache_theta, "mode": cache_mode}
    r_set = {key: str(v) for key, v in r.items() if v is not None}
    c_set = {key: str(v) for key, v in c.items() if v is not None}
    if c_set.get("tau") in ("0", "0.0"):
        c_set["tau"] = "none"
    if c_set and not cache:
        raise ParameterError("--cache-tau/--cache-c/--cache-theta/--cache-mode need --cache")
    if cache:
        c_set["enabled"] = "true"
    return r_set, c_set


def _plasticity_params(
    r_set: dict[str, str], c_set: dict[str, str]
) -> tuple[RestrictParams | None, CacheParams | None]:
    from neuroplastic.params import build_params
    from neuroplastic.restrict import CacheParams, RestrictParams

    restrict = build_params(RestrictParams, r_set, "--restrict") if r_set else None
    if restrict is not None and "policy" not in r_set:
        raise ParameterError("--p/--k/--restrict-seed need --restrict POLICY")
    enabled = c_set.get("enabled") == "true"
    values = {key: v for key, v in c_set.items() if key != "enabled"}
    cache = build_params(CacheParams, values, "--cache") if enabled else None
    return restrict, cache


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
    return any("--resume" in param.opts for param in command.params)


def interrupted_message(args: list[str], cause: str = "") -> str:
    """One line: what stopped the command (Ctrl-C or the signal) and the exact command that
    resumes it (the same arguments with ``--resume``), or that it can be rerun."""
    how = cause if cause.startswith("SIG") else "Ctrl-C"
    if _takes_resume(args):
        again = shlex.join(["neuroplastic", *args, *([] if "--resume" in args else ["--resume"])])
        return f"interrupted ({how}); the run is marked 'interrupted'; resume it with: {again}"
    return f"interrupted ({how}); rerun with: {shlex.join(['neuroplastic', *args])}"


def _parse_hidden(text: str) -> list[int]:
    try:
        widths = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ParameterError(f"--hidden expects comma-separated integers (got {text!r})") from None
    if not widths or any(w < 1 for w in widths):
        raise ParameterError(f"--hidden widths must be >= 1 (got {text!r})")
    return widths


def _experiment(
    classes: str | None,
    hidden: str,
    seed: int,
    device: str,
    quick: bool,
    target: float | None,
    eval_every: int,
    data_dir: str | None,
    no_progress: bool,
    alphas: list[float] | None,
    nonsilent_eps: float,
    info: bool,
) -> Experiment:
    from neuroplastic.data import parse_classes
    from neuroplastic.paths import check_data_dir
    from neuroplastic.runs import Experiment

    check_data_dir(data_dir)
    exp = Experiment(
        classes=parse_classes(classes) if classes else None,
        hidden=_parse_hidden(hidden),
        seed=seed,
        device=device,
        quick=quick,
        target_accuracy=target,
        eval_every=eval_every,
        data_dir=data_dir,
        progress=not no_progress,
        alphas=list(alphas or []),
        nonsilent_eps=nonsilent_eps,
        info=info,
    )
    exp.validate()
    return exp


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
    from neuroplastic.report import plot_records, results_table
    from neuroplastic.results import write_records

    console.print(results_table(records, width=console.width))
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
    data_dir: DataDir = None,
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
    named: NamedExperiment[Any],
    assignments: dict[str, str],
    seed: int,
    device: str,
    quick: bool,
    resume: bool,
    data_dir: str | None,
    no_progress: bool,
    json_path: Path | None,
) -> None:
    from neuroplastic.experiments.registry import ExperimentContext
    from neuroplastic.params import build_params
    from neuroplastic.report import results_table

    params = build_params(named.params_model, assignments, named.name)
    ctx = ExperimentContext(
        seed=seed,
        device=device,
        quick=quick,
        resume=resume,
        data_dir=data_dir,
        progress=not no_progress,
        output_dir=json_path.parent if json_path is not None else Path("results") / named.name,
        console=console,
    )
    output = named.run(params, ctx)
    for table in output.tables:
        console.print(table)
    if output.records:
        console.print(results_table(output.records, width=console.width))
    for path in output.files:
        console.print(f"written: {path}")
    if json_path is not None:
        _write_or_fail("--json", json_path, output.write_json)
        console.print(f"results written to {json_path}")


@app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run_cmd(
    ctx: typer.Context,
    method: Annotated[
        str, typer.Argument(help="method or named experiment (see `neuroplastic methods`)")
    ],
    set_: SetOpt = None,
    quick: Quick = False,
    json_path: JsonOut = None,
    seed: Seed = 0,
    classes: Classes = None,
    hidden: Hidden = "1000",
    device: Device = "auto",
    target_accuracy: Target = None,
    eval_every: EvalEvery = 0,
    resume: Resume = False,
    keep_checkpoints: KeepCheckpoints = False,
    data_dir: DataDir = None,
    store: StoreOpt = None,
    no_progress: NoProgress = False,
    m_alpha: Alphas = None,
    nonsilent_eps: NonsilentEps = 0.0,
    info: Info = False,
    restrict: RestrictOpt = None,
    p: RestrictP = None,
    k: RestrictK = None,
    restrict_seed: RestrictSeed = None,
    cache: CacheOpt = False,
    cache_tau: CacheTau = None,
    cache_c: CacheC = None,
    cache_theta: CacheTheta = None,
    cache_mode: CacheMode = None,
) -> None:
    """Train one method (or run one named experiment) and print its result.

    A named experiment also takes its parameters as options: `--n 4096` is `--set n=4096`.
    `--restrict POLICY [--p P] [--k K]` and `--cache [--cache-theta ...]` restrict / cache every
    synapse group of the method (see neuroplastic.restrict).
    """
    from neuroplastic.experiments.registry import find_experiment, options_to_assignments
    from neuroplastic.methods import get_method
    from neuroplastic.params import parse_assignments, split_overrides
    from neuroplastic.runs import run_method
    from neuroplastic.store import RunStore

    _check_outputs(json_path)
    r_set, c_set = _plasticity_assignments(
        restrict, p, k, restrict_seed, cache, cache_tau, cache_c, cache_theta, cache_mode
    )
    named = find_experiment(method)
    if named is not None:
        assignments = parse_assignments(set_ or [])
        # the energy protocol takes these as its own parameters
        renames = {"policy": "restrict", "seed": "restrict_seed"}
        assignments.update({renames.get(key, key): v for key, v in r_set.items()})
        cache_names = {"tau": "tau", "c": "c", "theta": "theta", "mode": "cache_mode"}
        assignments.update(
            {"cache" if key == "enabled" else cache_names[key]: v for key, v in c_set.items()}
        )
        assignments.update(options_to_assignments(ctx.args))
        _run_named_experiment(
            named, assignments, seed, device, quick, resume, data_dir, no_progress, json_path
        )
        return
    if ctx.args:
        raise ParameterError(
            f"unknown option(s) for method {method!r}: {' '.join(ctx.args)} "
            "(method parameters go through --set key=value)"
        )
    exp = _experiment(
        classes,
        hidden,
        seed,
        device,
        quick,
        target_accuracy,
        eval_every,
        data_dir,
        no_progress,
        m_alpha,
        nonsilent_eps,
        info,
    )
    exp.restrict, exp.cache = _plasticity_params(r_set, c_set)
    overrides = split_overrides(
        parse_assignments(set_ or []), {method: get_method(method).params_model}
    )[method]
    with RunStore(store) as run_store:
        record = run_method(
            method,
            overrides,
            exp,
            run_store,
            resume=resume,
            console=console,
            keep_checkpoint=keep_checkpoints,
        )
    _emit([record], json_path, None, run_store.url)


@app.command("compare")
def compare_cmd(
    methods: Annotated[
        str | None, typer.Option("--methods", help="comma-separated; default: all registered")
    ] = None,
    set_: SetOpt = None,
    quick: Quick = False,
    json_path: JsonOut = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="write a PNG plot here")] = None,
    seed: Seed = 0,
    classes: Classes = None,
    hidden: Hidden = "1000",
    device: Device = "auto",
    target_accuracy: Target = None,
    eval_every: EvalEvery = 0,
    resume: Resume = False,
    keep_checkpoints: KeepCheckpoints = False,
    data_dir: DataDir = None,
    store: StoreOpt = None,
    no_progress: NoProgress = False,
    m_alpha: Alphas = None,
    nonsilent_eps: NonsilentEps = 0.0,
    info: Info = False,
    restrict: RestrictOpt = None,
    p: RestrictP = None,
    k: RestrictK = None,
    restrict_seed: RestrictSeed = None,
    cache: CacheOpt = False,
    cache_tau: CacheTau = None,
    cache_c: CacheC = None,
    cache_theta: CacheTheta = None,
    cache_mode: CacheMode = None,
) -> None:
    """Train several methods on the same data and architecture budget; print one table."""
    from neuroplastic.methods import default_comparison, get_method
    from neuroplastic.params import parse_assignments, split_overrides
    from neuroplastic.runs import compare
    from neuroplastic.store import RunStore

    _check_outputs(json_path, plot)
    r_set, c_set = _plasticity_assignments(
        restrict, p, k, restrict_seed, cache, cache_tau, cache_c, cache_theta, cache_mode
    )
    names = (
        [m.strip() for m in methods.split(",") if m.strip()] if methods else default_comparison()
    )
    if not names:
        raise ParameterError("--methods is empty")
    models = {name: get_method(name).params_model for name in names}
    overrides = split_overrides(parse_assignments(set_ or []), models)
    exp = _experiment(
        classes,
        hidden,
        seed,
        device,
        quick,
        target_accuracy,
        eval_every,
        data_dir,
        no_progress,
        m_alpha,
        nonsilent_eps,
        info,
    )
    exp.restrict, exp.cache = _plasticity_params(r_set, c_set)
    with RunStore(store) as run_store:
        records = compare(
            names,
            overrides,
            exp,
            run_store,
            console=console,
            resume=resume,
            keep_checkpoints=keep_checkpoints,
        )
    _emit(records, json_path, plot, run_store.url)


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ParameterError(f"{what} expects comma-separated numbers (got {text!r})") from None


@app.command("evaluate")
def evaluate_cmd(
    methods: Annotated[
        str | None,
        typer.Option("--methods", help="comma-separated (backprop is always added as reference)"),
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
    set_: SetOpt = None,
    quick: Quick = False,
    seed: Seed = 0,
    classes: Classes = None,
    hidden: Hidden = "1000",
    device: Device = "auto",
    data_dir: DataDir = None,
    store: StoreOpt = None,
    no_progress: NoProgress = False,
    nonsilent_eps: NonsilentEps = 0.0,
) -> None:
    """Signatures, few-shot and adversarial robustness of several methods; claims judged."""
    from neuroplastic.experiments.evaluate import (
        quick_attack_settings,
        quick_few_shot_settings,
        run_evaluation,
    )
    from neuroplastic.experiments.evaluate_report import tables
    from neuroplastic.methods import default_comparison, get_method
    from neuroplastic.metrics.adversarial import attack_settings
    from neuroplastic.metrics.few_shot import FewShotSettings
    from neuroplastic.params import parse_assignments, split_overrides
    from neuroplastic.store import RunStore

    names = (
        [m.strip() for m in methods.split(",") if m.strip()] if methods else default_comparison()
    )
    if not names:
        raise ParameterError("--methods is empty")
    models = {name: get_method(name).params_model for name in ["backprop", *names]}
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
        try:
            shot_settings = FewShotSettings(**(quick_few_shot_settings(**fs) if quick else fs))
        except ValueError as exc:
            raise ParameterError(f"few-shot: {exc}") from None
    exp = _experiment(
        classes,
        hidden,
        seed,
        device,
        quick,
        None,
        0,
        data_dir,
        no_progress,
        None,
        nonsilent_eps,
        False,
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
    store: StoreOpt = None,
) -> None:
    """List recent runs, newest first (killed runs show as crashed)."""
    from rich.table import Table

    from neuroplastic.store import RunStore

    with RunStore(store) as run_store:
        runs = run_store.list_runs(limit=limit, method=method, status=status)
        table = Table(title=f"runs in {run_store.url}")
        for col in ("id", "method", "dataset", "status", "seed", "device", "started", "test acc"):
            table.add_column(col)
        for run in runs:
            result = run_store.get_result(run.id) or {}
            acc = result.get("test_accuracy")
            table.add_row(
                str(run.id),
                run.method,
                run.dataset,
                run.status,
                str(run.seed),
                run.device,
                run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                "-" if acc is None else f"{acc:.2%}",
            )
    console.print(table)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[int, typer.Argument(help="run id (see `neuroplastic runs list`)")],
    store: StoreOpt = None,
) -> None:
    """Show one run: its parameters, status, metrics over time and result record."""
    from rich.table import Table

    from neuroplastic.report import results_table
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
    elif result:
        record = ResultRecord.model_validate(result)
        console.print(results_table([record], title="result", width=console.width))
        for warning in record.warnings:
            console.print(f"[yellow]warning:[/yellow] {warning}")


@app.command("continual")
def continual(
    methods: Annotated[
        str, typer.Option("--methods", help="comma-separated methods")
    ] = "structural,backprop",
    first: Annotated[
        str, typer.Option("--first", help="classes learned in phase A, e.g. 0,1,2,3,4")
    ] = "0,1,2,3,4",
    second: Annotated[
        str, typer.Option("--second", help="classes learned in phase B, e.g. 5,6,7,8,9")
    ] = "5,6,7,8,9",
    set_: SetOpt = None,
    quick: Quick = False,
    json_path: JsonOut = None,
    seed: Seed = 0,
    hidden: Hidden = "1000",
    device: Device = "auto",
    data_dir: DataDir = None,
    no_progress: NoProgress = False,
) -> None:
    """Space for new memories: learn --first classes, then --second; what is kept and recruited."""
    from neuroplastic.experiments.continual import (
        continual_table,
        parse_class_list,
        run_continual,
        write_continual_json,
    )
    from neuroplastic.methods import get_method
    from neuroplastic.params import parse_assignments, split_overrides
    from neuroplastic.paths import check_data_dir

    _check_outputs(json_path)
    check_data_dir(data_dir)
    names = [m.strip() for m in methods.split(",") if m.strip()]
    if not names:
        raise ParameterError("--methods is empty")
    models = {name: get_method(name).params_model for name in names}
    overrides = split_overrides(parse_assignments(set_ or []), models)
    results = run_continual(
        names,
        parse_class_list(first, "--first"),
        parse_class_list(second, "--second"),
        hidden=_parse_hidden(hidden),
        seed=seed,
        quick=quick,
        overrides=overrides,
        data_dir=data_dir,
        device=device,
        progress=not no_progress,
        console=console,
    )
    console.print(continual_table(results))
    if json_path is not None:
        _write_or_fail("--json", json_path, lambda p: write_continual_json(p, results))
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
