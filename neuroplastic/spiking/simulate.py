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
from neuroplastic.spiking.events import EventBudgetError, LayerInput, spike_train_input
from neuroplastic.spiking.theta import ThetaParams, transfer


@dataclass
class LayerResult:
    """One layer's trial: ``spike_times`` (B, S, n) with ``inf`` padding (S = steps + 1),
    ``final_phase`` φ(T) (B, n), and the input it received."""

    spike_times: Tensor
    final_phase: Tensor
    received: LayerInput

    @property
    def spike_counts(self) -> Tensor:
        """Spikes per sample and neuron (B, n), int64."""
        return torch.isfinite(self.spike_times).sum(1)

    @property
    def first_spike(self) -> Tensor:
        """Earliest spike per sample and neuron (B, n); ``inf`` for silent neurons."""
        return self.spike_times.amin(1)


def _advance(
    phi: Tensor, t_prev: Tensor, t_next: Tensor, period: float, *, final: bool = False
) -> tuple[Tensor, Tensor]:
    """Free evolution from t_prev to t_next (B,): new phases and spike times (inf = none).

    A neuron spikes at ``t_s = t_prev + Θ − φ`` if ``t_s <= t_next`` (before a kick arriving at
    t_next), or ``t_s < T`` for the last stretch to the trial end (``final``): a spike exactly at
    T belongs to the pseudospike side, where φ(T) = Θ.
    """
    t_spike = t_prev.unsqueeze(1) + (period - phi)
    t_next2 = t_next.unsqueeze(1)
    spike = t_spike < t_next2 if final else t_spike <= t_next2
    adv = phi + (t_next - t_prev).unsqueeze(1)
    new = torch.where(spike, (adv - period).clamp_min(0.0), adv.clamp_max(period))
    return new, torch.where(spike, t_spike, math.inf)


def run_layer(phi0: Tensor, inp: LayerInput, t_end: float, p: ThetaParams) -> LayerResult:
    """Simulate one layer over [0, t_end] given its input events (see module docstring).

    ``phi0`` is (n,) or (B, n) initial phases in [0, Θ]; events at or after ``t_end`` are
    ignored. Requires ``t_end < Θ`` (at most one free spike between events).
    """
    period = p.period
    if not t_end < period:
        raise ParameterError(f"trial length T={t_end} must be shorter than the period Θ={period}")
    batch, m = inp.times.shape
    n = inp.currents.shape[2]
    if phi0.shape[-1] != n:
        raise ShapeError(f"initial phases have {phi0.shape[-1]} neurons, input currents {n}")
    phi = phi0.expand(batch, n)
    dtype, device = inp.currents.dtype, inp.currents.device
    t_prev = torch.zeros(batch, dtype=dtype, device=device)
    valid_all = inp.times < t_end
    steps = int(valid_all.sum(1).max()) if batch and m else 0
    spikes: list[Tensor] = []
    for k in range(steps):
        valid = valid_all[:, k]
        t_next = torch.where(valid, inp.times[:, k], t_prev)
        phi, t_spike = _advance(phi, t_prev, t_next, period)
        spikes.append(t_spike)
        phi = torch.where(valid.unsqueeze(1), transfer(phi, inp.currents[:, k], p), phi)
        t_prev = t_next
    phi, t_spike = _advance(phi, t_prev, torch.full_like(t_prev, t_end), period, final=True)
    spikes.append(t_spike)
    return LayerResult(torch.stack(spikes, 1), phi, inp)


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
        inp = spike_train_input(
            layers[-1].spike_times.transpose(1, 2),
            weights[index],
            max_events,
            what=f"layer {index + 1}",
        )
        layers.append(run_layer(phi0[index], inp, t_end, p))
    return NetworkResult(layers)
