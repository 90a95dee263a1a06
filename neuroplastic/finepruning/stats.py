"""Usage statistics of every unit, collected with forward hooks on unlabelled data only.

For every prunable layer (see :mod:`neuroplastic.finepruning.door`) a forward pre-hook sees the
layer's input ``x`` and accumulates, per input unit j (a feature of a linear layer, a channel of
a convolution, averaged over positions):

    activation_j = E|x_j|            (mean absolute input; units of the layer's input)
    frequency_j  = P(x_j ≠ 0)        (fraction of samples × positions where the unit is active)
    mean_j       = E[x_j]            (signed; used to compensate a removed synapse's mean drive)

and a forward hook on the output layer counts how often each output unit wins the arg-max
(``wins_k / n``, used to remove output units the user never needs). Nothing but forward passes
run, under ``torch.no_grad``; the number of samples forwarded is returned with the statistics.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from neuroplastic.finepruning.door import PrunableLayer, SynapticModel


@dataclass
class UnitStats:
    """Running sums for one layer's input units."""

    abs_sum: Tensor
    active: Tensor
    total: Tensor
    count: float = 0.0  # samples × positions per unit

    @property
    def mean(self) -> Tensor:
        """E[x_j] per input unit (signed; for the bias compensation)."""
        return self.total / max(self.count, 1.0)

    @property
    def activation(self) -> Tensor:
        """E|x_j| per input unit."""
        return self.abs_sum / max(self.count, 1.0)

    @property
    def frequency(self) -> Tensor:
        """P(x_j ≠ 0) per input unit."""
        return self.active / max(self.count, 1.0)


@dataclass
class UsageStats:
    """Statistics of one pass over the user's data."""

    layers: dict[str, UnitStats]
    output_wins: Tensor
    n_samples: int = 0
    forward_samples: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def output_use(self) -> Tensor:
        """Fraction of samples on which each output unit wins the arg-max."""
        return self.output_wins / max(self.n_samples, 1)


def _unit_view(layer: PrunableLayer, x: Tensor) -> Tensor:
    """The input as ``(rows, n_in)``: channels last for a convolution, features for linear."""
    if layer.is_conv:
        return x.transpose(0, 1).reshape(layer.n_in, -1).T
    return x.reshape(-1, layer.n_in)


@contextmanager
def _hooks(model: SynapticModel, stats: UsageStats) -> Iterator[None]:
    handles = []

    def make(layer: PrunableLayer) -> Any:
        def pre_hook(_module: Any, args: tuple[Any, ...]) -> None:
            rows = _unit_view(layer, args[0].detach())
            s = stats.layers[layer.name]
            s.abs_sum += rows.abs().sum(0, dtype=torch.float64)
            s.active += (rows != 0).sum(0, dtype=torch.float64)
            s.total += rows.sum(0, dtype=torch.float64)
            s.count += rows.shape[0]

        return pre_hook

    for layer in model.layers:
        handles.append(layer.module.register_forward_pre_hook(make(layer)))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


@torch.no_grad()
def collect_usage(model: SynapticModel, x: Tensor, batch_size: int = 500) -> UsageStats:
    """One forward pass over ``x`` (unlabelled) with hooks: the usage of every unit."""
    dev = model.layers[0].weight.w.device
    stats = UsageStats(
        layers={
            layer.name: UnitStats(
                torch.zeros(layer.n_in, dtype=torch.float64, device=dev),
                torch.zeros(layer.n_in, dtype=torch.float64, device=dev),
                torch.zeros(layer.n_in, dtype=torch.float64, device=dev),
            )
            for layer in model.layers
        },
        output_wins=torch.zeros(model.output_layer.n_out, dtype=torch.float64, device=dev),
    )
    with _hooks(model, stats):
        for i in range(0, x.shape[0], batch_size):
            xb = x[i : i + batch_size].to(dev)
            logits = model(xb)
            stats.output_wins += torch.bincount(
                logits.argmax(1), minlength=stats.output_wins.numel()
            ).to(torch.float64)
            stats.n_samples += xb.shape[0]
    stats.forward_samples = stats.n_samples
    return stats
