"""Run one method, or compare several, on the same data and architecture budget.

``run_method`` is what ``neuroplastic run`` calls: it loads the data, builds the learner,
records the run in the store (status ``running``), trains with checkpoints, and writes the
result record. A crash marks the run ``failed``, Ctrl-C or SIGTERM marks it ``interrupted``,
and a run killed outright is found ``crashed`` by the store; ``--resume`` continues any of them
from its last checkpoint with the ledger intact.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from torch import Tensor

from neuroplastic.data import DataSplits, fetch_mnist, load_splits
from neuroplastic.energy.ledger import Ledger
from neuroplastic.energy.summary import LedgerSummary
from neuroplastic.energy.synops import measure_synops
from neuroplastic.errors import DivergedError, ParameterError
from neuroplastic.methods import BuildContext, Learner, TrainingParams, get_method
from neuroplastic.metrics import VIBSettings, plugin_mutual_information, variational_information
from neuroplastic.params import build_params
from neuroplastic.paths import checkpoint_dir
from neuroplastic.restrict import (
    CacheParams,
    RestrictParams,
    attach_cache,
    attach_restriction,
    describe,
)
from neuroplastic.results import ResultRecord
from neuroplastic.store import RunStore, neuroplastic_version, params_hash
from neuroplastic.train import LoopSettings, Trainer, accuracy

QUICK_TRAIN = 2000
QUICK_VAL = 500
QUICK_TEST = 1000
QUICK_MAX_EPOCHS = 3


@dataclass
class Experiment:
    """Settings shared by every method in a run or comparison (the 'same data and budget')."""

    classes: list[int] | None = None
    hidden: list[int] = field(default_factory=lambda: [1000])
    seed: int = 0
    device: str = "auto"
    quick: bool = False
    val_size: int = 5000
    eval_every: int = 0
    target_accuracy: float | None = None
    nonsilent_eps: float = 0.0
    info: bool = False
    alphas: list[float] = field(default_factory=list)
    data_dir: str | None = None
    progress: bool = True
    restrict: RestrictParams | None = None  # restriction policy applied to every method
    cache: CacheParams | None = None  # synaptic caching applied to every method

    def validate(self) -> None:
        """Raise ParameterError for out-of-range settings."""
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ParameterError(f"hidden widths must be >= 1 (got {self.hidden})")
        if self.seed < 0:
            raise ParameterError(f"seed must be >= 0 (got {self.seed})")
        if self.target_accuracy is not None and not 0 < self.target_accuracy <= 1:
            raise ParameterError(f"target accuracy must be in (0, 1] (got {self.target_accuracy})")
        if self.nonsilent_eps < 0:
            raise ParameterError(f"nonsilent eps must be >= 0 (got {self.nonsilent_eps})")
        if any(not a > 0 for a in self.alphas):
            raise ParameterError(f"M_alpha exponents must be > 0 (got {self.alphas})")
        if self.eval_every < 0:
            raise ParameterError(f"eval-every must be >= 0 (got {self.eval_every})")


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA if available, else CPU; otherwise the named device (checked)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ParameterError(f"unknown device {name!r} ({exc})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device {name!r} requested but CUDA is not available")
    return device


def load_data(exp: Experiment, console: Console | None = None) -> DataSplits:
    """Fetch MNIST if needed, then split it as the experiment says."""
    directory = fetch_mnist(exp.data_dir, progress=console.print if console else None)
    kwargs: dict[str, Any] = {"classes": exp.classes, "seed": exp.seed, "val_size": exp.val_size}
    if exp.quick:
        kwargs.update(val_size=QUICK_VAL, train_limit=QUICK_TRAIN, test_limit=QUICK_TEST)
    return load_splits(directory, verify=False, **kwargs)  # fetch_mnist just verified


def method_params(name: str, overrides: dict[str, Any], quick: bool) -> TrainingParams:
    """Validated parameters of method ``name``; quick mode caps the epochs."""
    method = get_method(name)
    params = build_params(method.params_model, overrides, owner=name)
    if quick and "epochs" not in overrides:
        params = params.quick(QUICK_MAX_EPOCHS)
    return params


def build_learner(
    name: str, params: TrainingParams, exp: Experiment, data: DataSplits, device: torch.device
) -> Learner:
    """Build method ``name`` for this data and budget, seeded by the experiment's seed."""
    ctx = BuildContext(
        n_features=data.n_features,
        n_classes=data.n_classes,
        hidden=tuple(exp.hidden),
        ledger=Ledger(alphas=exp.alphas),
        generator=torch.Generator().manual_seed(exp.seed),
        device=device,
    )
    torch.manual_seed(exp.seed)
    learner = get_method(name).build(ctx, params).to(device)
    attach_plasticity_filters(learner, exp, params.batch_size)
    return learner


