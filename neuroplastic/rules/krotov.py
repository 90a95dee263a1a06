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
    if p == 2.0:
        metric = w
    elif p == 3.0:
        metric = w * w.abs()  # sign(w)|w|², without a pow
    else:
        metric = torch.sign(w) * w.abs().pow(p - 1)
    return x @ metric.T


def krotov_delta(
    x: Tensor, w: Tensor, p: KrotovParams, *, currents: Tensor | None = None
) -> Tensor:
    """Proposed ΔW for a batch x (B, n_in) and weights w (N, n_in); see the module docstring.

    ``currents`` (B, N) may pass I precomputed (for the same, already normalised x). g has two
    non-zeros per sample, so ``gᵀx`` is formed by adding the B input rows into the winners'
    and the k-th units' rows (an index add, O(B·n_in)), not by a dense (N × B)(B × n_in) product.
    """
    if x.dim() != 2 or w.dim() != 2 or x.shape[1] != w.shape[1]:
        raise ShapeError(f"krotov: x {tuple(x.shape)}, w {tuple(w.shape)} must be (B, n), (N, n)")
    n_units = w.shape[0]
    if p.k > n_units:
        raise ParameterError(f"krotov: parameter 'k' = {p.k} exceeds the {n_units} hidden units")
    if p.normalise_input:
        x = unit_inputs(x)
    if currents is None:
        currents = krotov_currents(x, w, p.p)
    elif currents.shape != (x.shape[0], n_units):
        raise ShapeError(
            f"krotov: currents {tuple(currents.shape)} must be {(x.shape[0], n_units)}"
        )
    ranked = currents.topk(p.k, dim=1).indices
    winner, kth = ranked[:, 0], ranked[:, p.k - 1]
    rows = torch.arange(x.shape[0], device=x.device)
    d = torch.zeros_like(w).index_add_(0, winner, x).index_add_(0, kth, x, alpha=-p.delta)
    drive = torch.zeros(n_units, dtype=w.dtype, device=w.device)
    drive.index_add_(0, winner, currents[rows, winner])
    drive.index_add_(0, kth, currents[rows, kth], alpha=-p.delta)
    d.addcmul_(drive[:, None], w, value=-1.0)
    scale = d.abs().max().clamp(min=1e-30)
    return d.mul_(p.eta / scale)
