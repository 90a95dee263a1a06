"""Weight perturbation: learning from a global scalar error, no gradient transport.

Perturb the weights by ξ ~ N(0, σ² I), measure the change of the loss
ΔL = L(w + ξ) − L(w) on the current batch, and move along the perturbation in proportion to the
improvement (an unbiased estimate of −∇L for small σ)::

    Δw = −η · ΔL · ξ / σ²

With ``antithetic`` the loss change is measured on both sides, ΔL = (L(w + ξ) − L(w − ξ)) / 2:
the same expected step, without the curvature term ½ ξᵀHξ that adds noise to the one-sided
estimate (one more loss evaluation per update).

Every synapse needs only its own perturbation and one broadcast scalar (ΔL), so the rule is
local up to a neuromodulatory signal. It is slow (variance grows with the number of weights);
the delta rule is the faster local alternative.
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from neuroplastic.errors import ShapeError


class PerturbationParams(BaseModel):
    """Weight-perturbation learning."""

    model_config = ConfigDict(extra="forbid")
    sigma: float = Field(1e-3, gt=0, le=1, description="perturbation s.d. σ (weight units)")
    eta: float = Field(1e-3, gt=0, le=10, description="learning rate η")
    antithetic: bool = Field(False, description="two-sided loss difference (L(w+ξ) − L(w−ξ))/2")


def per_sample_perturbation_delta(
    h: Tensor,
    target: Tensor,
    w: Tensor,
    bias: Tensor,
    p: PerturbationParams,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Weight perturbation of a linear readout with one perturbation per sample.

    For each sample b of the batch draw ξ_b ~ N(0, σ² I) (like ``w``), measure its squared-error
    loss L_b(v) = ½‖v h_b + bias − t_b‖² at v = w + ξ_b (and w − ξ_b with ``antithetic``, else
    at w), and average the moves::

        Δw = −(η / B) Σ_b ΔL_b ξ_b / σ²

    Each sample contributes its own scalar ΔL_b (a per-sample reward signal), so a batch gives B
    directional measurements instead of one: the same expected step (−η ∇ of the mean loss, for
    small σ) with about B times less variance. h (B, n_hidden), target (B, n_out), w (n_out,
    n_hidden), bias (n_out,).
    """
    if (
        h.dim() != 2
        or target.shape != (h.shape[0], w.shape[0])
        or w.shape[1] != h.shape[1]
        or bias.shape != (w.shape[0],)
    ):
        raise ShapeError(
            f"perturbation readout: h {tuple(h.shape)}, target {tuple(target.shape)}, "
            f"w {tuple(w.shape)}, bias {tuple(bias.shape)} must be (B, n_hidden), (B, n_out), "
            "(n_out, n_hidden), (n_out,)"
        )
    batch = h.shape[0]
    xi = torch.randn((batch, *w.shape), generator=generator, dtype=w.dtype).to(w.device) * p.sigma
    out = h @ w.T + bias
    shift = torch.einsum("boi,bi->bo", xi, h)

    def losses(o: Tensor) -> Tensor:
        return 0.5 * ((o - target) ** 2).sum(1)

    if p.antithetic:
        delta_loss = (losses(out + shift) - losses(out - shift)) / 2
    else:
        delta_loss = losses(out + shift) - losses(out)
    return -p.eta / batch * torch.einsum("b,boi->oi", delta_loss, xi) / p.sigma**2
