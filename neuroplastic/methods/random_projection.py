"""Local baseline: a fixed random projection with a delta-rule readout.

The hidden layers keep their random initial weights (they exist and count as synapses but are
never updated); only the readout learns, by the delta rule on one-hot targets
(:mod:`neuroplastic.rules.delta`). No gradient is propagated anywhere.
"""

from __future__ import annotations

import itertools
from typing import Literal

import torch
from pydantic import Field
from torch import Tensor

from neuroplastic.methods.base import BuildContext, Learner, TrainingParams, one_hot
from neuroplastic.methods.registry import register_method
from neuroplastic.models.layers import DenseLayer, activation, layer_synapses
from neuroplastic.rules.delta import DeltaRuleParams, delta_rule
from neuroplastic.synapses import Synapses


class RandomProjectionParams(TrainingParams):
    """Random hidden layers (fixed) and a delta-rule readout."""

    epochs: int = Field(5, ge=1, le=10_000, description="passes over the training set")
    batch_size: int = Field(20, ge=1, le=100_000, description="samples per update")
    eta: float = Field(0.02, gt=0, le=10, description="delta-rule learning rate η")
    activation: Literal["relu", "leaky_relu", "sigmoid", "tanh"] = Field(
        "relu", description="hidden-unit nonlinearity"
    )
    projection_std: float | None = Field(
        None, gt=0, le=10, description="N(0, std) projection weights; None = U(±1/√n_in)"
    )


class RandomProjectionLearner(Learner):
    """Fixed random feature layers + delta-rule readout."""

    def __init__(self, ctx: BuildContext, p: RandomProjectionParams) -> None:
        super().__init__()
        self.ledger = ctx.ledger
        self.rule = DeltaRuleParams(eta=p.eta)
        self.n_classes = ctx.n_classes
        self.act = activation(p.activation)
        sizes = [ctx.n_features, *ctx.hidden]
        self.hidden = torch.nn.ModuleList(
            DenseLayer(
                f"fc{i + 1}",
                n_in,
                n_out,
                ledger=ctx.ledger,
                init_std=p.projection_std,
                generator=ctx.generator,
            )
            for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes))
        )
        self.readout = DenseLayer(
            f"fc{len(sizes)}", sizes[-1], ctx.n_classes, ledger=ctx.ledger, generator=ctx.generator
        )
        self._sizes = [*sizes, ctx.n_classes]

    def features(self, x: Tensor) -> Tensor:
        """Activity of the last random layer."""
        for layer in self.hidden:
            x = self.act(layer(x))
        return x

    @torch.no_grad()
    def train_step(self, x: Tensor, y: Tensor) -> None:
        h = self.features(x)
        out = self.readout(h)
        dw, db = delta_rule(h, out, one_hot(y, self.n_classes, out.dtype), self.rule)
        self.readout.weight.apply(dw)
        if self.readout.bias is not None:
            self.readout.bias.apply(db)

    @torch.no_grad()
    def hidden_code(self, x: Tensor) -> Tensor:
        """Activity of the last random layer."""
        return self.features(x)

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        return self.readout(self.features(x))

    def synapses(self) -> list[Synapses]:
        return layer_synapses([*self.hidden, self.readout])

    @property
    def architecture(self) -> str:
        return "-".join(str(s) for s in self._sizes)


@register_method(
    "random-projection",
    RandomProjectionParams,
    "fixed random hidden layer, delta-rule (local) readout",
)
def build_random_projection(ctx: BuildContext, p: RandomProjectionParams) -> Learner:
    """Build the random-projection baseline."""
    return RandomProjectionLearner(ctx, p)
