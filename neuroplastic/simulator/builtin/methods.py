"""Every registered training method as a simulation: watch it learn, batch by batch.

One step trains one batch (``method.batch_size`` samples) through the method's own
``Learner.train_step``; the end of each pass over the training subset calls
``Learner.on_epoch_end`` (where structural plasticity prunes and grows). Every
``session.eval_every`` steps the validation accuracy, the existing synapses and the learning
energy counted by the ledger (M0 = writes, M1 = Σ|Δw|) are appended to the live plot.

``structural`` shows its input receptive fields as an image grid and plots accuracy against
synapses against learning energy; ``restricted-backprop`` plots accuracy against synaptic
writes with the restriction policy as radio buttons; every other method registered in
:mod:`neuroplastic.methods` (the local rules as they land) appears as ``method-<name>`` with no
UI code.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator

from neuroplastic.data import DataSplits
from neuroplastic.data.mnist import Split
from neuroplastic.errors import ParameterError
from neuroplastic.methods import BuildContext, Learner, TrainingParams, get_method
from neuroplastic.methods.registry import METHODS
from neuroplastic.restrict import RestrictParams
from neuroplastic.simulator.core import Display, ImageDisplay, PlotDisplay, Simulation, TextDisplay
from neuroplastic.simulator.registry import SIMULATIONS, register_simulation

__all__ = ["MethodSimulation", "SessionParams", "receptive_field_grid", "synthetic_digits"]


class SessionParams(BaseModel):
    """What a method simulation learns from and how often it measures."""

    model_config = ConfigDict(extra="forbid")
    data: Literal["mnist", "synthetic"] = Field(
        "mnist",
        description="MNIST (cached by `neuroplastic data fetch mnist`) or synthetic 28×28 "
        "prototypes with noise (no download; for tests and demos)",
    )
    classes: str = Field("0,1,2,3,4,5,6,7,8,9", description="digits to learn, e.g. 1,2,6")
    hidden: int = Field(100, ge=1, le=4000, description="hidden units")
    train_samples: int = Field(
        2000, ge=10, le=60_000, description="training subset (one epoch = this many samples)"
    )
    val_samples: int = Field(500, ge=10, le=10_000, description="validation subset")
    eval_every: int = Field(
        5, ge=1, le=10_000, description="measure accuracy every this many steps"
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seed of weights, data and order")
    fields_shown: int = Field(
        100, ge=1, le=400, description="hidden units whose receptive fields are shown"
    )

    @field_validator("classes")
    @classmethod
    def _check_classes(cls, value: str) -> str:
        _parse_classes(value)  # a ParameterError (a ValueError) names what is wrong
        return value


def _parse_classes(text: str) -> list[int]:
    from neuroplastic.data import parse_classes

    return parse_classes(text)


@functools.lru_cache(maxsize=4)
def synthetic_digits(n: int, classes: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy 28×28 images in [0, 1] from one random blob prototype per class."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28]
    protos = []
    for _ in classes:
        img = np.zeros((28, 28))
        for _ in range(3):
            cy, cx = rng.uniform(6, 22, size=2)
            img += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * rng.uniform(2, 4) ** 2))
        protos.append(np.clip(img, 0, 1).reshape(-1))
    labels = rng.integers(0, len(classes), size=n)
    x = np.stack([protos[c] for c in labels]) + rng.normal(0, 0.15, size=(n, 784))
    return np.clip(x, 0, 1).astype(np.float32), labels.astype(np.int64)


def load_session_data(s: SessionParams) -> DataSplits:
    """The training and validation subsets a session asks for."""
    classes = _parse_classes(s.classes)
    if s.data == "synthetic":
        x, y = synthetic_digits(s.train_samples + s.val_samples, tuple(classes), s.seed)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        n = s.train_samples
        train = Split(xt[:n], yt[:n])
        val = Split(xt[n:], yt[n:])
        return DataSplits(train, val, val, classes, dataset="synthetic")
    from neuroplastic.data import fetch_mnist, load_splits

    directory = fetch_mnist(None)
    return load_splits(
        directory,
        verify=False,
        classes=classes,
        seed=s.seed,
        val_size=s.val_samples,
        train_limit=s.train_samples,
        test_limit=10,
    )


def receptive_field_grid(w: torch.Tensor, count: int, side: int = 28) -> np.ndarray:
    """The first ``count`` rows of ``w`` (units × side²) as one image of tiles (NaN borders).

    Each tile is scaled to its own max |w|, so weak and strong units are equally visible.
    """
    w = w.detach().cpu().float()[:count]
    n = w.shape[0]
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    grid = np.full((rows * (side + 1) + 1, cols * (side + 1) + 1), np.nan, dtype=np.float32)
    scale = w.abs().amax(dim=1).clamp_min(1e-12)
    tiles = (w / scale[:, None]).numpy().reshape(n, side, side)
    padded = np.full((rows * cols, side + 1, side + 1), np.nan, dtype=np.float32)
    padded[:n, 1:, 1:] = tiles  # one NaN border row and column before each tile
    blocks = padded.reshape(rows, cols, side + 1, side + 1).transpose(0, 2, 1, 3)
    grid[: rows * (side + 1), : cols * (side + 1)] = blocks.reshape(rows * (side + 1), -1)
    return np.ascontiguousarray(grid[::-1])  # image rows run bottom-up in the plot


# What every method simulation shows; restricted-backprop plots the same against writes (M0).
_FIELDS = ImageDisplay("fields", "receptive fields (input synapses of the first hidden units)")
_LEARNING = PlotDisplay(
    "learning",
    x="m1",
    y=("accuracy",),
    y_right=("synapses",),
    title="accuracy against synapses against learning energy",
    x_label="learning energy M1 = Σ|Δw|",
    y_label="validation accuracy",
    y_right_label="existing synapses",
    markers=True,
)
_STATUS = TextDisplay("status", "status")


class MethodSimulation(Simulation):
    """A registered method trained batch by batch; subclasses set ``method``."""

    method: ClassVar[str] = ""
    restricted: ClassVar[bool] = False
    update_mode = "sync"
    displays: ClassVar[tuple[Display, ...]] = (_FIELDS, _LEARNING, _STATUS)
    widget_hints: ClassVar[dict[str, dict[str, Any]]] = {
        "method.lr": {"scale": "log"},
        "method.eta_hidden": {"scale": "log"},
        "method.eta_bias": {"scale": "log"},
        "method.rate_tau": {"scale": "log"},
        "method.temperature": {"scale": "log"},
        "method.epochs": {"widget": "number"},
        "method.batch_size": {"soft_max": 1000},
        "restrict.policy": {"widget": "radio"},
        "restrict.p": {"scale": "log", "soft_min": 1e-3},
        "session.seed": {"widget": "number"},
    }

    @classmethod
    def parameter_models(cls) -> dict[str, type[BaseModel]]:
        models: dict[str, type[BaseModel]] = {
            "method": get_method(cls.method).params_model,
            "session": SessionParams,
        }
        if cls.restricted:
            models["restrict"] = RestrictParams
        return models

    def init(self) -> None:
        session: SessionParams = self.group("session")
        params: TrainingParams = self.group("method")
        self.data = load_session_data(session)
        from neuroplastic.energy.ledger import Ledger

        ctx = BuildContext(
            n_features=self.data.n_features,
            n_classes=self.data.n_classes,
            hidden=(session.hidden,),
            ledger=Ledger(),
            generator=torch.Generator().manual_seed(session.seed),
            device=torch.device("cpu"),
        )
        torch.manual_seed(session.seed)
        self.learner: Learner = get_method(self.method).build(ctx, params)
        if self.restricted:
            from neuroplastic.runs import Experiment, attach_plasticity_filters

            restrict: RestrictParams = self.group("restrict")
            exp = Experiment(restrict=None if restrict.policy == "none" else restrict)
            attach_plasticity_filters(self.learner, exp, params.batch_size, owner=self.method)
        self.order = torch.randperm(
            self.data.train.n, generator=torch.Generator().manual_seed(session.seed)
        )
        self.position = 0
        self.epoch = 0
        self.samples = 0
        self._measure()

    def frame(self) -> None:
        """Draw the receptive fields once per display refresh (not after every step)."""
        self._show_fields()

    def _input_weights(self) -> torch.Tensor | None:
        for syn in self.learner.synapses():
            w = syn.w
            if w.ndim == 2 and w.shape[1] == self.data.n_features:
                return (w * syn.mask).detach() if hasattr(syn, "mask") else w.detach()
        return None

    def _show_fields(self) -> None:
        w = self._input_weights()
        if w is not None:
            self.show("fields", receptive_field_grid(w, self.group("session").fields_shown))

    def _measure(self) -> None:
        with torch.no_grad():
            scores = self.learner.predict(self.data.val.x)
        acc = float((scores.argmax(1) == self.data.val.y).float().mean())
        counts = self.learner.ledger.counts()
        synapses = sum(s.n_existing for s in self.learner.synapses())
        self.append(
            "learning",
            m1=counts.m1,
            m0=counts.m0,
            accuracy=acc,
            synapses=synapses,
            samples=self.samples,
        )
        self.show(
            "status",
            f"measured at step {self.steps + (1 if self.initialised else 0)}  "
            f"epoch {self.epoch}  samples {self.samples:,}  "
            f"val acc {acc:.3f}  synapses {synapses:,}  M0 {counts.m0:.3g}  M1 {counts.m1:.3g}",
        )

    def step(self) -> None:
        params: TrainingParams = self.group("method")
        session: SessionParams = self.group("session")
        if self.is_modified("session.data") or any(
            self.is_modified(f"session.{k}")
            for k in ("classes", "hidden", "train_samples", "val_samples", "seed")
        ):
            self.show("status", "session settings change at the next Init")
        idx = self.order[self.position : self.position + params.batch_size]
        self.learner.train_step(self.data.train.x[idx], self.data.train.y[idx])
        self.position += len(idx)
        self.samples += len(idx)
        if self.position >= self.data.train.n:
            self.learner.on_epoch_end(self.epoch)
            self.epoch += 1
            self.position = 0
        if (self.steps + 1) % session.eval_every == 0:
            self._measure()

    def run_command(self) -> list[str]:
        """``neuroplastic run`` arguments with the page's parameters (``--hidden`` from the
        session; the run trains on the full data set, not the session's subset)."""
        session: SessionParams = self.shown("session")
        params: TrainingParams = self.shown("method")
        defaults = type(params)()
        args = [
            "run",
            self.method,
            "--hidden",
            str(session.hidden),
            "--seed",
            str(session.seed),
            "--classes",
            session.classes,
        ]
        for name in type(params).model_fields:
            value = getattr(params, name)
            if value != getattr(defaults, name):
                args += ["--set", f"{name}={_cli_value(value)}"]
        if self.restricted:
            r: RestrictParams = self.shown("restrict")
            if r.policy != "none":
                args += ["--restrict", r.policy, "--restrict-p", str(r.p), "--restrict-k", str(r.k)]
        return args

    @classmethod
    def shows_run(cls, method: str, params: Mapping[str, Any]) -> int:
        """Runs of this method; the restricted variant for runs with a restriction."""
        if method != cls.method:
            return 0
        experiment = params.get("experiment")
        restricted = isinstance(experiment, Mapping) and experiment.get("restrict") is not None
        return 2 if restricted == cls.restricted else 1

    @classmethod
    def values_from_run(cls, params: Mapping[str, Any], seed: int) -> dict[str, dict[str, Any]]:
        """Parameter values that reproduce a stored run (``runs.params``) in this simulation."""
        method = dict(params.get("method", {}))
        exp = dict(params.get("experiment", {}))
        hidden = exp.get("hidden") or [SessionParams().hidden]
        if len(hidden) != 1:
            raise ParameterError(
                f"run has hidden layers {hidden}; the simulator shows one hidden layer"
            )
        session: dict[str, Any] = {"hidden": int(hidden[0]), "seed": int(seed)}
        if exp.get("classes"):
            session["classes"] = ",".join(str(c) for c in exp["classes"])
        values: dict[str, dict[str, Any]] = {"method": method, "session": session}
        if cls.restricted and exp.get("restrict"):
            values["restrict"] = dict(exp["restrict"])
        return values


