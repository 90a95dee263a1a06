"""The differentiable forward pass through which a trained learner is attacked (white box).

``Learner.predict`` runs under ``torch.no_grad`` for every method, so an attack cannot
differentiate it. :func:`attack_forward` returns, for a learner, a module computing the *same*
scores as ``predict`` with gradients with respect to the input pixels, and says how exact it is:

- ``exact``: the forward pass of the model itself (backprop, feedback alignment, random
  projection, the local rules' ``relu(u)^n`` code, the structural rule's template code);
- ``surrogate``: a non-differentiable step is replaced in the backward pass only (BPDA,
  Athalye, Carlini & Wagner 2018); the forward values are unchanged: the spiking network's input
  binarisation ``x >= 0.5`` is passed straight through (``∂binarise/∂x := 1``); the STDP
  network's Poisson spike counts (hard thresholds, one winner per step) are differentiated as a
  rate-based soft winner-take-all (:func:`stdp_rate_surrogate`).

A learner with neither raises :class:`NotAttackableError`, naming it (every registered method
has one today; the error is for methods added later). New methods join by
:func:`register_attack_forward`.

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
    return m.readout(m.readout_input(m.features(x)))


@register_attack_forward("UnsupervisedReadoutLearner", "exact", "readout(relu(W x)^n)")
def _local_scores(learner: Learner, x: Tensor) -> Tensor:
    m: Any = learner
    return m.readout(m.readout_input(m.code(m.currents(m.prepare(x)))))


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


def _stdp_vote(learner: Learner, counts: Tensor) -> Tensor:
    """The STDP network's class scores from spike counts (B, n): mean count of each class's
    assigned neurons (``STDPDiehlCookLearner.predict``)."""
    m: Any = learner
    assign = m.assignments()
    hot = (assign[:, None] == torch.arange(m.n_classes, device=assign.device)).to(counts.dtype)
    return (counts @ hot) / hot.sum(0).clamp(min=1)


def stdp_rate_surrogate(learner: Learner, x: Tensor) -> Tensor:
    """Smooth stand-in for the STDP network's spike counts (B, n), for the backward pass only.

    Mean input current per step μ_j = r_max · dt · (W x)_j (mV), steady-state margin above
    threshold m_j = v_rest + μ_j / (1 − e^(−dt/τ_m)) − (v_thresh + θ_j) (mV); lateral inhibition
    lets about one neuron win, so the counts are approximated by a soft winner-take-all,
    S · softmax_j(m_j / τ), with S the total spike count of the true presentation (at least 1;
    a constant in the backward pass) and τ (mV) the standard deviation of m over neurons (detached).
    """
    import math

    m: Any = learner
    net = m.net
    w = m.fc1.w.detach()
    mu = (net.max_rate_hz * net.dt / 1000.0) * (x @ w.T)
    gain = 1.0 / (1.0 - math.exp(-net.dt / net.tau_m))
    margin = net.v_rest + gain * mu - (net.v_thresh + m.theta)
    tau = margin.detach().std(1, keepdim=True).clamp(min=1e-6)
    return torch.softmax(margin / tau, dim=1)


def _stdp_raw(learner: Learner, x: Tensor) -> Tensor:
    m: Any = learner
    return _stdp_vote(learner, m.spike_counts(x.detach().clamp(0, 1)))


@register_attack_forward(
    "STDPDiehlCookLearner",
    "surrogate",
    "Poisson spike-count vote; BPDA through a rate-based soft winner-take-all",
    raw=_stdp_raw,
)
def _stdp_scores(learner: Learner, x: Tensor) -> Tensor:
    """BPDA: the true vote forward, the surrogate's gradient backward."""
    m: Any = learner
    counts = m.spike_counts(x.detach().clamp(0, 1))
    soft = stdp_rate_surrogate(learner, x) * counts.sum(1, keepdim=True).clamp(min=1)
    return _stdp_vote(learner, soft + (counts - soft).detach())
