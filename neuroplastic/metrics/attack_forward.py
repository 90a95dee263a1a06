"""The differentiable forward pass through which a trained learner is attacked (white box).

``Learner.predict`` runs under ``torch.no_grad`` for every method, so an attack cannot
differentiate it. :func:`attack_forward` returns, for a learner, a module computing the *same*
scores as ``predict`` with gradients with respect to the input pixels, and says how exact it is:

- ``exact``: the forward pass of the model itself (backprop, feedback alignment, random
  projection, the local rules' ``relu(u)^n`` code, the structural rule's template code);
- ``surrogate``: a non-differentiable step is replaced in the backward pass only (BPDA,
  Athalye, Carlini & Wagner 2018): the spiking network's input binarisation ``x >= 0.5`` is
  passed straight through (``∂binarise/∂x := 1``); the forward values are unchanged.

A learner with neither (the STDP network's Poisson spike counts and label vote) raises
:class:`NotAttackableError`, naming it. New methods join by :func:`register_attack_forward`.

The scores are divided by a fixed temperature T (the mean over clean inputs of the standard
deviation of a sample's scores across classes, measured once): local readouts and spike-time
scores are not logits, and a cross-entropy on scores of a large scale saturates in float32 so
that its gradient vanishes (a form of gradient masking). Dividing by a constant changes no
prediction and no sign of a gradient.

Why here and not a ``Learner`` method: the forward is an evaluation concern, kept beside the
attacks; a method's module stays the one place for its training rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from neuroplastic.errors import NeuroplasticError
from neuroplastic.methods.base import Learner

Exactness = Literal["exact", "surrogate"]


class NotAttackableError(NeuroplasticError):
    """A learner has no differentiable forward pass and no surrogate for one."""


@dataclass(frozen=True)
class ForwardSpec:
    """How to differentiate one kind of learner: scores(learner, x) and how exact it is."""

    scores: Callable[[Learner, Tensor], Tensor]
    exactness: Exactness
    note: str
    raw: Callable[[Learner, Tensor], Tensor] | None = None
    """For a surrogate: the true forward (whose gradient the masking check inspects)."""


_FORWARDS: dict[str, ForwardSpec] = {}


def register_attack_forward(
    class_name: str,
    exactness: Exactness,
    note: str,
    raw: Callable[[Learner, Tensor], Tensor] | None = None,
) -> Callable[[Callable[[Learner, Tensor], Tensor]], Callable[[Learner, Tensor], Tensor]]:
    """Register the differentiable scores of the learner class called ``class_name`` (and of its
    subclasses that have none of their own); a surrogate gives its true forward as ``raw``."""

    def decorate(fn: Callable[[Learner, Tensor], Tensor]) -> Callable[[Learner, Tensor], Tensor]:
        _FORWARDS[class_name] = ForwardSpec(fn, exactness, note, raw)
        return fn

    return decorate


def forward_spec(learner: Learner, method: str = "") -> ForwardSpec:
    """The registered forward of ``learner`` (looked up along its class hierarchy)."""
    for cls in type(learner).__mro__:
        spec = _FORWARDS.get(cls.__name__)
        if spec is not None:
            return spec
    raise NotAttackableError(
        f"{method or type(learner).__name__} cannot be attacked: no differentiable forward pass "
        "and no surrogate for its non-differentiable steps"
    )


class AttackForward(nn.Module):
    """scores(x) / T with gradients to x; ``exactness`` says if a surrogate is used.

    ``raw=True`` computes the true forward of a surrogate (the same values, its own gradient).
    """

    def __init__(
        self, learner: Learner, spec: ForwardSpec, temperature: float = 1.0, raw: bool = False
    ) -> None:
        super().__init__()
        self.learner = learner
        self.spec = spec
        self.temperature = temperature
        self.fn = spec.raw if raw and spec.raw is not None else spec.scores
        self.anchor = nn.Parameter(torch.zeros(0), requires_grad=False)  # device for torchattacks

    @property
    def exactness(self) -> Exactness:
        return self.spec.exactness

    def forward(self, x: Tensor) -> Tensor:
        """Scores / T of x (B, features) or images (B, 1, side, side), flattened first."""
        with torch.enable_grad():
            return self.fn(self.learner, x.flatten(1)) / self.temperature

    def true_forward(self) -> AttackForward:
        """The same module without the surrogate (itself where none is used)."""
        if self.spec.raw is None:
            return self
        return AttackForward(self.learner, self.spec, self.temperature, raw=True)


@torch.no_grad()
def score_temperature(learner: Learner, x: Tensor) -> float:
    """T = mean over inputs of the standard deviation of the scores across classes (≥ 1e-12)."""
    scores = learner.predict(x).double()
    return max(float(scores.std(1).mean()), 1e-12)


def attack_forward(learner: Learner, x_clean: Tensor, method: str = "") -> AttackForward:
    """The attack module of ``learner``, its temperature measured on ``x_clean``."""
    spec = forward_spec(learner, method)
    return AttackForward(learner, spec, score_temperature(learner, x_clean)).to(x_clean.device)


# ---------------------------------------------------------------- the built-in methods
# The learners' attributes are reached through ``Any``: each function is bound to its class.
@register_attack_forward("BackpropLearner", "exact", "the MLP's forward pass")
def _backprop_scores(learner: Learner, x: Tensor) -> Tensor:
    m: Any = learner
    return m.model(x)


@register_attack_forward("FeedbackAlignmentLearner", "exact", "the MLP's forward pass")
def _fa_scores(learner: Learner, x: Tensor) -> Tensor:
    m: Any = learner
    return m._forward(x)[0][-1]


@register_attack_forward("RandomProjectionLearner", "exact", "random features, linear readout")
def _rp_scores(learner: Learner, x: Tensor) -> Tensor:
    m: Any = learner
    return m.readout(m.features(x))


@register_attack_forward("UnsupervisedReadoutLearner", "exact", "readout(relu(W x)^n)")
def _local_scores(learner: Learner, x: Tensor) -> Tensor:
    m: Any = learner
    return m.readout(m.code(m.currents(m.prepare(x))))


@register_attack_forward("StructuralLearner", "exact", "template code, linear readout")
def _structural_scores(learner: Learner, x: Tensor) -> Tensor:
    from neuroplastic.rules.competitive import template_code

    m: Any = learner
    h = template_code(x, m.hidden.w.detach(), m.p.gain)
    return h @ m.readout.w.detach().T + m.readout_bias.w.detach()


def straight_through_binarise(x: Tensor) -> Tensor:
    """binarise(x) forward, identity backward (BPDA)."""
    from neuroplastic.spiking.encoding import binarise

    return x + (binarise(x) - x).detach()


def _spiking_raw(learner: Learner, x: Tensor) -> Tensor:
    from neuroplastic.spiking.encoding import binarise

    m: Any = learner
    return -m.network(binarise(x))


@register_attack_forward(
    "SpikingExactLearner",
    "surrogate",
    "exact spike-time gradients; binarise straight-through",
    raw=_spiking_raw,
)
def _spiking_scores(learner: Learner, x: Tensor) -> Tensor:
    m: Any = learner
    return -m.network(straight_through_binarise(x))
