"""BCM rule (Bienenstock, Cooper & Munro 1982) with a sliding modification threshold.

x (B × n_in) presynaptic, y (B × N) postsynaptic, W (N × n_in), θ (N) thresholds::

    Δw_ji = η (1/B) Σ_b x_bi y_bj (y_bj − θ_j)          (ΔW = η (y ⊙ (y − θ))ᵀ x / B)
    θ_j  ← θ_j + (1/τ_θ) ((1/B) Σ_b y_bj² − θ_j)        (θ = running average of y², time
                                                          constant τ_θ in batches)

Activity above θ potentiates, below depresses; θ rises with the unit's recent activity
(faster than y, as y²), which stabilises the rule and makes units selective.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from neuroplastic.errors import ShapeError
from neuroplastic.rules._shapes import check_pre_post


class BCMParams(BaseModel):
    """BCM: ΔW = η (y(y − θ))ᵀx/B, θ ← θ + (mean y² − θ)/τ_θ."""

    model_config = ConfigDict(extra="forbid")
    eta: float = Field(0.01, gt=0, le=10, description="learning rate η per batch (1)")
    tau_theta: float = Field(
        100.0, ge=1, le=1e9, description="time constant τ_θ of the threshold (batches, >= 1)"
    )
    theta_init: float = Field(1.0, ge=0, le=1e6, description="initial threshold θ(0) (y² units)")


def bcm_delta(x: Tensor, y: Tensor, w: Tensor, theta: Tensor, p: BCMParams) -> Tensor:
    """Proposed ΔW = η (y ⊙ (y − θ))ᵀ x / B; theta (N,)."""
    check_pre_post("bcm", x, y, w)
    if theta.shape != (w.shape[0],):
        raise ShapeError(f"bcm: theta {tuple(theta.shape)} must be ({w.shape[0]},)")
    return p.eta * (y * (y - theta)).T @ x / x.shape[0]


def bcm_threshold(theta: Tensor, y: Tensor, p: BCMParams) -> Tensor:
    """Next threshold θ + (mean_b y² − θ) / τ_θ (a new tensor; the caller keeps it)."""
    if theta.shape != (y.shape[1],):
        raise ShapeError(f"bcm: theta {tuple(theta.shape)} must be ({y.shape[1]},)")
    return theta + ((y * y).mean(0) - theta) / p.tau_theta
