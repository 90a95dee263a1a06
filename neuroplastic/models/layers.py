"""Layers assembled from :class:`~neuroplastic.synapses.Synapses`.

A :class:`DenseLayer` computes ``y = x Wᵀ + b`` with W (n_out × n_in) and b (n_out) each held
by a ``Synapses`` group named ``<layer>.weight`` and ``<layer>.bias`` (biases count as
synapses). Forward passes report to an open SynOps counter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuroplastic.energy.ledger import Ledger
from neuroplastic.energy.synops import active_counter
from neuroplastic.errors import ParameterError, ShapeError
from neuroplastic.roles import SynapseRole, dense_layer_roles, feedforward_populations
from neuroplastic.synapses import Synapses


def uniform_fan_in(
    n_out: int, n_in: int, generator: torch.Generator | None, bias: bool
) -> tuple[Tensor, Tensor | None]:
    """PyTorch's default ``nn.Linear`` initialisation: U(−1/√n_in, 1/√n_in) for W and b."""
    bound = 1.0 / math.sqrt(n_in)
    w = (torch.rand(n_out, n_in, generator=generator) * 2 - 1) * bound
    b = (torch.rand(n_out, generator=generator) * 2 - 1) * bound if bias else None
    return w, b


def gaussian(
    n_out: int, n_in: int, generator: torch.Generator | None, bias: bool, std: float
) -> tuple[Tensor, Tensor | None]:
    """N(0, std²) for W and b (e.g. std = 0.03 in van Rossum & Pache 2024)."""
    w = torch.randn(n_out, n_in, generator=generator) * std
    b = torch.randn(n_out, generator=generator) * std if bias else None
    return w, b


class DenseLayer(nn.Module):
    """Fully connected layer ``y = x Wᵀ + b`` whose weights live in ``Synapses``.

    ``sign`` (+1, −1, 0 or None) constrains W (Dale's law, see ``Synapses``); the initial
    weights are drawn as usual and then made ``|w|·sign``. ``bias_sign`` does the same for b;
    its default ``"same"`` follows ``sign``, None leaves the biases free. ``mask`` (n_out ×
    n_in, bool) says which weights exist (e.g. localised receptive fields); None: all.
    """

    def __init__(
        self,
        name: str,
        n_in: int,
        n_out: int,
        *,
        ledger: Ledger | None,
        bias: bool = True,
        init_std: float | None = None,
        generator: torch.Generator | None = None,
        requires_grad: bool = False,
        sign: int | None = None,
        bias_sign: int | Literal["same"] | None = "same",
        mask: Tensor | None = None,
    ) -> None:
        super().__init__()
        if n_in < 1 or n_out < 1:
            raise ParameterError(f"{name}: layer sizes must be >= 1 (got {n_in} -> {n_out})")
        if init_std is None:
            w, b = uniform_fan_in(n_out, n_in, generator, bias)
        else:
            w, b = gaussian(n_out, n_in, generator, bias, init_std)
        if bias_sign == "same":
            bias_sign = sign
        if sign is not None and sign != 0:
            w = w.abs() * sign
        if b is not None and bias_sign is not None and bias_sign != 0:
            b = b.abs() * bias_sign
        self.name = name
        self.n_in, self.n_out = n_in, n_out
        self.weight = Synapses(
            f"{name}.weight", w, ledger=ledger, requires_grad=requires_grad, sign=sign, mask=mask
        )
        self.bias: Synapses | None = (
            None
            if b is None
            else Synapses(
                f"{name}.bias", b, ledger=ledger, requires_grad=requires_grad, sign=bias_sign
            )
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 2 or x.shape[1] != self.n_in:
            raise ShapeError(
                f"{self.name}: expected input of shape (batch, {self.n_in}), got {tuple(x.shape)}"
            )
        w = self.weight.w
        b = None if self.bias is None else self.bias.w
        counter = active_counter()
        if counter is not None:
            counter.add_linear(x, w, b)
        return F.linear(x, w, b)

    def synapses(self) -> list[Synapses]:
        """The weight group and, if present, the bias group."""
        return [self.weight] if self.bias is None else [self.weight, self.bias]


ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": torch.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.1),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "identity": lambda x: x,
}


def activation(name: str) -> Callable[[Tensor], Tensor]:
    """Look up an activation by name (relu, leaky_relu (slope 0.1), sigmoid, tanh, identity)."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ParameterError(
            f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}"
        ) from None


def chain_roles(layers: Sequence[DenseLayer]) -> list[SynapseRole]:
    """Declared roles of a feed-forward chain of dense layers ``input → ... → output``."""
    roles: list[SynapseRole] = []
    for layer, (pre, post, position) in zip(
        layers, feedforward_populations(len(layers)), strict=True
    ):
        bias = None if layer.bias is None else layer.bias.name
        roles += dense_layer_roles(layer.weight.name, bias, position, pre, post)
    return roles


def layer_synapses(layers: Iterable[nn.Module]) -> list[Synapses]:
    """Every synapse group of a sequence of :class:`DenseLayer` s, in order."""
    return [s for layer in layers if isinstance(layer, DenseLayer) for s in layer.synapses()]