def _cli_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


@register_simulation
class StructuralSimulation(MethodSimulation):
    """Structural plasticity on MNIST: receptive fields, synapses and learning energy, live."""

    name = "structural"
    title = "Structural plasticity (MNIST)"
    summary = (
        "competitive Hebbian hidden layer pruned to a synapse budget and regrown by "
        "coincidence; watch receptive fields form and synapses fall while energy is spent"
    )
    method = "structural"


@register_simulation
class RestrictedBackpropSimulation(MethodSimulation):
    """Backprop with only a fraction of its updates written: accuracy against writes."""

    name = "restricted-backprop"
    title = "Restricted backprop (accuracy against synaptic writes)"
    summary = "backprop whose updates pass a restriction policy (largest, balanced, path…)"
    method = "backprop"
    restricted = True
    displays = (
        _FIELDS,
        dataclasses.replace(
            _LEARNING,
            x="m0",
            y_right=("m1",),
            title="accuracy against synaptic writes",
            x_label="synaptic writes M0",
            y_right_label="learning energy M1",
        ),
        _STATUS,
    )


def _register_other_methods() -> None:
    """Every other registered method as ``method-<name>`` (no UI code needed)."""
    shown = {"structural"}
    for entry in METHODS.entries():
        if entry.name in shown:
            continue
        cls: type[MethodSimulation] = type(
            f"Method_{entry.name.replace('-', '_')}",
            (MethodSimulation,),
            {
                "name": f"method-{entry.name}",
                "title": f"method: {entry.name}",
                "summary": entry.summary,
                "method": entry.name,
                "__module__": __name__,
            },
        )
        if SIMULATIONS.find(cls.name) is None:
            SIMULATIONS.add(cls.name, cls)


_register_other_methods()
