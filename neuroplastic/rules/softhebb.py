"""SoftHebb: Hebbian learning with a soft winner-take-all (Moraitis et al., Neuromorph. Comput.
Eng. 2:044017, 2022; Journé et al., ICLR 2023).

For inputs x (B × n_in) and weights W (N × n_in)::

    u_bj = w_j · x_b                                 (activation)
    y_bj = softmax_j(u_b / τ)                        (soft winner-take-all, Σ_j y_bj = 1)
    Δw_j = η (1/B) Σ_b y_bj (x_b − u_bj w_j)

Each unit moves toward the inputs it (softly) wins in proportion to y, and the Oja-like decay
u_j w_j keeps ‖w_j‖ near 1: the rule minimises the KL divergence between the input distribution
and a mixture model whose components are the units. τ → 0 gives hard winner-take-all.
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from neuroplastic.errors import ShapeError


class SoftHebbParams(BaseModel):
    """SoftHebb: y = softmax(u/τ), Δw_j = η y_j (x − u_j w_j)."""

    model_config = ConfigDict(extra="forbid")
    eta: float = Field(0.03, gt=0, le=10, description="learning rate η per batch (1)")
    temperature: float = Field(0.05, gt=0, le=100, description="softmax temperature τ (units of u)")


def softhebb_delta(x: Tensor, w: Tensor, p: SoftHebbParams, *, u: Tensor | None = None) -> Tensor:
    """Proposed ΔW for x (B, n_in), w (N, n_in): η (yᵀx − diag(Σ_b y_b u_b) W) / B.

    ``u`` (B, N) may pass the activations x Wᵀ precomputed."""
    if x.dim() != 2 or w.dim() != 2 or x.shape[1] != w.shape[1]:
        raise ShapeError(f"softhebb: x {tuple(x.shape)}, w {tuple(w.shape)} must be (B, n), (N, n)")
    if u is None:
        u = x @ w.T
    elif u.shape != (x.shape[0], w.shape[0]):
        raise ShapeError(f"softhebb: u {tuple(u.shape)} must be {(x.shape[0], w.shape[0])}")
    y = torch.softmax(u / p.temperature, dim=1)
    return p.eta * (y.T @ x - (y * u).sum(0)[:, None] * w) / x.shape[0]