def attach_plasticity_filters(learner: Learner, exp: Experiment, batch_size: int) -> None:
    """Attach the experiment's restriction and synaptic cache to every synapse group.

    With batches the restriction filters the batch's summed update, and the cache counts one
    applied update as ``batch_size`` samples of decay and maintenance.
    """
    groups = learner.synapses()
    if exp.restrict is not None:
        attach_restriction(groups, exp.restrict)
    if exp.cache is not None:
        attach_cache(groups, exp.cache.model_copy(update={"samples_per_apply": batch_size}))


def information_fields(
    learner: Learner, x: Tensor, y: Tensor, n_input: int, n_all: int
) -> dict[str, Any]:
    """I(X;Z), I(Z;Y) and bits per synapse of the learner's hidden code on (x, y).

    I(X;Z): variational bottleneck rate with the fixed :class:`VIBSettings` defaults (the same
    for every method). I(Z;Y): plug-in estimate with Miller–Madow correction, Z discretised as
    the identity of the most active hidden unit (a binary activity pattern is unique per sample
    for wide layers, which would make I(Z;Y) = H(Y) for any code).
    """
    z = learner.hidden_code(x)
    if z is None:
        return {}
    settings = VIBSettings()
    vib = variational_information(z, settings=settings)
    bits_z_y = plugin_mutual_information(z.argmax(1), y)
    return {
        "bits_x_z": vib.bits,
        "bits_z_y": bits_z_y,
        "bits_per_synapse": vib.bits / n_input if n_input else None,
        "bits_per_synapse_all": vib.bits / n_all if n_all else None,
        "info_estimator": {
            "i_x_z": "variational bottleneck rate (held-out KL, bits)",
            "vib_settings": settings.model_dump(),
            "i_z_y": "plug-in, Miller-Madow; Z = argmax hidden unit",
            "samples": int(x.shape[0]),
            "counted_synapses": "input→hidden, |w| > nonsilent_eps",
        },
    }


def make_record(
    name: str,
    learner: Learner,
    trainer: Trainer,
    exp: Experiment,
    params: TrainingParams,
    data: DataSplits,
    device: torch.device,
) -> ResultRecord:
    """Evaluate on the test split and assemble the result record."""
    x_test, y_test = data.test.x.to(device), data.test.y.to(device)
    synops = measure_synops(learner.inference_model, x_test)
    summary = LedgerSummary.from_ledger(learner.ledger)
    groups = learner.synapses()
    outcome = trainer.outcome
    n_input = learner.input_synapses().n_nonsilent(exp.nonsilent_eps)
    n_all = sum(s.n_nonsilent(exp.nonsilent_eps) for s in groups)
    info = information_fields(learner, x_test, y_test, n_input, n_all) if exp.info else {}
    return ResultRecord(
        method=name,
        dataset=data.dataset,
        classes=list(data.classes),
        architecture=learner.architecture,
        seed=exp.seed,
        device=str(device),
        test_accuracy=accuracy(learner, x_test, y_test),
        val_accuracy=outcome.curve[-1].val_accuracy if outcome.curve else None,
        synapses_dense=sum(s.n_total for s in groups),
        synapses_total=sum(s.n_existing for s in groups),
        synapses_nonsilent=n_all,
        synapses_nonsilent_input=n_input,
        connected_units=learner.connected_units(),
        **info,
        nonsilent_eps=exp.nonsilent_eps,
        ledger=summary,
        synops_per_sample=synops.effective,
        synops_dense_per_sample=synops.dense,
        wall_s=outcome.wall_s,
        samples_seen=outcome.samples_seen,
        epochs_done=outcome.epochs_done,
        target_accuracy=exp.target_accuracy,
        samples_to_target=outcome.samples_to_target,
        ledger_at_target=outcome.ledger_at_target,
        train_size=data.train.n,
        val_size=data.val.n,
        test_size=data.test.n,
        quick=exp.quick,
        params=params.model_dump(),
        code_version=neuroplastic_version(),
        method_fields=learner.method_fields(x_test, y_test),
        **plasticity_fields(exp),
    )


