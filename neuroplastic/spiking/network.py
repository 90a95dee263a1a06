"""A feed-forward theta-neuron network whose weights and initial phases are ``Synapses``.

Weights ``fc{l}.weight`` (n_l, n_{l−1}), uniform in ±0.5/sqrt(fan_in); initial phases
``phase{l}`` (n_l,), Θ/2 by default, trainable and kept in [0, Θ] (the lower bound by the
Dale-sign mechanism of ``Synapses``, the upper by the update itself, see
:meth:`ThetaNetwork.clip_phase_step`). Both kinds are updated only through ``Synapses.apply``.

``forward`` returns the output times that the loss and the prediction use; the full
:class:`~neuroplastic.spiking.simulate.NetworkResult` is kept in ``last_trial`` for statistics.
When a SynOps counter is open (:func:`neuroplastic.energy.synops.count_synops`), the forward
pass reports its synaptic events: each spike reaching a layer costs one accumulate per synapse
of its fan-out (effective), against one per synapse of the network per sample (dense).
"""

from __future__ import annotations

import itertools
import math
from typing import cast

import torch
from torch import Tensor, nn

from neuroplastic.energy.ledger import Ledger
from neuroplastic.energy.synops import active_counter
from neuroplastic.errors import ParameterError
from neuroplastic.roles import SynapseRole, feedforward_populations
from neuroplastic.spiking.encoding import input_spike_time
from neuroplastic.spiking.events import volley_input
from neuroplastic.spiking.pseudospikes import output_times, pseudospike_times
from neuroplastic.spiking.simulate import NetworkResult, simulate_network
from neuroplastic.spiking.theta import ThetaParams
from neuroplastic.synapses import Synapses


class ThetaNetwork(nn.Module):
    """Feed-forward theta network ``sizes[0] - sizes[1] - ... - sizes[-1]`` (input first)."""

    def __init__(
        self,
        sizes: list[int],
        *,
        neuron: ThetaParams,
        t_end: float,
        max_events: int,
        ledger: Ledger | None,
        generator: torch.Generator | None = None,
        init_scale: float = 0.5,
        phase_init: float = 0.5,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        if len(sizes) < 2 or any(n < 1 for n in sizes):
            raise ParameterError(f"layer sizes must be >= 1 and at least two (got {sizes})")
        self.sizes = list(sizes)
        self.neuron = neuron
        self.t_end = float(t_end)
        self.max_events = int(max_events)
        period = neuron.period
        if not self.t_end < period:
            raise ParameterError(f"trial length T={t_end} must be shorter than Θ={period:.4g}")
        self.weights = nn.ModuleList()
        self.phases = nn.ModuleList()
        for index, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            bound = init_scale / math.sqrt(n_in)
            w = (torch.rand(n_out, n_in, generator=generator, dtype=dtype) * 2 - 1) * bound
            self.weights.append(
                Synapses(f"fc{index + 1}.weight", w, ledger=ledger, requires_grad=True)
            )
            phi = torch.full((n_out,), phase_init * period, dtype=dtype)
            self.phases.append(
                Synapses(f"phase{index + 1}", phi, sign=1, ledger=ledger, requires_grad=True)
            )
        self.weight_groups: list[Synapses] = [cast(Synapses, m) for m in self.weights]
        self.phase_groups: list[Synapses] = [cast(Synapses, m) for m in self.phases]
        self.last_trial: NetworkResult | None = None

    @property
    def architecture(self) -> str:
        """E.g. ``'784-100-100-10'``."""
        return "-".join(str(n) for n in self.sizes)

    def synapse_groups(self) -> list[Synapses]:
        """Weights first (input weights at index 0), then the initial phases."""
        return [*self.weight_groups, *self.phase_groups]

    def synapse_roles(self) -> list[SynapseRole]:
        """Declared roles: layer i's weights (pre → post) and its neurons' initial phases
        (one per post neuron, like a bias), in the layer's position."""
        chain = feedforward_populations(len(self.weight_groups))
        weights = [
            SynapseRole(w.name, "weight", position, pre, post)
            for w, (pre, post, position) in zip(self.weight_groups, chain, strict=True)
        ]
        phases = [
            SynapseRole(ph.name, "phase", position, pre, post)
            for ph, (pre, post, position) in zip(self.phase_groups, chain, strict=True)
        ]
        return [*weights, *phases]

    def simulate(self, active: Tensor) -> NetworkResult:
        """One trial per sample for binary inputs ``active`` (B, n_in): spikes at t_in."""
        weights: list[Tensor] = [s.w for s in self.weight_groups]
        phases: list[Tensor] = [s.w for s in self.phase_groups]
        first = volley_input(active, input_spike_time(self.t_end), weights[0])
        return simulate_network(first, weights, phases, self.t_end, self.neuron, self.max_events)

    def output_times(self, trial: NetworkResult, pseudo: bool = True) -> Tensor:
        """First output spike times (B, n_out), with pseudospikes for silent outputs if asked."""
        first = trial.output_first_spike
        if not pseudo:
            return first
        weights: list[Tensor] = [s.w for s in self.weight_groups]
        return output_times(
            first, pseudospike_times(trial.final_phases, weights, self.t_end, self.neuron)
        )

    def forward(self, active: Tensor) -> Tensor:
        """Output times with pseudospikes (B, n_out); reports synaptic events if counting."""
        trial = self.simulate(active)
        self.last_trial = trial
        counter = active_counter()
        if counter is not None:
            counter.add_events(
                dense=float(active.shape[0] * sum(s.n_total for s in self.weight_groups)),
                effective=float(synaptic_events(trial, self.sizes).sum()),
            )
        return self.output_times(trial)

    @torch.no_grad()
    def clip_phase_step(self, group: Synapses, step: Tensor) -> Tensor:
        """The step ``Δφ`` that keeps ``φ + Δφ`` inside [0, Θ] (what ``apply`` will write)."""
        phi = group.w.detach()
        return (phi + step).clamp(0.0, self.neuron.period) - phi


def synaptic_events(trial: NetworkResult, sizes: list[int]) -> Tensor:
    """Synaptic events per sample (B,): Σ_l (spikes reaching layer l) × n_l."""
    total = torch.zeros(trial.layers[0].received.counts.shape[0], dtype=torch.float64)
    for layer, n in zip(trial.layers, sizes[1:], strict=True):
        total = total + layer.received.counts.double().cpu() * n
    return total
