"""Hebb's rule with weight decay.

For a batch of presynaptic activities x (B × n_in), postsynaptic activities y (B × N) and
weights w (N × n_in)::

    Δw_ji = η ( (1/B) Σ_b y_bj x_bi − λ w_ji )          (ΔW = η (yᵀ x / B − λ W))

Pure Hebbian growth is unstable (‖w‖ grows without bound along the leading principal
direction); the decay λ bounds it only when λ exceeds the leading eigenvalue of the input's
second-moment matrix scaled by the gain of y. Dimensionless: x, y and w are in the model's units.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from neuroplastic.rules._shapes import check_pre_post


class HebbParams(BaseModel):
    """Hebb's rule with decay: ΔW = η (yᵀx/B − λW)."""

    model_config = ConfigDict(extra="forbid")
    eta: float = Field(0.01, gt=0, le=10, description="learning rate η per batch (1)")
    decay: float = Field(0.1, ge=0, le=1e3, description="weight decay λ per batch (1)")


def hebb_delta(x: Tensor, y: Tensor, w: Tensor, p: HebbParams) -> Tensor:
    """Proposed ΔW = η (yᵀ x / B − λ W) for x (B, n_in), y (B, N), w (N, n_in)."""
    check_pre_post("hebb", x, y, w)
    return p.eta * (y.T @ x / x.shape[0] - p.decay * w)
