"""Weight perturbation: learning from a global scalar error, no gradient transport.

Perturb the weights by ξ ~ N(0, σ² I), measure the change of the loss
ΔL = L(w + ξ) − L(w) on the current batch, and move along the perturbation in proportion to the
improvement (an unbiased estimate of −∇L for small σ)::

    Δw = −η · ΔL · ξ / σ²

Every synapse needs only its own perturbation and one broadcast scalar (ΔL), so the rule is
local up to a neuromodulatory signal. It is slow (variance grows with the number of weights);
the delta rule is the faster local alternative.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor


class PerturbationParams(BaseModel):
    """Weight-perturbation learning."""

    model_config = ConfigDict(extra="forbid")
    sigma: float = Field(1e-3, gt=0, le=1, description="perturbation s.d. σ (weight units)")
    eta: float = Field(1e-3, gt=0, le=10, description="learning rate η")


def weight_perturbation_delta(
    loss: Callable[[Tensor], Tensor],
    w: Tensor,
    p: PerturbationParams,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Proposed Δw = −η (L(w+ξ) − L(w)) ξ / σ² for a loss ``loss(w) -> scalar``."""
    xi = torch.randn(w.shape, generator=generator, dtype=w.dtype).to(w.device) * p.sigma
    delta_loss = loss(w + xi) - loss(w)
    return -p.eta * delta_loss * xi / (p.sigma**2)
