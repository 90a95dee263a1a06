"""Input events of one layer: sorted spike times and the kick each one delivers.

A layer's input is a list of events per sample, sorted by time and padded with ``inf``:
``times`` (B, M) and ``currents`` (B, M, n) — the kick ``w`` that event ``k`` gives each of the
layer's ``n`` neurons (one column of the weight matrix, or the sum of several columns for a
volley of simultaneous spikes). Building them is a gather, so autograd reaches the weights and
the spike times.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from neuroplastic.errors import NeuroplasticError, ShapeError


class EventBudgetError(NeuroplasticError):
    """A layer received more input events than the event budget K allows."""


@dataclass
class LayerInput:
    """Events reaching one layer: ``times`` (B, M) ascending, ``inf`` = no event;
    ``currents`` (B, M, n) kicks; ``counts`` (B,) real events per sample (synaptic events =
    counts × fan-out)."""

    times: Tensor
    currents: Tensor
    counts: Tensor


def volley_input(active: Tensor, t: float, weight: Tensor) -> LayerInput:
    """One volley: every active input (B, n_in) in {0, 1} spikes at time ``t``.

    Simultaneous kicks add in V (``H(H(φ, a), b) = H(φ, a + b)``), so the volley is one event
    with current ``active @ Wᵀ`` (B, n). ``weight`` is (n, n_in).
    """
    if active.ndim != 2 or active.shape[1] != weight.shape[1]:
        raise ShapeError(
            f"volley: active has shape {tuple(active.shape)}, weights {tuple(weight.shape)}"
        )
    batch = active.shape[0]
    currents = (active.to(weight.dtype) @ weight.t()).unsqueeze(1)
    times = torch.full((batch, 1), float(t), dtype=weight.dtype, device=weight.device)
    return LayerInput(times, currents, active.ne(0).sum(1))


def spike_train_input(
    spike_times: Tensor, weight: Tensor, max_events: int, what: str = "layer"
) -> LayerInput:
    """Events from spike times (B, n_src, S) of the presynaptic neurons (``inf`` = none).

    Sorts each sample's spikes by time and keeps the first ``max(count)`` of them; raises
    :class:`EventBudgetError` if a sample has more than ``max_events`` spikes. ``weight`` is
    (n, n_src).
    """
    if spike_times.ndim == 2:
        spike_times = spike_times.unsqueeze(2)
    batch, n_src, _ = spike_times.shape
    if n_src != weight.shape[1]:
        raise ShapeError(f"{what}: {n_src} presynaptic neurons, weights {tuple(weight.shape)}")
    flat = spike_times.reshape(batch, -1)  # index = src * S + slot
    counts = torch.isfinite(flat).sum(1)
    m = int(counts.max()) if batch else 0
    if m > max_events:
        raise EventBudgetError(
            f"{what}: a sample has {m} input spikes but the event budget is max_events="
            f"{max_events}; raise max_events"
        )
    times, idx = torch.topk(flat, m, dim=1, largest=False, sorted=True)
    src = torch.div(idx, spike_times.shape[2], rounding_mode="floor")
    currents = weight.t()[src]  # (B, m, n)
    return LayerInput(times, currents, counts)
