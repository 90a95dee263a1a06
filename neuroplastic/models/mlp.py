"""Multi-layer perceptron made of :class:`~neuroplastic.models.layers.DenseLayer` s."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Literal, cast

import torch
from torch import Tensor, nn

from neuroplastic.energy.ledger import Ledger
from neuroplastic.errors import ParameterError
from neuroplastic.models.layers import DenseLayer, activation, chain_roles, layer_synapses
from neuroplastic.roles import SynapseRole
from neuroplastic.synapses import Synapses


class MLP(nn.Module):
    """``sizes = [n_in, h1, ..., n_out]``; hidden layers use ``activation``, the output is linear.

    Layers are named ``fc1``, ``fc2``, ...; each has ``.weight`` and ``.bias`` synapse groups.
    ``sign`` constrains every weight matrix (+1: all weights ``>= 0``, as in non-negative
    backprop; −1: all ``<= 0``; None: free) and ``bias_sign`` every bias vector (default
    ``"same"`` as ``sign``; None leaves biases free). Constrained initial values are
    ``|w|·sign`` (see :class:`~neuroplastic.models.layers.DenseLayer`).
    ``masks`` gives each layer's existence mask (``n_out × n_in`` bool, or None: dense), e.g. the
    random sparse connectivity of SET (:mod:`neuroplastic.methods.set_sparse`).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        ledger: Ledger | None,
        activation_name: str = "relu",
        bias: bool = True,
        init_std: float | None = None,
        generator: torch.Generator | None = None,
        requires_grad: bool = True,
        sign: int | None = None,
        bias_sign: int | Literal["same"] | None = "same",
        masks: Sequence[Tensor | None] | None = None,
    ) -> None:
        super().__init__()
        if len(sizes) < 2:
            raise ParameterError(f"an MLP needs at least input and output sizes (got {sizes})")
        self.sizes = [int(s) for s in sizes]
        if masks is not None and len(masks) != len(self.sizes) - 1:
            raise ParameterError(
                f"masks: one per layer ({len(self.sizes) - 1}) expected, got {len(masks)}"
            )
        layer_masks = list(masks) if masks is not None else [None] * (len(self.sizes) - 1)
        self.act = activation(activation_name)
        self.layers = nn.ModuleList(
            DenseLayer(
                f"fc{i + 1}",
                n_in,
                n_out,
                ledger=ledger,
                bias=bias,
                init_std=init_std,
                generator=generator,
                requires_grad=requires_grad,
                sign=sign,
                bias_sign=bias_sign,
                mask=layer_masks[i],
            )
            for i, (n_in, n_out) in enumerate(itertools.pairwise(self.sizes))
        )

    def forward(self, x: Tensor) -> Tensor:
        *hidden, last = self.layers
        for layer in hidden:
            x = self.act(layer(x))
        out: Tensor = last(x)
        return out

    def synapses(self) -> list[Synapses]:
        """Every synapse group, input layer first."""
        return layer_synapses(self.layers)

    def synapse_roles(self) -> list[SynapseRole]:
        """Declared roles: ``fc1`` is the input layer (input → hidden1), the last the output."""
        return chain_roles([cast(DenseLayer, layer) for layer in self.layers])

    @property
    def architecture(self) -> str:
        """E.g. ``'784-1000-10'``."""
        return "-".join(str(s) for s in self.sizes)
