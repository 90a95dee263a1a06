"""Few-shot protocol: accuracy from 1, 5, 10 and 50 labelled examples per class.

For each shot count k and each of ``draws`` random draws (seed ``seed + draw``), k training
examples of every class are drawn without replacement; every row below sees *the same*
examples, and is scored on the same test inputs (at most ``test_samples``). Mean and standard
deviation (over draws, ddof = 1) are reported.

Rows:

- **probe** (a method whose hidden layer learned *without labels*: the local rules, the
  structural rule, the random projection, STDP): its trained hidden code h, frozen, and a
  linear readout fitted on the k·C labelled codes (softmax regression, full batch, Adam,
  ``probe_steps`` steps, rate ``probe_lr``, weight decay ``probe_decay``; codes standardised
  with the mean and sd of the unlabelled training set). The hidden layer saw the *unlabelled*
  training set: the table says so (``saw_unlabelled``).
- **backprop, same examples**: the ``backprop`` method's network and defaults on the same
  architecture (784-H-C, ReLU, its U(±1/√n_in) initialisation, Adam at rate ``backprop_lr``),
  ``backprop_steps`` full-batch steps on the k·C examples only (:func:`backprop_fit`).
- **backprop from <method>'s features**: the same, but its first layer starts from the method's
  input weights (rescaled to the standard deviation of backprop's own initial weights), so that
  "better from few examples" is not just "more data seen".

A method whose features learned *with* labels (backprop and its variants, feedback alignment,
the supervised spiking network) gets no probe row: its features saw every label.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator
from torch import Tensor

from neuroplastic.errors import ParameterError
from neuroplastic.params import validate_settings

if TYPE_CHECKING:
    from neuroplastic.methods.base import Learner


class FewShotSettings(BaseModel):
    """Shot counts, draws and the readout / baseline training budgets."""

    model_config = ConfigDict(extra="forbid")

    shots: list[int] = Field(default_factory=lambda: [1, 5, 10, 50], description="per class")
    draws: int = Field(10, ge=1, le=1000, description="random draws per shot count")
    probe_steps: int = Field(200, ge=1, description="Adam steps of the linear readout")
    probe_lr: float = Field(0.01, gt=0, description="readout learning rate")
    probe_decay: float = Field(1e-3, ge=0, description="readout L2 coefficient")
    backprop_steps: int = Field(100, ge=1, description="full-batch Adam steps of the baselines")
    backprop_lr: float = Field(1e-3, gt=0, description="baseline learning rate")
    test_samples: int = Field(2000, ge=1, description="test inputs scored")
    seed: int = Field(0, ge=0)

    @field_validator("shots")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if not value or any(k < 1 for k in value):
            raise ValueError(f"shot counts must be >= 1 (got {value})")
        return sorted(set(value))


class ShotResult(BaseModel):
    """Accuracy over the draws at one shot count."""

    model_config = ConfigDict(extra="forbid")

    shots: int
    mean: float
    sd: float
    accuracies: list[float]


class FewShotRow(BaseModel):
    """One way of learning from the few examples."""

    model_config = ConfigDict(extra="forbid")

    name: str
    method: str = Field(description="the method whose features are used ('' for none)")
    kind: str = Field(description="probe, backprop (same examples), backprop from features")
    saw_unlabelled: bool = Field(description="its features saw the unlabelled training set")
    results: list[ShotResult]


def few_shot_settings(**values: Any) -> FewShotSettings:
    """Validated settings; a bad value fails as a one-line ParameterError naming it."""
    return validate_settings(FewShotSettings, values, "few-shot")


def draw_examples(y: Tensor, classes: int, shots: int, seed: int) -> Tensor:
    """Indices of ``shots`` examples of each class 0..classes-1, drawn with ``seed``."""
    g = torch.Generator().manual_seed(seed)
    picked = []
    for c in range(classes):
        idx = torch.nonzero(y.cpu() == c).flatten()
        if len(idx) < shots:
            raise ParameterError(
                f"few-shot: {shots} shots per class exceed the {len(idx)} training examples "
                f"of class {c}"
            )
        picked.append(idx[torch.randperm(len(idx), generator=g)[:shots]])
    return torch.cat(picked)


def check_shots(y: Tensor, classes: int, shots: list[int]) -> None:
    """Fail at once, naming the shot count and class, where a class has too few examples."""
    counts = torch.bincount(y.cpu(), minlength=classes)
    for k in shots:
        for c in range(classes):
            if int(counts[c]) < k:
                raise ParameterError(
                    f"few-shot: {k} shots per class exceed the {int(counts[c])} training "
                    f"examples of class {c}"
                )


def linear_probe(
    h_train: Tensor,
    y_train: Tensor,
    h_test: Tensor,
    y_test: Tensor,
    classes: int,
    s: FewShotSettings,
    seed: int,
    mean: Tensor,
    sd: Tensor,
) -> float:
    """Softmax regression on standardised codes; test accuracy."""
    g = torch.Generator().manual_seed(seed)
    a = ((h_train - mean) / sd).float()
    b = ((h_test - mean) / sd).float()
    w = (torch.randn(a.shape[1], classes, generator=g) * 0.01).requires_grad_(True)
    bias = torch.zeros(classes, requires_grad=True)
    opt = torch.optim.Adam([w, bias], lr=s.probe_lr, weight_decay=s.probe_decay)
    with torch.enable_grad():
        for _ in range(s.probe_steps):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(a @ w + bias, y_train)
            loss.backward()
            opt.step()
    with torch.no_grad():
        return float(((b @ w + bias).argmax(1) == y_test).double().mean())


def summarise(shots: int, accs: list[float]) -> ShotResult:
    sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
    return ShotResult(shots=shots, mean=statistics.fmean(accs), sd=sd, accuracies=accs)


FitFn = Callable[[Tensor, Tensor, int], float]
"""Trains on the drawn (x, y) with a seed and returns its test accuracy."""


def run_rows(
    x_train: Tensor, y_train: Tensor, classes: int, s: FewShotSettings, rows: dict[str, FitFn]
) -> dict[str, list[ShotResult]]:
    """Every row's accuracy at every shot count and draw, all rows on the same examples."""
    check_shots(y_train, classes, s.shots)
    out: dict[str, list[ShotResult]] = {name: [] for name in rows}
    for k in s.shots:
        accs: dict[str, list[float]] = {name: [] for name in rows}
        for d in range(s.draws):
            seed = s.seed + 1000 * k + d
            idx = draw_examples(y_train, classes, k, seed)
            for name, fit in rows.items():
                accs[name].append(fit(x_train[idx], y_train[idx], seed))
        for name in rows:
            out[name].append(summarise(k, accs[name]))
    return out


