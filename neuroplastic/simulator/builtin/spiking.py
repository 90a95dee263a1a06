"""The spiking network (theta neurons, exact spike-time gradients) learning, spike by spike.

The ``spiking-exact`` method as a :class:`MethodSimulation`: each step trains one batch; the
displays show the first validation sample's spike raster (input volley at t_in, hidden layers
stacked) and the first spike time of each output neuron (the earliest one is the answer;
pseudospike times of silent outputs in the second series).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from neuroplastic.simulator.builtin.methods import MethodSimulation
from neuroplastic.simulator.core import PlotDisplay, TextDisplay
from neuroplastic.simulator.registry import register_simulation

__all__ = ["SpikingSimulation"]


@register_simulation
class SpikingSimulation(MethodSimulation):
    """Theta-neuron network: raster and output spike times of one sample while it learns."""

    name = "spiking"
    title = "Spiking network (raster, output spike times)"
    summary = "784-100-100-10 theta neurons trained by exact gradients of spike times"
    method = "spiking-exact"
    initial_values: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "method": {"batch_size": 20},
        "session": {"train_samples": 1000, "val_samples": 100, "eval_every": 10},
    }
    displays = (
        PlotDisplay(
            "raster",
            x="t",
            y=("neuron",),
            title="spike raster of one sample",
            x_label="time",
            y_label="neuron (hidden layers stacked)",
            lines=False,
        ),
        PlotDisplay(
            "output",
            x="digit",
            y=("first_spike", "pseudospike"),
            title="output spike times (earliest wins)",
            x_label="output neuron",
            y_label="first spike time",
            lines=False,
        ),
        MethodSimulation.displays[1],
        TextDisplay("status", "status"),
    )

    def _show_fields(self) -> None:  # no receptive-field grid: show spikes instead
        from neuroplastic.spiking.encoding import binarise

        net: Any = self.learner.network
        x = self.data.val.x[:1]
        with torch.no_grad():
            trial = net.simulate(binarise(x))
            pseudo = net.output_times(trial, pseudo=True)[0]
        t, neuron, offset = [], [], 0
        for layer, size in zip(trial.layers[:-1], net.sizes[1:-1], strict=True):
            t += layer.times.detach().tolist()
            neuron += (layer.neuron + offset).tolist()
            offset += size
        self.show("raster", {"t": t, "neuron": neuron})
        first = trial.output_first_spike[0]
        digits = list(range(first.numel()))
        finite = torch.isfinite(first)
        self.show(
            "output",
            {
                "digit": digits,
                "first_spike": torch.where(finite, first, torch.nan).tolist(),
                "pseudospike": torch.where(finite, torch.nan, pseudo).tolist(),
            },
        )