def plasticity_fields(exp: Experiment) -> dict[str, Any]:
    """Record fields naming the restriction and the cache (empty when neither is used)."""
    out: dict[str, Any] = {}
    if exp.restrict is not None and exp.restrict.policy != "none":
        out["restriction"] = describe(exp.restrict)
    if exp.cache is not None:
        c = exp.cache
        out["cache"] = f"θ={c.theta:g} τ={c.tau} c={c.c:g} {c.mode}"
    return out


def run_method(
    name: str,
    overrides: dict[str, Any],
    exp: Experiment,
    store: RunStore,
    *,
    data: DataSplits | None = None,
    resume: bool = False,
    console: Console | None = None,
    after_step: Callable[[Trainer], None] | None = None,
) -> ResultRecord:
    """Train method ``name`` and return its record (also saved in ``store``)."""
    exp.validate()
    params = method_params(name, overrides, exp.quick)
    device = resolve_device(exp.device)
    if data is None:
        data = load_data(exp, console)
    run_params = {"method": params.model_dump(), "experiment": _experiment_dict(exp, data)}
    signature = params_hash(name, data.dataset, run_params, exp.seed)
    learner = build_learner(name, params, exp, data, device)
    settings = LoopSettings(
        epochs=params.epochs,
        batch_size=params.batch_size,
        seed=exp.seed,
        eval_every=exp.eval_every,
        target_accuracy=exp.target_accuracy,
    )

    previous = store.find_resumable(signature) if resume else None
    if previous is not None:
        run_id = previous.id
        store.resume_run(run_id)
        ckpt = Path(previous.checkpoint or checkpoint_dir() / f"run-{run_id}.pt")
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
        ckpt = checkpoint_dir() / f"run-{run_id}.pt"
        store.set_checkpoint(run_id, str(ckpt))

    def log_eval(point: Any) -> None:
        store.log_metrics(
            run_id,
            point.samples_seen,
            {"val_accuracy": point.val_accuracy, "m0": point.m0, "m1": point.m1},
        )

    trainer = Trainer(
        learner,
        settings,
        checkpoint_path=ckpt,
        signature=signature,
        on_eval=log_eval,
        progress=exp.progress,
    )
    if previous is not None and trainer.resume() and console is not None:
        console.print(
            f"resumed run {run_id} at {trainer.outcome.samples_seen} samples "
            f"(M0 {learner.ledger.counts().m0:.3g} so far)"
        )
    x, y = data.train.x.to(device), data.train.y.to(device)
    xv, yv = data.val.x.to(device), data.val.y.to(device)
    try:
        trainer.fit(x, y, xv, yv)
        record = make_record(name, learner, trainer, exp, params, data, device)
        record.run_id = run_id
    except KeyboardInterrupt:
        store.fail_run(run_id, "interrupted by the user (resume with --resume)", "interrupted")
        raise
    except DivergedError as exc:
        store.fail_run(run_id, f"{name} {exc}", "diverged")
        raise DivergedError(f"{name}: {exc}", exc.step, exc.samples_seen) from None
    except BaseException as exc:
        store.fail_run(run_id, f"{type(exc).__name__}: {exc}")
        raise
    store.finish_run(run_id, json.loads(record.model_dump_json()))
    return record


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
) -> list[ResultRecord]:
    """Run each method on the same data split, hidden widths and seed; return their records."""
    exp.validate()
    for name in methods:  # fail on a bad name or parameter before any training
        method_params(name, overrides.get(name, {}), exp.quick)
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
            )
        )
    return records
