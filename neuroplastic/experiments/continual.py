"""Space for new memories: class-incremental learning in two phases, A then B.

The claim under test (structural plasticity, deliverable 2): a structural rule keeps part of its
hidden layer as an unconnected *reserve*, and recruits reserve units and grows synapses for
classes it has not seen before, so that learning them overwrites less of what was learned. Each
method is trained, on one data split and from one seeded initialisation:

- **phase A** on the training samples of the ``first`` classes only (ledger phase ``"A"``);
- **phase B** on the training samples of the ``second`` classes only (ledger phase ``"B"``).

The output layer has ``len(first) + len(second)`` units from the start (labels are remapped over
all the classes together), so nothing is added to the architecture between phases: only the
learning rule decides what the new classes get. After each phase the *test* split is scored on
the first classes, the second classes and all of them (scoring only: nothing is chosen on the
test split; the training loop evaluates on the validation samples of the phase's classes). The
same three accuracies on the *validation* split (``val_acc_first``, ``val_acc_second``,
``val_acc_all``) are recorded beside them: settings are compared there. Scoring the old classes'
validation samples after phase B is model selection, not training: the learner never sees them.

What is recorded per phase: those three accuracies, the ledger counts charged to the phase
(M0 writes, M1 = Σ|Δw|, synapses created and pruned; in all and per synapse group), the
existing input synapses, and for learners with ``connected_units()`` (the structural rule) the
connected hidden units. After phase B also: the units **recruited** from the reserve (connected
after B, not after A), the phase-A units **released** to the reserve (connected after A, not
after B) and the phase-A units whose input-synapse masks **changed** (a synapse pruned or grown).

**Schedule.** Each phase is a fresh :class:`~neuroplastic.train.Trainer` run of ``epochs``
epochs. The structural rule's plasticity schedule (hidden learning for ``plastic_epochs()``
epochs, reserve and budget pruning plus growth from ``prune_epoch`` on) restarts for each phase:
every learner's ``begin_phase`` hook is called before it (a no-op for backprop). Without it the
hidden layer of a structural learner would be frozen during phase B (its plastic epochs were
used up in phase A) and it could recruit nothing. Its other state (weights, masks, homeostatic
rates and biases, the silent-synapse counters) carries over. Other learners simply continue
training (backprop keeps its Adam moments).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from rich.console import Console
from rich.table import Table
from torch import Tensor

from neuroplastic.data import DataSplits
from neuroplastic.data.classes import ALL_CLASSES
from neuroplastic.data.mnist import Split
from neuroplastic.errors import NeuroplasticError, ParameterError
from neuroplastic.experiments.registry import (
    ExperimentContext,
    ExperimentOutput,
    register_experiment,
)
from neuroplastic.methods import Learner, get_method
from neuroplastic.params import parse_hidden, split_overrides
from neuroplastic.runs import (
    Experiment,
    build_learner,
    load_data,
    method_params,
    resolve_device,
)
from neuroplastic.train import LoopSettings, Trainer, accuracy

__all__ = [
    "PHASES",
    "ContinualParams",
    "check_phase_classes",
    "continual_table",
    "parse_class_list",
    "run_continual",
]

#: Ledger phase names of the two training phases, in order.
PHASES = ("A", "B")


# ------------------------------------------------------------------ class lists
def parse_class_list(text: str, option: str = "classes") -> list[int]:
    """Parse ``"0,1,2"`` into sorted digits; one class is allowed (a phase may hold one).

    Raises :class:`ParameterError` naming ``option`` for junk, repeats or digits outside 0..9.
    """
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise ParameterError(f"{option}: empty class list; expected digits like '0,1,2'")
    try:
        values = [int(item) for item in items]
    except ValueError:
        raise ParameterError(
            f"{option}: bad class list {text!r}; expected comma-separated digits like '0,1,2'"
        ) from None
    return _check_list(values, option)


def _check_list(values: Sequence[int], option: str) -> list[int]:
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int)]
    if bad:
        raise ParameterError(f"{option}: classes must be integers 0..9, got {bad}")
    out_of_range = [v for v in values if v not in ALL_CLASSES]
    if out_of_range:
        raise ParameterError(f"{option}: classes must lie in 0..9, got {out_of_range}")
    repeated = sorted({v for v in values if list(values).count(v) > 1})
    if repeated:
        raise ParameterError(f"{option}: classes must be unique, repeated: {repeated}")
    if not values:
        raise ParameterError(f"{option}: needs at least one class")
    return sorted(values)


def check_phase_classes(first: Sequence[int], second: Sequence[int]) -> tuple[list[int], list[int]]:
    """Validate the two phases' classes: each non-empty, in 0..9, unique, and disjoint."""
    a = _check_list(list(first), "first classes")
    b = _check_list(list(second), "second classes")
    overlap = sorted(set(a) & set(b))
    if overlap:
        raise ParameterError(
            f"first classes {a} and second classes {b} overlap in {overlap}; each class must be "
            "learned in one phase only"
        )
    return a, b


