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
import torch.nn.functional as F
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
    return LayerInput(times, _columns(weight, src), counts)


def _columns(weight: Tensor, src: Tensor) -> Tensor:
    """``weight[:, src]`` as (B, m, n): the kick of each event on the layer's neurons.

    An embedding lookup, whose backward sums the rows of each source neuron in a fixed order
    (bit-identical for a given thread count), unlike ``weight.t()[src]``, whose backward
    (``index_put_`` with accumulate) adds with float atomics on several CPU threads.
    """
    return F.embedding(src, weight.t())


def sparse_spike_input(
    times: Tensor,
    sample: Tensor,
    neuron: Tensor,
    batch: int,
    weight: Tensor,
    max_events: int,
    what: str = "layer",
) -> LayerInput:
    """Events from a sparse spike list: spike ``e`` of presynaptic ``neuron[e]`` in sample
    ``sample[e]`` at ``times[e]``, the list sorted by sample and, within a sample, by time
    (as :class:`~neuroplastic.spiking.simulate.LayerResult` keeps it).

    Scatters each sample's spikes into a row of ``times`` (B, M), M = most spikes in a
    sample, padded with ``inf``; raises :class:`EventBudgetError` if M > ``max_events``.
    ``weight`` is (n, n_src).
    """
    counts = torch.bincount(sample, minlength=batch)
    m = int(counts.max()) if batch and sample.numel() else 0
    if m > max_events:
        raise EventBudgetError(
            f"{what}: a sample has {m} input spikes but the event budget is max_events="
            f"{max_events}; raise max_events"
        )
    start = torch.cumsum(counts, 0) - counts
    slot = torch.arange(sample.numel(), device=sample.device) - start[sample]
    padded = torch.full((batch, m), float("inf"), dtype=times.dtype, device=times.device)
    padded = padded.index_put((sample, slot), times)
    src = torch.zeros((batch, m), dtype=torch.long, device=sample.device)
    src = src.index_put((sample, slot), neuron)
    return LayerInput(padded, _columns(weight, src), counts)
