"""Feedback alignment (Lillicrap, Cownden, Tweed & Akerman, Nat. Commun. 7:13276, 2016).

An MLP ``h_l = f(a_l)``, ``a_l = h_{l−1} W_lᵀ + b_l`` with a softmax cross-entropy output.
The output error ``e = softmax(a_L) − t`` is sent back to the hidden layers through *fixed random*
matrices B_l (n_{l+1} × n_l, never learned) instead of the transposed forward weights::

    δ_L = e,   δ_l = (δ_{l+1} B_{l+1}) ⊙ f'(a_l)
    ΔW_l = −η δ_lᵀ h_{l−1} / B_size,   Δb_l = −η mean_b δ_l

Each update uses only the pre-synaptic activity and a locally available error signal, but that
signal is a broadcast of the output error: non-local-but-plausible. The forward weights come to
align with Bᵀ, so the updates approach the gradient. Lillicrap et al. report about 97.9 %
on 784-1000-10 (REPRODUCING.md has ours). Every write goes through ``Synapses.apply``; no autograd
graph is built.
"""

from __future__ import annotations

import itertools
import math
from typing import ClassVar, Literal, cast

import torch
from pydantic import Field
from torch import Tensor

from neuroplastic.methods.base import BuildContext, Learner, LearnerTags, TrainingParams, one_hot
from neuroplastic.methods.registry import register_method
from neuroplastic.models.layers import DenseLayer, chain_roles, layer_synapses
from neuroplastic.roles import SynapseRole
from neuroplastic.synapses import Synapses

_DERIVATIVES = {
    "relu": (torch.relu, lambda a, h: (a > 0).to(a.dtype)),
    "tanh": (torch.tanh, lambda a, h: 1 - h * h),
    "sigmoid": (torch.sigmoid, lambda a, h: h * (1 - h)),
}


class FeedbackAlignmentParams(TrainingParams):
    """Feedback alignment on an MLP with the comparison's hidden widths."""

    epochs: int = Field(20, ge=1, le=10_000, description="passes over the training set")
    batch_size: int = Field(20, ge=1, le=100_000, description="samples per update")
    lr: float = Field(0.05, gt=0, le=10, description="learning rate η per batch")
    activation: Literal["relu", "tanh", "sigmoid"] = Field(
        "tanh", description="hidden-unit nonlinearity"
    )


class FeedbackAlignmentLearner(Learner):
    """MLP trained with fixed random feedback matrices instead of Wᵀ."""

    tags: ClassVar[LearnerTags] = {"no_autograd": True}

    def __init__(self, ctx: BuildContext, p: FeedbackAlignmentParams) -> None:
        super().__init__()
        self.p = p
        self.ledger = ctx.ledger
        self.n_classes = ctx.n_classes
        self.act, self.deriv = _DERIVATIVES[p.activation]
        sizes = [ctx.n_features, *ctx.hidden, ctx.n_classes]
        self.layers = torch.nn.ModuleList(
            DenseLayer(f"fc{i + 1}", n_in, n_out, ledger=ctx.ledger, generator=ctx.generator)
            for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes))
        )
        # fixed feedback B_l (n_out × n_in of layer l), l >= 2: U(±1/√n_out), not synapses
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            if i == 0:
                continue
            bound = 1.0 / math.sqrt(n_out)
            feedback = (torch.rand(n_out, n_in, generator=ctx.generator) * 2 - 1) * bound
            self.register_buffer(f"feedback{i + 1}", feedback)
        self._sizes = sizes

    def _forward(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        pre, post = [], [x]
        h = x
        for i, layer in enumerate(self.layers):
            a = layer(h)
            pre.append(a)
            h = a if i == len(self.layers) - 1 else self.act(a)
            post.append(h)
        return pre, post

    @torch.no_grad()
    def train_step(self, x: Tensor, y: Tensor) -> None:
        pre, post = self._forward(x)
        delta = torch.softmax(pre[-1], dim=1) - one_hot(y, self.n_classes, x.dtype)
        # the error it feeds back is the gradient of the cross-entropy, its objective
        self.report_objective(torch.nn.functional.cross_entropy(pre[-1], y))
        batch = x.shape[0]
        updates = []
        for i in range(len(self.layers) - 1, -1, -1):
            updates.append((i, -self.p.lr * delta.T @ post[i] / batch, -self.p.lr * delta.mean(0)))
            if i > 0:
                feedback: Tensor = getattr(self, f"feedback{i + 1}")
                delta = (delta @ feedback) * self.deriv(pre[i - 1], post[i])
        for i, dw, db in updates:
            layer: DenseLayer = self.layers[i]  # type: ignore[assignment]
            layer.weight.apply(dw)
            if layer.bias is not None:
                layer.bias.apply(db)

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        return self._forward(x)[0][-1]

    @torch.no_grad()
    def hidden_code(self, x: Tensor) -> Tensor:
        return self._forward(x)[1][-2]

    def synapses(self) -> list[Synapses]:
        return layer_synapses(self.layers)

    def synapse_roles(self) -> list[SynapseRole]:
        return chain_roles([cast(DenseLayer, layer) for layer in self.layers])

    @property
    def architecture(self) -> str:
        return "-".join(str(s) for s in self._sizes)


@register_method(
    "feedback-alignment",
    FeedbackAlignmentParams,
    "MLP trained by feedback alignment (fixed random feedback, Lillicrap et al. 2016)",
    in_default_comparison=False,
)
def build_feedback_alignment(ctx: BuildContext, p: FeedbackAlignmentParams) -> Learner:
    """Build the feedback-alignment MLP."""
    return FeedbackAlignmentLearner(ctx, p)
