"""Pseudospike times for output neurons that stayed silent (Klos & Memmesheimer 2025).

Run the end-of-trial phases forward as a rate network (r dimensionless, in [0, 1]):

    r ← 0;   for each hidden layer l:  I_l = W_l r,  r = H(φ_l(T), I_l) / Θ
    I_out = W_out r;   pseudospike time  t̃_i = T + Θ − H(φ_i(T), I_out,i)

(For the first hidden layer I = 0, so r = φ(T)/Θ.) A neuron about to spike at T has
φ(T) → Θ, r → 1 and t̃ → T, so an ordinary spike leaving the trial through its end turns
continuously into a pseudospike: the loss stays continuous and its gradient can move a silent
output's pseudospike into the trial, creating a spike.
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuroplastic.errors import ShapeError
from neuroplastic.spiking.theta import ThetaParams, transfer


def pseudospike_times(
    final_phases: list[Tensor], weights: list[Tensor], t_end: float, p: ThetaParams
) -> Tensor:
    """Pseudospike times (B, n_out) of every output neuron from φ(T) of all layers.

    ``final_phases[l]`` is (B, n_l); ``weights[l]`` (n_l, n_{l-1}) as in
    :func:`neuroplastic.spiking.simulate.simulate_network` (``weights[0]``, the input weights,
    is not used because the input layer has no rate).
    """
    if len(final_phases) != len(weights) or not final_phases:
        raise ShapeError(f"{len(final_phases)} phase tensors but {len(weights)} weight matrices")
    period = p.period
    r = final_phases[0] / period
    for phase, weight in zip(final_phases[1:-1], weights[1:-1], strict=True):
        r = transfer(phase, r @ weight.t(), p) / period
    current = torch.zeros_like(final_phases[0]) if len(final_phases) == 1 else r @ weights[-1].t()
    return t_end + period - transfer(final_phases[-1], current, p)


def output_times(first_spike: Tensor, pseudo: Tensor | None) -> Tensor:
    """Output times (B, n_out): the first ordinary spike, else the pseudospike (or ``inf``)."""
    if pseudo is None:
        return first_spike
    return torch.where(torch.isfinite(first_spike), first_spike, pseudo)
