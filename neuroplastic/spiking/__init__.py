"""Spiking networks of theta neurons with smooth exact gradients (Klos & Memmesheimer 2025).

- :mod:`~neuroplastic.spiking.theta`: the neuron in phase form (Φ, Φ⁻¹, H, Θ);
- :mod:`~neuroplastic.spiking.events`: a layer's input events (times and kicks);
- :mod:`~neuroplastic.spiking.simulate`: the batched event-driven simulation;
- :mod:`~neuroplastic.spiking.pseudospikes`: pseudospike times of silent outputs;
- :mod:`~neuroplastic.spiking.loss`: the paper's loss and the earliest-spike prediction;
- :mod:`~neuroplastic.spiking.encoding`: MNIST pixels to input spikes;
- :mod:`~neuroplastic.spiking.network`: the network as ``Synapses`` (weights, initial phases).
"""

from neuroplastic.spiking.events import EventBudgetError, LayerInput
from neuroplastic.spiking.network import ThetaNetwork, synaptic_events
from neuroplastic.spiking.simulate import NetworkResult, simulate_network
from neuroplastic.spiking.theta import ThetaParams, phi_of_v, theta_period, transfer, v_of_phi

__all__ = [
    "EventBudgetError",
    "LayerInput",
    "NetworkResult",
    "ThetaNetwork",
    "ThetaParams",
    "phi_of_v",
    "simulate_network",
    "synaptic_events",
    "theta_period",
    "transfer",
    "v_of_phi",
]
