"""Adaptive noise estimation (ANE), **as reconstructed here** (the paper's equations were not
available; this is our design, not Knoblauch's published estimator).

At every retrieval step the current input state ũ (a_b active units in query b) is compared
with the memory's nominal weights W (the rule's weights at its assumed noise). For output unit j
let ``w_in_j`` be the mean weight from inputs that were co-active with j in a stored pattern and
``w_bg_j`` the mean weight from any input (:func:`~neuroplastic.memory.rules.ane_statistics`).
If ĉ of the a active units are correct (belong to the pattern being retrieved), the expected
potentials are

    on-unit:  E[x_j] = ĉ·w_in_j + (a − ĉ)·w_bg_j,        off-unit:  E[x_j] = a·w_bg_j,

so the gap between the mean potential of the K strongest units (mostly on-units) and the mean of
the others estimates ĉ::

    ĉ_b = clip( (mean_topK x_b − mean_rest x_b) / mean_j (w_in_j − w_bg_j),  0,  min(a_b, K) )

with K the number of active units of a stored pattern (the k-WTA winners); without
self-connections the gap is first multiplied by K/(K − 1) (a correct active unit does not feed
itself, so the pattern units see ĉ(K − 1)/K correct inputs on average). The current state's
noise relative to the pattern (K active units) then is

    p̂10 = (K − ĉ + ½)/(K + 1)   (missed pattern units),   p̂01 = (a − ĉ + ½)/(n − K + 1)
    (false units), with add-half smoothing so that neither is ever estimated as exactly zero
    (an estimate of "no false units" would make every unpotentiated synapse a veto).

How the estimate is used:

- **Bayesian rule**: the weights and thresholds are recomputed with (p̂01, p̂10) in place of the
  assumed noise. To bound the cost, ĉ is rounded to a grid of ``levels + 1`` values
  {0, K/levels, …, K} and queries sharing (a, grid value) share one weight matrix.
- **other rules** (which have no noise parameter): the per-unit threshold is set half-way
  between the expected off- and on-potentials, ``Θ_j = a·w_bg_j + ĉ·(w_in_j − w_bg_j)/2``,
  and the potential used for k-WTA / thresholding is ``x_j − Θ_j`` (units with a high load,
  i.e. many potentiated synapses, are no longer favoured by noise).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["ane_threshold", "estimate_correct_units", "quantised_noise"]


def estimate_correct_units(
    x: Tensor,
    active: Tensor,
    w_in: Tensor,
    w_bg: Tensor,
    winners: int,
    exclude_self: bool = False,
) -> Tensor:
    """ĉ per query (B,) from nominal potentials x (B, n) and active counts a (B,).

    Without self-connections (``exclude_self``) a correct active unit gets no input from
    itself, so the K pattern units receive on average ĉ(K − 1)/K correct inputs, not ĉ: the
    gap is divided by (K − 1)/K. (Measured on states of known composition, n = 1,024, k = 10,
    8 correct units: 7.08 without this factor; ``tests/test_ane.py``.)
    """
    n = x.shape[1]
    top = torch.topk(x, winners, dim=1).values.sum(1)
    rest = (x.sum(1) - top) / max(n - winners, 1)
    gap = top / winners - rest
    if exclude_self and winners > 1:
        gap = gap * winners / (winners - 1)
    signal = float((w_in - w_bg).mean())
    if signal <= 0:
        return torch.minimum(active, torch.full_like(active, float(winners)))
    c = (gap / signal).clamp_min(0.0)
    return torch.minimum(torch.minimum(c, active), torch.full_like(c, float(winners)))


def quantised_noise(
    c_hat: Tensor, active: Tensor, winners: int, n: int, levels: int
) -> list[tuple[float, float]]:
    """(p̂01, p̂10) per query from ĉ rounded to the grid {0, K/levels, 2K/levels, ..., K}.

    Add-half (Krichevsky–Trofimov) smoothing keeps both estimates above zero:
    p̂10 = (K − ĉ + ½)/(K + 1), p̂01 = (a − ĉ + ½)/(n − K + 1).
    """
    frac = (c_hat / winners).clamp(0.0, 1.0)
    c_q = torch.round(frac * levels) / levels * winners
    p10 = ((winners - c_q + 0.5) / (winners + 1)).clamp(0.0, 0.999)
    p01 = ((active - c_q).clamp_min(0.0) + 0.5) / max(n - winners + 1, 1)
    p01 = p01.clamp(0.0, 0.999)
    p10r = torch.round(p10 * 1e6) / 1e6
    p01r = torch.round(p01 * 1e6) / 1e6
    return [(float(a), float(b)) for a, b in zip(p01r.tolist(), p10r.tolist(), strict=True)]


def ane_threshold(c_hat: Tensor, active: Tensor, w_in: Tensor, w_bg: Tensor) -> Tensor:
    """Θ (B, n) = a·w_bg_j + ĉ·(w_in_j − w_bg_j)/2: midway between off- and on-potentials."""
    return active[:, None] * w_bg[None, :] + 0.5 * c_hat[:, None] * (w_in - w_bg)[None, :]
