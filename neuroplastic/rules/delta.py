"""The delta rule (Widrow–Hoff / LMS), a local rule for a linear readout.

For a batch of presynaptic activities x (B × n_in), outputs y = x Wᵀ + b (B × n_out) and
targets t (B × n_out)::

    ΔW_ji = η · (1/B) Σ_b (t_bj − y_bj) · x_bi        (ΔW = η (t − y)ᵀ x / B)
    Δb_j  = η · (1/B) Σ_b (t_bj − y_bj)

It is gradient descent on the mean squared error ½‖t − y‖², computed from quantities local to
each synapse (its presynaptic activity and its neuron's error).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from neuroplastic.errors import ShapeError


class DeltaRuleParams(BaseModel):
    """Delta rule (LMS)."""

    model_config = ConfigDict(extra="forbid")
    eta: float = Field(0.01, gt=0, le=10, description="learning rate η per batch")


def delta_rule(x: Tensor, y: Tensor, target: Tensor, p: DeltaRuleParams) -> tuple[Tensor, Tensor]:
    """Proposed ``(ΔW, Δb)`` for a batch: x (B, n_in), y and target (B, n_out)."""
    if x.dim() != 2 or y.dim() != 2 or y.shape != target.shape or x.shape[0] != y.shape[0]:
        raise ShapeError(
            f"delta rule: x {tuple(x.shape)}, y {tuple(y.shape)}, target {tuple(target.shape)} "
            "must be (B, n_in), (B, n_out), (B, n_out)"
        )
    err = target - y
    batch = x.shape[0]
    return p.eta * (err.T @ x) / batch, p.eta * err.mean(0)
