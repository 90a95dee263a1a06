"""Event-driven, batched simulation of feed-forward theta-neuron networks, exact under autograd.

Layer by layer (exact for feed-forward networks: a layer's spikes depend only on the layers
below). For one layer with phases φ (B, n) and input events at times t_1 <= t_2 <= ... < T:

    between events:  φ ← φ + Δt;  where φ + Δt >= Θ the neuron spikes at t_prev + Θ − φ
                     and continues from φ + Δt − Θ (at most one spike per interval, Δt <= T < Θ)
    at an event:     φ ← H(φ, w_k)  (the kick of event k; see :mod:`neuroplastic.spiking.theta`)
    at the end:      advance to T; φ(T) feeds the pseudospikes

Every sample of the batch advances through its own events at once (tensors of shape (B, n);
samples with fewer events take zero-length steps), so there is no per-sample Python loop; the
loop runs over the event index, ``max(events per sample)`` times per layer. Spike times are
differentiable functions of the weights, initial phases and input times (``t_prev + Θ − φ``);
the discrete choice of which neuron spikes carries no gradient, which is what makes the
gradient exact. Spikes can only appear or vanish at the trial end (phases are continuous), so
the loss is continuous once silent outputs get pseudospikes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from neuroplastic.errors import ParameterError, ShapeError
from neuroplastic.spiking.events import EventBudgetError, LayerInput, sparse_spike_input
from neuroplastic.spiking.theta import ThetaParams, transfer


@dataclass
class LayerResult:
    """One layer's trial as a sparse spike list, sorted by sample and, within a sample, by
    time: spike ``e`` of ``neuron[e]`` in ``sample[e]`` at ``times[e]`` (differentiable);
    ``final_phase`` φ(T) (B, n), and the input the layer received."""

    times: Tensor
    sample: Tensor
    neuron: Tensor
    final_phase: Tensor
    received: LayerInput

    @property
    def n_spikes(self) -> int:
        """All spikes of the layer in the batch."""
        return int(self.times.numel())

    @property
    def spike_counts(self) -> Tensor:
        """Spikes per sample and neuron (B, n), int64."""
        batch, n = self.final_phase.shape
        key = self.sample * n + self.neuron
        return torch.bincount(key, minlength=batch * n).view(batch, n)

    def _by_neuron(self) -> tuple[Tensor, Tensor, Tensor]:
        """Spikes grouped by (sample, neuron), in time order within a group: the flat keys,
        the permutation into that order and each spike's rank within its group."""
        n = self.final_phase.shape[1]
        key = self.sample * n + self.neuron
        order = torch.argsort(key, stable=True)
        key = key[order]
        counts = torch.bincount(key, minlength=self.final_phase.numel())
        rank = (
            torch.arange(key.numel(), device=key.device) - (torch.cumsum(counts, 0) - counts)[key]
        )
        return key, order, rank

    @property
    def first_spike(self) -> Tensor:
        """Earliest spike per sample and neuron (B, n); ``inf`` for silent neurons."""
        key, order, rank = self._by_neuron()
        first = rank == 0
        out = torch.full_like(self.final_phase, math.inf).view(-1)
        out = out.index_put((key[first],), self.times[order[first]])
        return out.view_as(self.final_phase)

    @property
    def spike_times(self) -> Tensor:
        """Dense view (B, S, n), spike ``s`` of each neuron in time order, ``inf`` padding
        (S = most spikes of one neuron in one sample, at least 1)."""
        batch, n = self.final_phase.shape
        key, order, rank = self._by_neuron()
        slots = int(rank.max()) + 1 if rank.numel() else 1
        grid = torch.full((batch, n, slots), math.inf, dtype=self.times.dtype)
        grid = grid.to(self.times.device).view(batch * n, slots)
        grid = grid.index_put((key, rank), self.times[order])
        return grid.view(batch, n, slots).transpose(1, 2)