# ------------------------------------------------------------------ helpers
def _labels(data: DataSplits, classes: Sequence[int]) -> Tensor:
    return torch.tensor([data.classes.index(c) for c in classes], dtype=torch.int64)


def _subset(split: Split, labels: Tensor, device: torch.device) -> tuple[Tensor, Tensor]:
    keep = torch.isin(split.y, labels)
    return split.x[keep].to(device), split.y[keep].to(device)


def _maybe_accuracy(learner: Learner, x: Tensor, y: Tensor) -> float | None:
    return accuracy(learner, x, y) if x.shape[0] else None


def _connected(learner: Learner) -> Tensor | None:
    """Per hidden unit: has it at least one input synapse? None for learners without units."""
    if learner.connected_units() is None:
        return None
    return learner.input_synapses().mask.detach().any(1).cpu()


def _counts(learner: Learner, phase: str | None, group: str | None = None) -> dict[str, Any]:
    c = learner.ledger.counts(group=group, phase=phase)
    return {"m0": c.m0, "m1": c.m1, "created": c.created, "pruned": c.pruned}


def _group_counts(learner: Learner, phase: str) -> dict[str, dict[str, Any]]:
    """The phase's counts per synapse group (where did the writes go: hidden or readout?)."""
    return {syn.name: _counts(learner, phase, syn.name) for syn in learner.synapses()}


def _build(
    name: str, params: Any, exp: Experiment, data: DataSplits, device: torch.device
) -> Learner:
    try:
        return build_learner(name, params, exp, data, device)
    except NeuroplasticError:
        raise
    except ValueError as exc:  # a builder's own check (e.g. one hidden layer only)
        raise ParameterError(f"{name}: {exc}") from None


