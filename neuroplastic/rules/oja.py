"""Oja's rule (one neuron per row) and its many-neuron variants.

x (B × n_in) presynaptic, y = x Wᵀ (B × N) postsynaptic, W (N × n_in)::

    single   (Oja 1982):      Δw_j = η (1/B) Σ_b y_bj (x_b − y_bj w_j)
                              ΔW   = η (yᵀx − diag(Σ_b y_b²) W) / B
    subspace (Oja 1989):      ΔW   = η (yᵀx − (yᵀy) W) / B
    sanger   (GHA, 1989):     ΔW   = η (yᵀx − LT(yᵀy) W) / B,   LT = lower triangle incl. diagonal

``single`` makes each row converge to the leading principal direction (all rows the same);
``subspace`` makes the rows an orthonormal basis of the leading N-dimensional principal subspace;
``sanger`` makes row j the j-th principal component. Each keeps ‖w_j‖ → 1.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from neuroplastic.rules._shapes import check_pre_post

OjaVariant = Literal["single", "subspace", "sanger"]


class OjaParams(BaseModel):
    """Oja's rule. Δw_j = η y_j (x − y_j w_j) (single); subspace / Sanger for many neurons."""

    model_config = ConfigDict(extra="forbid")
    eta: float = Field(0.01, gt=0, le=1, description="learning rate η per batch (1)")
    variant: OjaVariant = Field("sanger", description="single, subspace (Oja) or sanger (GHA)")


def oja_delta(x: Tensor, y: Tensor, w: Tensor, p: OjaParams) -> Tensor:
    """Proposed ΔW for x (B, n_in), y (B, N), w (N, n_in); see the module docstring."""
    check_pre_post("oja", x, y, w)
    hebb = y.T @ x
    if p.variant == "single":
        decay = (y * y).sum(0)[:, None] * w
    else:
        gram = y.T @ y
        if p.variant == "sanger":
            gram = torch.tril(gram)
        decay = gram @ w
    return p.eta * (hebb - decay) / x.shape[0]