def _sparse_spikes(values: Tensor, row_sample: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The finite entries of ``values`` (R, n) (``inf`` = no spike), row r belonging to sample
    ``row_sample[r]``, as (times, sample, neuron) sorted by sample, then time."""
    mask = torch.isfinite(values)
    rows, neuron = mask.nonzero(as_tuple=True)
    times = values.masked_select(mask)
    sample = row_sample[rows]
    by_time = torch.argsort(times.detach(), stable=True)
    order = by_time[torch.argsort(sample[by_time], stable=True)]
    return times[order], sample[order], neuron[order]


def _advance(phi: Tensor, t_prev: Tensor, t_next: Tensor, period: float) -> tuple[Tensor, Tensor]:
    """Free evolution from ``t_prev`` to ``t_next`` (B, 1): new phases and spike times.

    A neuron spikes at ``t_s = t_prev + Θ − φ`` if ``t_s < t_next`` (strictly: a spike exactly
    at the trial end T belongs to the pseudospike side, where φ(T) = Θ) and continues from
    ``φ + Δt − Θ``; spike times are ``inf`` where there is none. The clamp to [0, Θ] only
    removes rounding (it keeps ``atan2`` in :func:`transfer` on its branch).
    """
    t_spike = t_prev + (period - phi)
    spike = t_spike < t_next
    adv = phi + (t_next - t_prev)
    new = torch.where(spike, adv - period, adv).clamp(0.0, period)
    return new, torch.where(spike, t_spike, math.inf)


def _event_step(
    phi: Tensor, t_prev: Tensor, t_next: Tensor, current: Tensor, p: ThetaParams
) -> tuple[Tensor, Tensor]:
    """Advance to the next event, then apply its kick ``φ ← H(φ, w)``."""
    phi, t_spike = _advance(phi, t_prev, t_next, p.period)
    return transfer(phi, current, p), t_spike


def run_layer(phi0: Tensor, inp: LayerInput, t_end: float, p: ThetaParams) -> LayerResult:
    """Simulate one layer over [0, t_end] given its input events (see module docstring).

    ``phi0`` is (n,) or (B, n) initial phases in [0, Θ]; events at or after ``t_end`` are
    ignored. Requires ``t_end < Θ`` (at most one free spike between events).

    Samples are sorted by their number of events and the loop runs on a shrinking prefix
    of them; the spikes come back as a sparse list (no padded spike-time grid).
    """
    period = p.period
    if not t_end < period:
        raise ParameterError(f"trial length T={t_end} must be shorter than the period Θ={period}")
    batch, m = inp.times.shape
    n = inp.currents.shape[2]
    if phi0.shape[-1] != n:
        raise ShapeError(f"initial phases have {phi0.shape[-1]} neurons, input currents {n}")
    phi_all = phi0.expand(batch, n)
    counts = (inp.times < t_end).sum(1)
    steps = int(counts.max()) if batch and m else 0
    if steps == 0:
        zero = torch.zeros(batch, 1, dtype=phi_all.dtype, device=phi_all.device)
        phi, t_spike = _advance(phi_all, zero, torch.full_like(zero, t_end), period)
        rows = torch.arange(batch, device=t_spike.device)
        return LayerResult(*_sparse_spikes(t_spike, rows), phi, inp)
    # Samples sorted by their number of events (most first): at step k exactly the first
    # n_k = #{counts > k} samples have an event, so the loop works on a shrinking prefix and
    # samples that are done cost nothing more. Per-event tensors are prepared at once and
    # unbound (indexing [:, k] in the loop would make the backward pass quadratic in steps).
    order = torch.argsort(counts, descending=True, stable=True)
    sorted_counts = counts[order]
    active = sorted_counts.unsqueeze(0) > torch.arange(steps, device=counts.device).unsqueeze(1)
    n_active = active.sum(1).tolist()
    t_next = inp.times[order, :steps].clamp(max=t_end)
    t_prev = torch.cat([torch.zeros_like(t_next[:, :1]), t_next[:, :-1]], 1)
    phi = phi_all[order]
    finished: list[Tensor] = []
    spikes: list[Tensor] = []
    for k, (t0, t1, current) in enumerate(
        zip(
            t_prev.unsqueeze(2).unbind(1),
            t_next.unsqueeze(2).unbind(1),
            inp.currents[order, :steps].unbind(1),
            strict=True,
        )
    ):
        rows = n_active[k]
        if rows < phi.shape[0]:
            finished.append(phi[rows:])
            phi = phi[:rows]
        phi, t_spike = _event_step(phi, t0[:rows], t1[:rows], current[:rows], p)
        spikes.append(t_spike)
    phi = torch.cat([phi, *reversed(finished)], 0)
    # the last event of each sample, then free evolution to the end of the trial
    last_index = (sorted_counts - 1).clamp(min=0).unsqueeze(1)
    last = torch.where(sorted_counts.unsqueeze(1) > 0, t_next.gather(1, last_index), 0.0)
    phi, t_end_spike = _advance(phi, last, torch.full_like(last, t_end), period)
    # the spike rows of step k belong to the first n_k samples of the sorted order
    row_sample = torch.cat([order[:rows] for rows in n_active] + [order])
    values = torch.cat([*spikes, t_end_spike], 0)
    inverse = torch.argsort(order)
    return LayerResult(*_sparse_spikes(values, row_sample), phi[inverse], inp)


@dataclass
class NetworkResult:
    """A trial of the whole network: one :class:`LayerResult` per layer (hidden..., output)."""

    layers: list[LayerResult]

    @property
    def output_first_spike(self) -> Tensor:
        """Earliest ordinary output spike (B, n_out); ``inf`` where an output stayed silent."""
        return self.layers[-1].first_spike

    @property
    def final_phases(self) -> list[Tensor]:
        """φ(T) of every layer."""
        return [layer.final_phase for layer in self.layers]


def simulate_network(
    first_input: LayerInput,
    weights: list[Tensor],
    phi0: list[Tensor],
    t_end: float,
    p: ThetaParams,
    max_events: int,
) -> NetworkResult:
    """Simulate a feed-forward network layer by layer.

    ``first_input`` holds the events reaching the first layer (built with ``weights[0]``);
    ``weights[l]`` (n_l, n_{l-1}) for l >= 1 connect layer l−1 to layer l; ``phi0[l]`` are the
    initial phases of layer l. Raises :class:`~neuroplastic.spiking.events.EventBudgetError`
    when a layer would receive more than ``max_events`` spikes in a sample.
    """
    if len(phi0) != len(weights):
        raise ShapeError(f"{len(weights)} weight matrices but {len(phi0)} initial-phase vectors")
    if first_input.times.shape[1] > max_events:
        raise EventBudgetError(
            f"the input has {first_input.times.shape[1]} events per sample but the event "
            f"budget is max_events={max_events}; raise max_events"
        )
    layers = [run_layer(phi0[0], first_input, t_end, p)]
    for index in range(1, len(weights)):
        below = layers[-1]
        inp = sparse_spike_input(
            below.times,
            below.sample,
            below.neuron,
            below.final_phase.shape[0],
            weights[index],
            max_events,
            what=f"layer {index + 1}",
        )
        layers.append(run_layer(phi0[index], inp, t_end, p))
    return NetworkResult(layers)
