"""Gradient-descent optimizers as pure functions that *propose* an update.

Backprop is a rule like any other: autograd gives the gradient g, the optimizer below turns it
into a direction d, and the update ``Δw = −lr · d`` is written by ``Synapses.apply(d, alpha=-lr)``,
so momentum and Adam updates are counted as what they write. The equations follow
``torch.optim.SGD`` and ``torch.optim.Adam`` exactly (the tests cross-check them).

SGD (momentum μ, dampening 0, weight decay λ, optional Nesterov)::

    g ← g + λ w;   b ← μ b + g   (b = g at the first step);   d = g + μ b  (Nesterov) or b

Adam (β1, β2, ε, weight decay λ added to the gradient), step t = 1, 2, ...::

    g ← g + λ w;   m ← β1 m + (1−β1) g;   v ← β2 v + (1−β2) g²
    d = (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + ε)

AdaBelief (Zhuang et al. 2020; as ``optax.adabelief``, which the spiking reference uses)::

    g ← g + λ w;   m ← β1 m + (1−β1) g;   s ← β2 s + (1−β2) (g − m)² + ε_root
    d = (m / (1−β1^t)) / (sqrt(s / (1−β2^t)) + ε)
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor


class SGDParams(BaseModel):
    """Stochastic gradient descent."""

    model_config = ConfigDict(extra="forbid")
    lr: float = Field(0.1, gt=0, le=10, description="learning rate (per batch)")
    momentum: float = Field(0.0, ge=0, lt=1, description="momentum coefficient μ")
    nesterov: bool = Field(False, description="Nesterov momentum")
    weight_decay: float = Field(0.0, ge=0, le=1, description="L2 coefficient λ")


class AdamParams(BaseModel):
    """Adam (Kingma & Ba 2015)."""

    model_config = ConfigDict(extra="forbid")
    lr: float = Field(1e-3, gt=0, le=1, description="learning rate (per batch)")
    beta1: float = Field(0.9, ge=0, lt=1, description="decay of the first moment")
    beta2: float = Field(0.999, ge=0, lt=1, description="decay of the second moment")
    eps: float = Field(1e-8, gt=0, le=1, description="denominator offset ε")
    weight_decay: float = Field(0.0, ge=0, le=1, description="L2 coefficient λ")


class AdaBeliefParams(BaseModel):
    """AdaBelief (Zhuang et al., NeurIPS 2020): Adam whose second moment tracks (g − m)²."""

    model_config = ConfigDict(extra="forbid")
    lr: float = Field(1e-3, gt=0, le=1, description="learning rate (per batch)")
    beta1: float = Field(0.9, ge=0, lt=1, description="decay of the first moment")
    beta2: float = Field(0.999, ge=0, lt=1, description="decay of the belief (second) moment")
    eps: float = Field(1e-16, ge=0, le=1, description="denominator offset ε")
    eps_root: float = Field(1e-16, ge=0, le=1, description="added to s at every step")
    weight_decay: float = Field(0.0, ge=0, le=1, description="L2 coefficient λ")


def sgd_direction(grad: Tensor, w: Tensor, state: dict[str, Any], p: SGDParams) -> Tensor:
    """Direction d such that the SGD update is ``Δw = −lr · d``; updates ``state`` in place."""
    g = grad.add(w, alpha=p.weight_decay) if p.weight_decay else grad
    if p.momentum == 0.0:
        return g
    buf = state.get("momentum")
    if buf is None:
        buf = state["momentum"] = g.detach().clone()
    else:
        buf.mul_(p.momentum).add_(g)
    return g.add(buf, alpha=p.momentum) if p.nesterov else buf


def _next_moment_step(state: dict[str, Any], g: Tensor, second: str) -> int:
    """Create the first moment ``m`` and the second-moment buffer ``second`` on the first
    call (zeros like ``g``), advance and return the step count t (1, 2, ...)."""
    if "m" not in state:
        state["m"] = torch.zeros_like(g)
        state[second] = torch.zeros_like(g)
        state["step"] = 0
    state["step"] += 1
    return int(state["step"])


def adam_direction(grad: Tensor, w: Tensor, state: dict[str, Any], p: AdamParams) -> Tensor:
    """Direction d such that the Adam update is ``Δw = −lr · d``; updates ``state`` in place."""
    g = grad.add(w, alpha=p.weight_decay) if p.weight_decay else grad
    t = _next_moment_step(state, g, "v")
    m, v = state["m"], state["v"]
    m.lerp_(g, 1 - p.beta1)
    v.mul_(p.beta2).addcmul_(g, g, value=1 - p.beta2)
    bias1 = 1 - p.beta1**t
    bias2_sqrt = math.sqrt(1 - p.beta2**t)
    denom = (v.sqrt() / bias2_sqrt).add_(p.eps)
    return (m / bias1).div_(denom)


def adabelief_direction(
    grad: Tensor, w: Tensor, state: dict[str, Any], p: AdaBeliefParams
) -> Tensor:
    """Direction d such that the AdaBelief update is ``Δw = −lr · d``; updates ``state``."""
    g = grad.add(w, alpha=p.weight_decay) if p.weight_decay else grad
    t = _next_moment_step(state, g, "s")
    m, s = state["m"], state["s"]
    m.lerp_(g, 1 - p.beta1)
    surprise = g - m
    s.mul_(p.beta2).addcmul_(surprise, surprise, value=1 - p.beta2).add_(p.eps_root)
    denom = (s / (1 - p.beta2**t)).sqrt_().add_(p.eps)
    return (m / (1 - p.beta1**t)).div_(denom)


OptimizerName = Literal["sgd", "adam", "adabelief"]


class Optimizer:
    """Keeps per-group optimizer state and proposes directions (``Δw = −lr · d``)."""

    def __init__(
        self, name: OptimizerName, params: SGDParams | AdamParams | AdaBeliefParams
    ) -> None:
        self.name = name
        self.params = params
        self.state: dict[str, dict[str, Any]] = {}

    @property
    def lr(self) -> float:
        """The learning rate."""
        return self.params.lr

    def direction(self, group: str, grad: Tensor, w: Tensor) -> Tensor:
        """Direction for synapse group ``group`` given its gradient and weights."""
        state = self.state.setdefault(group, {})
        if isinstance(self.params, SGDParams):
            return sgd_direction(grad, w, state, self.params)
        if isinstance(self.params, AdaBeliefParams):
            return adabelief_direction(grad, w, state, self.params)
        return adam_direction(grad, w, state, self.params)

    def state_dict(self) -> dict[str, Any]:
        """Optimizer state for checkpoints."""
        return {"state": self.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved."""
        self.state = state["state"]
