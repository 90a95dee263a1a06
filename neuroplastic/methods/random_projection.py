"""Local baseline: a fixed random projection with a delta-rule readout.

The hidden layers keep their random initial weights (they exist and count as synapses but are
never updated); only the readout learns, by the delta rule on one-hot targets
(:mod:`neuroplastic.rules.delta`; ``readout = "delta"``, the default), or by the delta rule with
a softmax output stepped per synapse by Adam on the code divided by its running RMS
(``readout = "adam"``, the readout of the unsupervised local rules in
:mod:`neuroplastic.methods.local_rules`, so the control is read out as they are). No gradient
is propagated anywhere.

Two forms of the first projection: dense (every input pixel reaches every hidden unit; U(±1/√n_in)
or N(0, std²)), and *localised receptive fields* (``receptive_field = s``; Illing, Gerstner &
Brea, Neural Networks 118:90, 2019): each hidden unit sees one random s × s patch of the square
input image (top-left corner uniform over the valid positions), weights N(0, (1/s)²) (or
``projection_std``) inside the patch and no synapse outside it (the mask), so the layer has
n_hidden · s² input synapses instead of n_hidden · n_in.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar, Literal

import torch
from pydantic import Field
from torch import Tensor

from neuroplastic.errors import ParameterError
from neuroplastic.methods.base import BuildContext, Learner, LearnerTags, TrainingParams, one_hot
from neuroplastic.methods.registry import register_method
from neuroplastic.models.layers import DenseLayer, activation, chain_roles, layer_synapses
from neuroplastic.roles import SynapseRole
from neuroplastic.rules.delta import DeltaRuleParams, delta_rule, softmax_delta
from neuroplastic.rules.optimizers import AdamParams, Optimizer
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
    receptive_field: int | None = Field(
        None,
        ge=1,
        le=1000,
        description="side s of a random s×s input patch per hidden unit (pixels); None = dense",
    )
    readout: Literal["delta", "adam"] = Field(
        "delta", description="delta (LMS, rate eta) or adam (softmax delta rule, Adam steps)"
    )
    lr_readout: float = Field(1e-3, gt=0, le=1, description="Adam step of the adam readout (1)")


def receptive_field_mask(n_out: int, n_in: int, side: int, g: torch.Generator | None) -> Tensor:
    """Boolean (n_out, n_in) mask: one random ``side`` × ``side`` patch of the square image each."""
    image = math.isqrt(n_in)
    if image * image != n_in:
        raise ParameterError(
            f"random-projection: receptive_field needs a square input image (got {n_in} features)"
        )
    if side > image:
        raise ParameterError(
            f"random-projection: parameter 'receptive_field' = {side} exceeds the image "
            f"side {image}"
        )
    rows = torch.randint(0, image - side + 1, (n_out,), generator=g)
    cols = torch.randint(0, image - side + 1, (n_out,), generator=g)
    r = torch.arange(image)
    in_rows = (r[None, :] >= rows[:, None]) & (r[None, :] < rows[:, None] + side)
    in_cols = (r[None, :] >= cols[:, None]) & (r[None, :] < cols[:, None] + side)
    return (in_rows[:, :, None] & in_cols[:, None, :]).reshape(n_out, n_in)


class RandomProjectionLearner(Learner):
    """Fixed random feature layers + delta-rule readout."""

    tags: ClassVar[LearnerTags] = {"local": True}
    objective_name: ClassVar[str] = "readout_sq_error"  # the delta rule minimises ½‖t − y‖²
    h_rms: Tensor
    batches: Tensor

    def __init__(self, ctx: BuildContext, p: RandomProjectionParams) -> None:
        super().__init__()
        self.p = p
        self.optimizer = Optimizer("adam", AdamParams(lr=p.lr_readout))
        self.register_buffer("h_rms", torch.ones(()))
        self.register_buffer("batches", torch.zeros((), dtype=torch.int64))
        self.ledger = ctx.ledger
        self.rule = DeltaRuleParams(eta=p.eta)
        self.n_classes = ctx.n_classes
        self.act = activation(p.activation)
        sizes = [ctx.n_features, *ctx.hidden]
        layers = []
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            mask, std = None, p.projection_std
            if i == 0 and p.receptive_field is not None:
                mask = receptive_field_mask(n_out, n_in, p.receptive_field, ctx.generator)
                std = std or 1.0 / p.receptive_field
            layers.append(
                DenseLayer(
                    f"fc{i + 1}",
                    n_in,
                    n_out,
                    ledger=ctx.ledger,
                    init_std=std,
                    generator=ctx.generator,
                    mask=mask,
                )
            )
        self.hidden = torch.nn.ModuleList(layers)
        self.readout = DenseLayer(
            f"fc{len(sizes)}", sizes[-1], ctx.n_classes, ledger=ctx.ledger, generator=ctx.generator
        )
        self._sizes = [*sizes, ctx.n_classes]

    def features(self, x: Tensor) -> Tensor:
        """Activity of the last random layer."""
        for layer in self.hidden:
            x = self.act(layer(x))
        return x

    def readout_input(self, h: Tensor) -> Tensor:
        """h / running RMS for the adam readout, h for the delta rule."""
        return h / self.h_rms if self.p.readout == "adam" else h

    @torch.no_grad()
    def train_step(self, x: Tensor, y: Tensor) -> None:
        h = self.features(x)
        if self.p.readout == "adam":
            self.batches.add_(1)
            peak = h.abs().max().clamp(min=1e-30)
            rms = (h / peak).square().mean().sqrt() * peak
            self.h_rms.lerp_(rms, max(0.01, 1.0 / float(self.batches)))
            h = h / self.h_rms
            out = self.readout(h)
            target = one_hot(y, self.n_classes, out.dtype)  # logged: ½‖t − softmax(out)‖²
            self.report_objective(0.5 * (target - torch.softmax(out, 1)).square().sum(1).mean())
            gw, gb = softmax_delta(h, out, target)
            lr, weight, bias = self.optimizer.lr, self.readout.weight, self.readout.bias
            weight.apply(self.optimizer.direction("readout.w", gw, weight.w.detach()), alpha=-lr)
            if bias is not None:
                bias.apply(self.optimizer.direction("readout.b", gb, bias.w.detach()), alpha=-lr)
            return
        out = self.readout(h)
        target = one_hot(y, self.n_classes, out.dtype)
        self.report_objective(0.5 * (target - out).square().sum(1).mean())
        dw, db = delta_rule(h, out, target, self.rule)
        self.readout.weight.apply(dw)
        if self.readout.bias is not None:
            self.readout.bias.apply(db)

    @torch.no_grad()
    def hidden_code(self, x: Tensor) -> Tensor:
        """Activity of the last random layer."""
        return self.features(x)

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        return self.readout(self.readout_input(self.features(x)))

    def synapses(self) -> list[Synapses]:
        return layer_synapses([*self.hidden, self.readout])

    def synapse_roles(self) -> list[SynapseRole]:
        return chain_roles([*self.hidden, self.readout])

    @property
    def architecture(self) -> str:
        return "-".join(str(s) for s in self._sizes)

    def learner_state(self) -> dict[str, Any]:
        return self.optimizer.state_dict() if self.p.readout == "adam" else {}

    def load_learner_state(self, state: dict[str, Any]) -> None:
        if state:
            self.optimizer.load_state_dict(state)


@register_method(
    "random-projection",
    RandomProjectionParams,
    "fixed random hidden layer, delta-rule (local) readout",
)
def build_random_projection(ctx: BuildContext, p: RandomProjectionParams) -> Learner:
    """Build the random-projection baseline."""
    return RandomProjectionLearner(ctx, p)