# ------------------------------------------------------------------ experiment
def run_continual(
    methods: Sequence[str],
    first: Sequence[int],
    second: Sequence[int],
    *,
    hidden: Sequence[int] = (1000,),
    seed: int = 0,
    quick: bool = False,
    overrides: dict[str, dict[str, str]] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    device: str = "auto",
    progress: bool = False,
    data: DataSplits | None = None,
    console: Console | None = None,
) -> list[dict[str, Any]]:
    """Train each method on the ``first`` classes (phase A), then on the ``second`` (phase B).

    ``data`` replaces the MNIST loading (tests inject small synthetic splits); its ``classes``
    must be exactly ``first + second``. Quick mode takes the runner's quick subset and epoch
    caps. Returns one dict per method: ``phases`` (one record per phase end), ``retention``
    (accuracy on the first classes after B divided by that after A), ledger totals, params, seed.
    """
    if not methods:
        raise ParameterError("no methods given")
    first_c, second_c = check_phase_classes(first, second)
    overrides = overrides or {}
    exp = Experiment(
        classes=sorted(first_c + second_c),
        hidden=list(hidden),
        seed=seed,
        device=device,
        quick=quick,
        data_dir=None if data_dir is None else str(data_dir),
        progress=progress,
    )
    exp.validate()
    all_params = {name: method_params(name, overrides.get(name, {}), quick) for name in methods}
    dev = resolve_device(device)
    if data is None:
        data = load_data(exp, console)
    elif sorted(data.classes) != exp.classes:
        raise ParameterError(
            f"the data holds classes {data.classes} but first + second are {exp.classes}"
        )
    phase_classes = {"A": first_c, "B": second_c}
    labels = {phase: _labels(data, classes) for phase, classes in phase_classes.items()}
    x_first, y_first = _subset(data.test, labels["A"], dev)
    x_second, y_second = _subset(data.test, labels["B"], dev)
    x_all, y_all = data.test.x.to(dev), data.test.y.to(dev)
    xv_first, yv_first = _subset(data.val, labels["A"], dev)
    xv_second, yv_second = _subset(data.val, labels["B"], dev)
    xv_all, yv_all = data.val.x.to(dev), data.val.y.to(dev)

    results = []
    for name in methods:
        params = all_params[name]
        learner = _build(name, params, exp, data, dev)
        settings = LoopSettings(epochs=params.epochs, batch_size=params.batch_size, seed=seed)
        phases: list[dict[str, Any]] = []
        after_a: Tensor | None = None
        mask_a: Tensor | None = None
        for phase in PHASES:
            x, y = _subset(data.train, labels[phase], dev)
            xv, yv = _subset(data.val, labels[phase], dev)
            if x.shape[0] == 0 or xv.shape[0] == 0:
                raise ParameterError(
                    f"phase {phase}: no training or validation samples of classes "
                    f"{phase_classes[phase]}"
                )
            if console is not None:
                console.print(
                    f"[bold]{name}[/bold] phase {phase}: classes {phase_classes[phase]}, "
                    f"{x.shape[0]} training samples ..."
                )
            trainer = Trainer(learner, settings, progress=progress)
            with learner.ledger.phase(phase):
                learner.begin_phase(phase)  # its structural changes are charged to the phase
                outcome = trainer.fit(x, y, xv, yv)
            connected = _connected(learner)
            record: dict[str, Any] = {
                "phase": phase,
                "classes": phase_classes[phase],
                "train_samples": int(x.shape[0]),
                "epochs": outcome.epochs_done,
                "samples_seen": outcome.samples_seen,
                "wall_s": outcome.wall_s,
                "val_accuracy": outcome.curve[-1].val_accuracy if outcome.curve else None,
                "acc_first": _maybe_accuracy(learner, x_first, y_first),
                "acc_second": _maybe_accuracy(learner, x_second, y_second),
                "acc_all": accuracy(learner, x_all, y_all),
                "val_acc_first": _maybe_accuracy(learner, xv_first, yv_first),
                "val_acc_second": _maybe_accuracy(learner, xv_second, yv_second),
                "val_acc_all": accuracy(learner, xv_all, yv_all),
                "input_synapses": learner.input_synapses().n_existing,
                "connected_units": None if connected is None else int(connected.sum()),
                "recruited": None,
                "recruited_units": None,
                "released": None,
                "changed_units": None,
                **_counts(learner, phase),
                "per_group": _group_counts(learner, phase),
            }
            if connected is not None and phase == "A":
                after_a = connected
                mask_a = learner.input_synapses().mask.detach().cpu().clone()
            elif connected is not None and after_a is not None and mask_a is not None:
                mask_b = learner.input_synapses().mask.detach().cpu()
                recruited = connected & ~after_a
                rewired = after_a & (mask_b != mask_a).any(1)
                record.update(
                    recruited=int(recruited.sum()),
                    recruited_units=recruited.nonzero().flatten().tolist(),
                    released=int((after_a & ~connected).sum()),
                    changed_units=int(rewired.sum()),
                )
            phases.append(record)
        acc_a, acc_b = phases[0]["acc_first"], phases[1]["acc_first"]
        results.append(
            {
                "method": name,
                "architecture": learner.architecture,
                "dataset": data.dataset,
                "first": first_c,
                "second": second_c,
                "classes": list(data.classes),
                "hidden": list(hidden),
                "seed": seed,
                "quick": quick,
                "device": str(dev),
                "n_hidden_units": None if after_a is None else int(after_a.numel()),
                "phases": phases,
                "retention": acc_b / acc_a if acc_a and acc_b is not None else None,
                "ledger": _counts(learner, None),
                "params": params.model_dump(mode="json"),
                "schedule": "Learner.begin_phase called before each phase",
            }
        )
    return results