def probe_fit(
    learner: Learner,
    x_unlabelled: Tensor,
    x_test: Tensor,
    y_test: Tensor,
    classes: int,
    s: FewShotSettings,
) -> FitFn:
    """The probe row of a method: a linear readout on its frozen hidden code."""
    with torch.no_grad():
        h_pool = learner.hidden_code(x_unlabelled)
        h_test = learner.hidden_code(x_test)
    if h_pool is None or h_test is None:
        raise ParameterError("few-shot: the method has no hidden code to read out")
    h_pool, h_test = h_pool.flatten(1).double(), h_test.flatten(1).double()
    mean, sd = h_pool.mean(0), h_pool.std(0).clamp(min=1e-6)

    def fit(x: Tensor, y: Tensor, seed: int) -> float:
        with torch.no_grad():
            h = learner.hidden_code(x)
        assert h is not None
        return linear_probe(h.flatten(1).double(), y, h_test, y_test, classes, s, seed, mean, sd)

    return fit


def backprop_fit(
    hidden: tuple[int, ...],
    classes: int,
    x_test: Tensor,
    y_test: Tensor,
    s: FewShotSettings,
    init_weights: Tensor | None = None,
) -> FitFn:
    """The backprop baseline on the same architecture; with ``init_weights`` (the method's
    input weights, n_hidden × n_features) its first layer starts from them, rescaled to the
    standard deviation of backprop's own initial weights.

    It is the ``backprop`` method's network and defaults (ReLU MLP n_features-H-C, weights and
    biases U(±1/√n_in) drawn in the same order from a generator seeded with the draw's seed,
    cross-entropy, Adam at ``backprop_lr``), trained with ``torch.optim.Adam`` on plain tensors:
    the few examples need no ledger, and this runs twice as fast as the counted learner."""
    from neuroplastic.models.layers import uniform_fan_in

    def fit(x: Tensor, y: Tensor, seed: int) -> float:
        g = torch.Generator().manual_seed(seed)
        sizes = [x.shape[1], *hidden, classes]
        params: list[Tensor] = []
        for n_in, n_out in itertools.pairwise(sizes):
            w, b = uniform_fan_in(n_out, n_in, g, True)
            assert b is not None
            params += [w.to(x), b.to(x)]
        if init_weights is not None:
            src = init_weights.to(params[0])
            params[0] = src * (float(params[0].std()) / max(float(src.std()), 1e-12))
        for p in params:
            p.requires_grad_(True)

        def forward(inputs: Tensor) -> Tensor:
            h = inputs
            for i in range(0, len(params) - 2, 2):
                h = torch.relu(h @ params[i].T + params[i + 1])
            return h @ params[-2].T + params[-1]

        opt = torch.optim.Adam(params, lr=s.backprop_lr, fused=True)
        with torch.enable_grad():
            for _ in range(s.backprop_steps):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(forward(x), y).backward()
                opt.step()
        with torch.no_grad():
            return float((forward(x_test).argmax(1) == y_test).double().mean())

    return fit
