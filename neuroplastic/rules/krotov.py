"""Krotov & Hopfield's "competing hidden units" (PNAS 116:7723, 2019).

For inputs x (B × n_in), here first scaled to unit length ``x ← x / ‖x‖`` (the authors'
reproduction advice; ``normalise_input``), and weights W (N × n_in)::

    I_bj   = Σ_i sign(W_ji) |W_ji|^(p−1) x_bi          (input current in the Lebesgue-p metric)
    g_bj   = 1 if j is the unit with the largest I_b·, −Δ if j is ranked k-th, 0 otherwise
    D_ji   = Σ_b g_bj x_bi − (Σ_b g_bj I_bj) W_ji     (winner moves toward x, k-th is pushed away)
    ΔW     = η D / max_ji |D_ji|                      (the reference code's step normalisation)

The fixed point of the winner's update is a unit vector in the p-norm (‖w_j‖_p = 1): the
Lebesgue-p norm of the paper. Only the two ranked units of each sample change, so a batch writes
at most 2B rows. Units: x, W dimensionless; η is the largest single weight change per batch.
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from neuroplastic.errors import ParameterError, ShapeError


class KrotovParams(BaseModel):
    """Competing hidden units: ranking, anti-Hebbian strength Δ on the k-th unit, p-norm."""

    model_config = ConfigDict(extra="forbid")
    eta: float = Field(0.02, gt=0, le=1, description="largest weight change per batch η (1)")
    p: float = Field(3.0, ge=1, le=20, description="Lebesgue norm exponent p (>= 1)")
    k: int = Field(7, ge=2, le=10_000, description="rank of the anti-Hebbian unit (>= 2)")
    delta: float = Field(0.4, ge=0, le=10, description="anti-Hebbian strength Δ (1)")
    normalise_input: bool = Field(True, description="scale each input to unit length first")


def unit_inputs(x: Tensor) -> Tensor:
    """x / ‖x‖ per row (rows of zeros stay zero)."""
    return x / x.norm(dim=1, keepdim=True).clamp(min=1e-12)


def krotov_currents(x: Tensor, w: Tensor, p: float) -> Tensor:
    """I = x (sign(W)|W|^(p−1))ᵀ: (B, n_in), (N, n_in) -> (B, N)."""
    return x @ (torch.sign(w) * w.abs().pow(p - 1)).T


def krotov_delta(x: Tensor, w: Tensor, p: KrotovParams) -> Tensor:
    """Proposed ΔW for a batch x (B, n_in) and weights w (N, n_in); see the module docstring."""
    if x.dim() != 2 or w.dim() != 2 or x.shape[1] != w.shape[1]:
        raise ShapeError(f"krotov: x {tuple(x.shape)}, w {tuple(w.shape)} must be (B, n), (N, n)")
    n_units = w.shape[0]
    if p.k > n_units:
        raise ParameterError(f"krotov: parameter 'k' = {p.k} exceeds the {n_units} hidden units")
    if p.normalise_input:
        x = unit_inputs(x)
    currents = krotov_currents(x, w, p.p)
    ranked = currents.topk(p.k, dim=1).indices
    g = torch.zeros_like(currents)
    rows = torch.arange(x.shape[0], device=x.device)
    g[rows, ranked[:, 0]] = 1.0
    g[rows, ranked[:, p.k - 1]] = -p.delta
    drive = (g * currents).sum(0)
    d = g.T @ x - drive[:, None] * w
    scale = d.abs().max().clamp(min=1e-30)
    return p.eta * d / scale