class ContinualParams(BaseModel):
    """The continual experiment's own settings (seed, device, quick, data come from the caller;
    ``--set`` keys that are not these go to the methods, as in ``compare``)."""

    model_config = ConfigDict(extra="forbid")
    methods: str = Field("structural,backprop", description="comma-separated methods")
    first: str = Field("0,1,2,3,4", description="classes learned in phase A")
    second: str = Field("5,6,7,8,9", description="classes learned in phase B")
    hidden: str = Field("1000", description="hidden widths, e.g. 1000 or 500,100")

    @model_validator(mode="after")
    def _check(self) -> ContinualParams:
        """Refuse bad lists before anything runs (or is recorded)."""
        if not self.method_names():
            raise ValueError("parameter 'methods' is empty")
        check_phase_classes(
            parse_class_list(self.first, "first"), parse_class_list(self.second, "second")
        )
        parse_hidden(self.hidden, "hidden")
        return self

    def method_names(self) -> list[str]:
        """The methods, in order."""
        return [m.strip() for m in self.methods.split(",") if m.strip()]


@register_experiment(
    "continual",
    ContinualParams,
    "space for new memories: learn the first classes, then the second; what is kept and recruited",
    options=("seed", "device", "quick", "data_dir"),
    dataset="mnist",
    method_overrides=True,
)
def run_continual_experiment(params: ContinualParams, ctx: ExperimentContext) -> ExperimentOutput:
    """``neuroplastic run continual --first 0,1,2,3,4 --second 5,6,7,8,9``."""
    names = params.method_names()
    models = {name: get_method(name).params_model for name in names}
    results = run_continual(
        names,
        parse_class_list(params.first, "first"),
        parse_class_list(params.second, "second"),
        hidden=parse_hidden(params.hidden, "hidden"),
        seed=ctx.seed,
        quick=ctx.quick,
        overrides=split_overrides(ctx.method_overrides, models),
        data_dir=ctx.data_dir,
        device=ctx.device,
        progress=ctx.progress,
        console=ctx.console,
    )
    return ExperimentOutput(
        payload={"experiment": "continual", "results": results},
        tables=[continual_table(results)],
        headline="retention "
        + ", ".join(
            f"{r['method']} {'-' if r['retention'] is None else format(r['retention'], '.2f')}"
            for r in results
        ),
    )


# ------------------------------------------------------------------ output
def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def _int(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def continual_table(results: Sequence[dict[str, Any]], title: str | None = None) -> Table:
    """One row per method and phase: accuracies, structure and the phase's ledger counts."""
    if title is None and results:
        r = results[0]
        title = f"continual learning: classes {r['first']} then {r['second']} ({r['architecture']})"
    table = Table(title=title)
    for col in (
        "method",
        "phase",
        "acc first",
        "acc second",
        "acc all",
        "connected units",
        "input synapses",
        "recruited",
        "M0",
        "M1",
    ):
        table.add_column(col, justify="left" if col in ("method", "phase") else "right")
    for r in results:
        for p in r["phases"]:
            table.add_row(
                r["method"],
                p["phase"],
                _pct(p["acc_first"]),
                _pct(p["acc_second"]),
                _pct(p["acc_all"]),
                _int(p["connected_units"]),
                _int(p["input_synapses"]),
                _int(p["recruited"]),
                f"{p['m0']:.3g}",
                f"{p['m1']:.3g}",
            )
    return table
