"""The theta neuron (oscillating quadratic integrate-and-fire) in phase form.

Membrane equation (time in units of the trial, V dimensionless, I0 > 1/4)::

    τ dV/dt = V (V − 1) + I0 + τ Σ_i w_i Σ_{t_i} δ(t − t_i)

With ``s = sqrt(I0 − 1/4)`` the phase ``φ = Φ(V)`` grows at rate 1 between input spikes:

    Φ(V)     = τ/s · [arctan((V − 1/2)/s) + π/2]          φ ∈ [0, Θ]
    Φ⁻¹(φ)   = s · tan(φ s/τ − π/2) + 1/2
    Θ        = τ π / s                                      (period: V runs −∞ → +∞)
    H(φ, w)  = Φ(Φ⁻¹(φ) + w)                                (an input kick of weight w)

The neuron spikes when φ reaches Θ (V = +∞) and restarts at φ = 0 (V = −∞).

The tan singularity at φ = 0 and φ = Θ is removed rather than guarded: with
``x = φ s/τ − π/2`` and ``a = w/s``,

    arctan(tan x + a) = atan2(sin x + a cos x, cos x)       for x ∈ [−π/2, π/2]

which is smooth in (φ, w) everywhere (numerator and denominator never vanish together), gives
H(0, w) = 0 and H(Θ, w) = Θ exactly, and has finite derivatives (∂H/∂φ = 1 at both ends).
Only :func:`v_of_phi`, which really is infinite at the ends, clamps φ into ``[eps, Θ − eps]``.
"""

from __future__ import annotations

import math

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor


class ThetaParams(BaseModel):
    """Parameters of the theta neuron (the paper's MNIST values by default)."""

    model_config = ConfigDict(extra="forbid")
    tau: float = Field(6 / math.pi, gt=0, le=1e6, description="membrane time constant τ (time)")
    i0: float = Field(
        1.25, gt=0.25, le=1e6, description="constant input current I0 (> 1/4: oscillating)"
    )

    @property
    def s(self) -> float:
        """``sqrt(I0 − 1/4)``, dimensionless."""
        return math.sqrt(self.i0 - 0.25)

    @property
    def period(self) -> float:
        """Θ = τπ / sqrt(I0 − 1/4): the free oscillation period (time)."""
        return theta_period(self.tau, self.i0)


def theta_period(tau: float, i0: float) -> float:
    """Θ = τπ / sqrt(I0 − 1/4) (time units of τ)."""
    return tau * math.pi / math.sqrt(i0 - 0.25)


def phi_of_v(v: Tensor, p: ThetaParams) -> Tensor:
    """Φ(V) = τ/s · [arctan((V − 1/2)/s) + π/2]; V = ±inf maps to Θ and 0."""
    s = p.s
    return (p.tau / s) * (torch.atan((v - 0.5) / s) + math.pi / 2)


def v_of_phi(phi: Tensor, p: ThetaParams, eps: float = 1e-9) -> Tensor:
    """Φ⁻¹(φ) = s · tan(φ s/τ − π/2) + 1/2, with φ clamped into [eps, Θ − eps] (finite V)."""
    s = p.s
    phi = phi.clamp(eps, p.period - eps)
    return s * torch.tan(phi * (s / p.tau) - math.pi / 2) + 0.5


def transfer(phi: Tensor, w: Tensor, p: ThetaParams) -> Tensor:
    """H(φ, w) = Φ(Φ⁻¹(φ) + w): the phase after an input kick of weight ``w`` (broadcasts).

    Evaluated as ``τ/s · [atan2(sin x + (w/s) cos x, cos x) + π/2]``, ``x = φ s/τ − π/2``, which is
    exact and smooth on the closed interval φ ∈ [0, Θ] (see the module docstring).
    """
    s = p.s
    x = phi * (s / p.tau) - math.pi / 2
    c = torch.cos(x)
    return (p.tau / s) * (torch.atan2(torch.sin(x) + (w / s) * c, c) + math.pi / 2)
