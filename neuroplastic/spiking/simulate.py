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

    Samples with fewer events than the batch's maximum take their padding steps at ``t_end``
    with zero kicks (``H(φ, 0) = φ``), so every step is the same tensor program.
    """
    period = p.period
    if not t_end < period:
        raise ParameterError(f"trial length T={t_end} must be shorter than the period Θ={period}")
    batch, m = inp.times.shape
    n = inp.currents.shape[2]
    if phi0.shape[-1] != n:
        raise ShapeError(f"initial phases have {phi0.shape[-1]} neurons, input currents {n}")
    phi = phi0.expand(batch, n)
    valid = inp.times < t_end
    steps = int(valid.sum(1).max()) if batch and m else 0
    # everything per event is prepared at once; the loop only runs the step. Unbinding (rather
    # than indexing [:, k] in the loop) keeps the backward pass linear in the number of steps.
    t_next = inp.times[:, :steps].clamp(max=t_end)
    t_prev = torch.cat([torch.zeros_like(t_next[:, :1]), t_next[:, :-1]], 1)
    currents = inp.currents[:, :steps] * valid[:, :steps].unsqueeze(2)
    spikes: list[Tensor] = []
    for t0, t1, current in zip(
        t_prev.unsqueeze(2).unbind(1),
        t_next.unsqueeze(2).unbind(1),
        currents.unbind(1),
        strict=True,
    ):
        phi, t_spike = _event_step(phi, t0, t1, current, p)
        spikes.append(t_spike)
    last = t_next[:, -1:] if steps else torch.zeros(batch, 1, dtype=phi.dtype, device=phi.device)
    phi, t_spike = _advance(phi, last, torch.full_like(last, t_end), period)
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
