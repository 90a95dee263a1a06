"""The life of a run: record it in the store, train with checkpoints, write its result.

``run_method`` is what ``neuroplastic run`` calls: it loads the data, builds the learner,
records the run in the store (status ``running``), trains with checkpoints, and writes the
result record. A crash marks the run ``failed``, Ctrl-C or SIGTERM marks it ``interrupted``,
and a run killed outright is found ``crashed`` by the store; ``--resume`` continues any of them
from its last checkpoint with the ledger intact. ``compare`` runs several methods on one split.

Checkpoints are keyed by store and run (``<home>/checkpoints/<store key>/run-<id>.pt``, see
:mod:`neuroplastic.paths`) and carry their owner, so run 1 of one store never overwrites or
resumes from run 1 of another; a finished run's checkpoint is deleted unless kept on request.
``run_experiment`` records a named experiment the same way (status, parameters, result,
provenance), so ``neuroplastic runs list`` shows every experiment as well as every method run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from rich.console import Console

from neuroplastic.checkpoint import checkpoint_owner
from neuroplastic.data import DataSplits
from neuroplastic.energy.meter import EnergyMeter, MeterSession
from neuroplastic.errors import CheckpointError, DivergedError
from neuroplastic.experiments.registry import ExperimentContext, ExperimentOutput, NamedExperiment
from neuroplastic.methods import Learner
from neuroplastic.paths import store_key
from neuroplastic.provenance import collect_provenance, utc_now
from neuroplastic.results import ResultRecord
from neuroplastic.runs.build import build_learner
from neuroplastic.runs.data import load_data
from neuroplastic.runs.device import resolve_device
from neuroplastic.runs.record import make_record
from neuroplastic.runs.settings import Experiment, method_params
from neuroplastic.store import RunStore, params_hash
from neuroplastic.train import LoopSettings, Trainer


def run_method(
    name: str,
    overrides: dict[str, Any],
    exp: Experiment,
    store: RunStore,
    *,
    data: DataSplits | None = None,
    resume: bool = False,
    console: Console | None = None,
    keep_checkpoint: bool = False,
    on_trained: Callable[[Learner], None] | None = None,
    meter: EnergyMeter | None = None,
) -> ResultRecord:
    """Train method ``name`` and return its record (also saved in ``store``).

    Energy: the record's ``energy`` holds the estimates of ``exp.energy_model`` and what the
    meter read in the windows ``train`` (fit) and ``evaluate`` (the test evaluation); the meter
    is ``meter`` if given (a test's fake), else the machine's (``exp.meter``: Zeus where a
    counter answers), else the record says ``unavailable`` and why. A meter error leaves the
    run going. A finished run returned by ``resume`` gets its estimates recomputed from its
    stored counts with ``exp.energy_model``; its measurement is the stored one.

    ``on_trained`` receives the trained learner after its record is stored (evaluations that
    need the model itself, e.g. ``neuroplastic evaluate``; not called for a finished run that
    ``resume`` does not train again).

    With ``resume`` a finished run of the same configuration is not trained again (its stored
    record is returned); an unfinished one continues from its own checkpoint (a missing or
    foreign one raises CheckpointError and leaves the run as it was), and the metric rows
    its killed attempt logged after that checkpoint are dropped (they are logged again).
    The checkpoint lives at ``store.checkpoint_path(run_id)`` (keyed by store and run) and
    names its owner; it is deleted once the run finished, unless ``keep_checkpoint``.
    """
    exp.validate()
    params = method_params(name, overrides, exp.quick)
    device = resolve_device(exp.device)
    if data is None:
        data = load_data(exp, console)
    run_params = {"method": params.model_dump(), "experiment": _experiment_dict(exp, data)}
    signature = params_hash(name, data.dataset, run_params, exp.seed)
    previous = store.find_resumable(signature) if resume else None
    if resume and previous is None:
        done = _finished_record(store, signature)
        if done is not None:
            if console is not None:
                console.print(
                    f"{name}: already finished as run {done.run_id}; not trained again "
                    "(its stored record is used)"
                )
            if done.energy is not None:
                done.energy = done.energy.with_tables(exp.energy_tables())
            return done
    learner = build_learner(name, params, exp, data, device)
    settings = LoopSettings(
        epochs=params.epochs,
        batch_size=params.batch_size,
        seed=exp.seed,
        eval_every=exp.eval_every,
        target_accuracy=exp.target_accuracy,
    )

    def new_trainer(run_id: int, ckpt: Path) -> Trainer:
        def log_eval(point: Any) -> None:
            values = {"val_accuracy": point.val_accuracy, "m0": point.m0, "m1": point.m1}
            if point.objective is not None:
                values[learner.objective_name] = point.objective
            store.log_metrics(run_id, point.samples_seen, values)

        def warn(message: str) -> None:
            if console is not None:
                console.print(f"[yellow]warning:[/yellow] {name} run {run_id}: {message}")

        return Trainer(
            learner,
            settings,
            checkpoint_path=ckpt,
            signature=signature,
            owner=checkpoint_owner(store_key(store.url), run_id),
            on_eval=log_eval,
            on_warning=warn,
            progress=exp.progress,
        )

    if previous is not None:
        run_id = previous.id
        ckpt = Path(previous.checkpoint) if previous.checkpoint else store.checkpoint_path(run_id)
        trainer = new_trainer(run_id, ckpt)
        try:  # checked and loaded before the run is touched: a refused resume leaves it as it was
            trainer.restore(trainer.load_checkpoint())
        except CheckpointError as exc:
            raise CheckpointError(
                f"cannot resume {name} run {run_id} of {store.url} ({previous.status}): {exc}; "
                f"the run stays {previous.status}; run without --resume to start anew"
            ) from None
        store.resume_run(run_id)
        # rows the killed attempt logged after its last checkpoint are logged again from here
        store.drop_metrics_after(run_id, trainer.outcome.samples_seen)
        provenance = collect_provenance(
            device=str(device), seed=exp.seed, started_at=previous.started_at, resumed_at=utc_now()
        )
        if console is not None:
            console.print(
                f"resumed run {run_id} at {trainer.outcome.samples_seen} samples "
                f"(M0 {learner.ledger.counts().m0:.3g} so far)"
            )
    else:
        if resume and console is not None:
            console.print(f"[yellow]no unfinished {name} run with these settings; starting anew")
        run_id = store.start_run(
            method=name,
            dataset=data.dataset,
            params=run_params,
            seed=exp.seed,
            device=str(device),
        )
        ckpt = store.checkpoint_path(run_id)
        store.set_checkpoint(run_id, str(ckpt))
        trainer = new_trainer(run_id, ckpt)
        provenance = collect_provenance(
            device=str(device), seed=exp.seed, started_at=store.get_run(run_id).started_at
        )
        if console is not None:
            console.print(f"run {run_id}: {name}, recorded in {store.url}")
    x, y = data.train.x.to(device), data.train.y.to(device)
    xv, yv = data.val.x.to(device), data.val.y.to(device)
    session = (
        MeterSession(meter) if meter is not None else MeterSession.open(exp.meter, str(device))
    )
    start_samples = trainer.outcome.samples_seen
    try:
        with session.window("train"):
            trainer.fit(x, y, xv, yv)
        with session.window("evaluate"):
            record = make_record(name, learner, trainer, exp, params, data, device)
        note = None
        if start_samples:
            note = f"train window covers this attempt only (resumed at {start_samples} samples)"
        if record.energy is not None:
            record.energy.measured = session.result(note)
        record.run_id = run_id
        provenance = record.provenance = provenance.finished()
    except KeyboardInterrupt:
        store.fail_run(run_id, "interrupted by the user (resume with --resume)", "interrupted")
        raise
    except DivergedError as exc:
        store.fail_run(run_id, f"{name} {exc}", "diverged")
        raise DivergedError(f"{name}: {exc}", exc.step, exc.samples_seen) from None
    except BaseException as exc:
        store.fail_run(run_id, f"{type(exc).__name__}: {exc}")
        raise
    store.finish_run(run_id, json.loads(record.model_dump_json()), ended_at=provenance.ended_at)
    if console is not None:
        for message in record.warnings:
            console.print(f"[yellow]warning:[/yellow] {name} run {run_id}: {message}")
    if not keep_checkpoint:
        _remove_checkpoint(store, run_id, ckpt)
    if on_trained is not None:
        on_trained(learner)
    return record


def find_finished(
    name: str, overrides: dict[str, Any], exp: Experiment, store: RunStore, data: DataSplits
) -> ResultRecord | None:
    """The stored record of a finished run of ``name`` with these settings (what ``run_method``
    with ``resume`` would return without training, estimates recomputed with
    ``exp.energy_model``), or None; trains nothing."""
    exp.validate()
    params = method_params(name, overrides, exp.quick)
    run_params = {"method": params.model_dump(), "experiment": _experiment_dict(exp, data)}
    done = _finished_record(store, params_hash(name, data.dataset, run_params, exp.seed))
    if done is not None and done.energy is not None:
        done.energy = done.energy.with_tables(exp.energy_tables())
    return done


def _finished_record(store: RunStore, signature: str) -> ResultRecord | None:
    """The stored record of a finished run with this signature, or None."""
    run = store.find_finished(signature)
    result = None if run is None else store.get_result(run.id)
    return None if result is None else ResultRecord.model_validate(result)


def _remove_checkpoint(store: RunStore, run_id: int, ckpt: Path) -> None:
    """Delete a finished run's checkpoint (and its store's folder once empty); forget its path."""
    try:
        ckpt.unlink(missing_ok=True)
    except OSError:  # not ours to delete after all: leave it, and its path, in place
        return
    with contextlib.suppress(OSError):
        ckpt.parent.rmdir()  # only when empty
    store.set_checkpoint(run_id, None)


def _experiment_dict(exp: Experiment, data: DataSplits) -> dict[str, Any]:
    return {
        "classes": data.classes,
        "hidden": exp.hidden,
        "quick": exp.quick,
        "val_size": data.val.n,
        "eval_every": exp.eval_every,
        "target_accuracy": exp.target_accuracy,
        "nonsilent_eps": exp.nonsilent_eps,
        "alphas": exp.alphas,
        "info": exp.info,
        # only when used, so that the signatures of earlier runs stay valid for --resume
        **({"restrict": exp.restrict.model_dump()} if exp.restrict is not None else {}),
        **({"cache": exp.cache.model_dump()} if exp.cache is not None else {}),
    }


def compare(
    methods: Sequence[str],
    overrides: dict[str, dict[str, Any]],
    exp: Experiment,
    store: RunStore,
    *,
    console: Console | None = None,
    resume: bool = False,
    data: DataSplits | None = None,
    keep_checkpoints: bool = False,
    meter: EnergyMeter | None = None,
) -> list[ResultRecord]:
    """Run each method on the same data split, hidden widths and seed; return their records.

    With ``resume`` a method whose run already finished is not trained again (its stored
    record is returned) and an unfinished one continues from its checkpoint.
    """
    exp.validate()
    for name in methods:  # fail on a bad name or parameter before any training
        method_params(name, overrides.get(name, {}), exp.quick)
    if data is None:
        data = load_data(exp, console)
    records = []
    for name in methods:
        if console is not None:
            console.print(f"[bold]{name}[/bold] on {data.dataset} {data.classes} ...")
        records.append(
            run_method(
                name,
                overrides.get(name, {}),
                exp,
                store,
                data=data,
                resume=resume,
                console=console,
                keep_checkpoint=keep_checkpoints,
                meter=meter,
            )
        )
    return records


def run_experiment(
    named: NamedExperiment[Any],
    params: BaseModel,
    ctx: ExperimentContext,
    store: RunStore,
) -> ExperimentOutput:
    """Run named experiment ``named`` recorded in ``store`` like a method run.

    The run row holds the experiment's name (as the method), its dataset, parameters, seed and
    device; its result is the output's :meth:`~ExperimentOutput.document` (payload, records,
    headline, provenance) with ``kind: experiment``. A crash marks it ``failed``, Ctrl-C
    ``interrupted``; with ``ctx.resume`` (experiments that take ``--resume``) an unfinished run
    of the same parameters is continued under its own id.
    """
    device = str(resolve_device(ctx.device))
    run_params = {
        "experiment": params.model_dump(mode="json"),
        "quick": ctx.quick,
        **({"methods": dict(ctx.method_overrides)} if ctx.method_overrides else {}),
    }
    signature = params_hash(named.name, named.dataset, run_params, ctx.seed)
    previous = store.find_resumable(signature) if ctx.resume else None
    if previous is not None:
        run_id = previous.id
        store.resume_run(run_id)
        provenance = collect_provenance(
            device=device, seed=ctx.seed, started_at=previous.started_at, resumed_at=utc_now()
        )
    else:
        run_id = store.start_run(
            method=named.name,
            dataset=named.dataset,
            params=run_params,
            seed=ctx.seed,
            device=device,
        )
        provenance = collect_provenance(
            device=device, seed=ctx.seed, started_at=store.get_run(run_id).started_at
        )
    ctx.console.print(f"run {run_id}: {named.name}, recorded in {store.url}")
    ckpt = store.checkpoint_path(run_id)  # used by experiments that checkpoint (with --resume)
    ctx = dataclasses.replace(ctx, checkpoint_path=ckpt, store=store)
    try:
        output = named.run(params, ctx)
    except KeyboardInterrupt:
        store.fail_run(run_id, "interrupted by the user", "interrupted")
        raise
    except BaseException as exc:
        store.fail_run(run_id, f"{type(exc).__name__}: {exc}")
        raise
    output.run_id = run_id
    output.provenance = provenance.finished()
    document = json.loads(json.dumps(output.document(), default=str))
    store.finish_run(
        run_id,
        {"kind": "experiment", "experiment": named.name, **document},
        ended_at=output.provenance.ended_at,
    )
    _remove_checkpoint(store, run_id, ckpt)
    return output
