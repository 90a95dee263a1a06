"""Competitive Hebbian learning for an excitatory hidden layer (our reconstruction of the rule
of Stricker, Röhrbein & Knoblauch 2026; the papers' exact equations were not available).

Match score of hidden unit j for input x (weights w_j >= 0, pixel intensities x in [0, 1])::

    s_j = w_j · x − ½ ‖w_j‖² + b_j          (nearest prototype in Euclidean distance, plus the
                                             homeostatic bias b_j)

Competition turns scores into learning signals y_j (B × N):

- ``hard``: y = 1 for the best unit only (winner-take-all);
- ``kwta``: y = 1 for the k best units;
- ``soft``: y = softmax(s / τ) over units.

Instar (competitive Hebbian) update, clipped at 0 by Dale's law in ``Synapses``::

    Δw_ij = η · (1/B) Σ_b y_bj (x_bi − w_ij)

so winners move their weights toward the input and a synapse whose input is mostly off decays
toward 0 (it becomes silent). The hidden *code* read by the output layer is

    m_j = w_j · x / Σ_i w_ij                 (fraction of the unit's template present, in [0, 1])
    h_j = f(g · (m_j − mean_j' m_j'))        (global inhibition subtracts the mean match)

with the modified sigmoid f(u) = 2σ(u) − 1 for u >= 0, else 0, mapping u >= 0 to [0, 1).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from neuroplastic.errors import ParameterError, ShapeError

Competition = Literal["hard", "kwta", "soft"]


class CompetitiveParams(BaseModel):
    """Competitive Hebbian learning in the hidden layer."""

    model_config = ConfigDict(extra="forbid")
    competition: Competition = Field("kwta", description="hard (1 winner), kwta (k), soft")
    k: int = Field(1, ge=1, le=10_000, description="number of winners for kwta")
    temperature: float = Field(0.1, gt=0, le=100, description="softmax temperature τ (soft)")
    eta: float = Field(0.05, gt=0, le=1, description="Hebbian learning rate η per batch")


def modified_sigmoid(u: Tensor) -> Tensor:
    """f(u) = 2σ(u) − 1 for u >= 0, 0 otherwise (maps u >= 0 to [0, 1))."""
    return torch.where(u > 0, 2 * torch.sigmoid(u) - 1, torch.zeros_like(u))


def match_scores(x: Tensor, w: Tensor, bias: Tensor) -> Tensor:
    """s = x wᵀ − ½‖w‖² + b: (B, n_in), (N, n_in), (N,) -> (B, N)."""
    if x.dim() != 2 or w.dim() != 2 or x.shape[1] != w.shape[1] or bias.shape != w.shape[:1]:
        raise ShapeError(
            f"match scores: x {tuple(x.shape)}, w {tuple(w.shape)}, b {tuple(bias.shape)} "
            "must be (B, n_in), (N, n_in), (N,)"
        )
    return x @ w.T - 0.5 * (w * w).sum(1) + bias


def competition_signal(scores: Tensor, p: CompetitiveParams) -> Tensor:
    """Learning signal y (B, N) from scores: hard / k-winner one-hot rows, or softmax."""
    n_units = scores.shape[1]
    if p.competition == "soft":
        return torch.softmax(scores / p.temperature, dim=1)
    k = 1 if p.competition == "hard" else p.k
    if k > n_units:
        raise ParameterError(f"k = {k} winners but only {n_units} hidden units")
    winners = scores.topk(k, dim=1).indices
    return torch.zeros_like(scores).scatter_(1, winners, 1.0)


def rank_signal(scores: Tensor, k: int, decay: float) -> Tensor:
    """Graded competition: the k best units of each row get credit decay^r (r = 0 for the best,
    1 for the second, ...), every other unit 0 (B, N)."""
    n_units = scores.shape[1]
    if k > n_units:
        raise ParameterError(f"k = {k} winners but only {n_units} hidden units")
    winners = scores.topk(k, dim=1).indices
    credit = decay ** torch.arange(k, dtype=scores.dtype, device=scores.device)
    return torch.zeros_like(scores).scatter_(1, winners, credit.expand(scores.shape[0], k))


def instar_from_coincidence(
    coincidence: Tensor, activity: Tensor, w: Tensor, eta: float, batch: int
) -> Tensor:
    """The instar update from precomputed Σ_b y_bj x_bi (N, n_in) and Σ_b y_bj (N,)."""
    return eta * (coincidence - activity[:, None] * w) / batch


def template_code(x: Tensor, w: Tensor, gain: float) -> Tensor:
    """Hidden code h = f(g (m − mean m)), m_j = w_j·x / Σ_i w_ij (0 for a unit with no weight)."""
    total = w.sum(1)
    match = (x @ w.T) / total.clamp(min=1e-12)
    match = torch.where(total > 0, match, torch.zeros_like(match))
    return modified_sigmoid(gain * (match - match.mean(1, keepdim=True)))
