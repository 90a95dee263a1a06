"""Backpropagation baseline: an MLP trained by SGD or Adam, every step written through Synapses.

Loss: cross-entropy on the logits, or MSE ``mean((y − onehot)²)`` on linear outputs.
The optimizer step ``Δw = −lr · d`` (see :mod:`neuroplastic.rules.optimizers`) is applied by
``Synapses.apply``, so the ledger counts exactly what the optimizer writes.

**Non-negative backprop** (``nonneg-backprop``; Chorowski & Zurada, "Learning understandable
neural networks with nonnegative weight constraints", IEEE TNNLS 26:62, 2015) is the same
learner with every weight matrix constrained to ``w >= 0`` through the Dale-sign mechanism of
``Synapses`` (sign +1): the optimizer proposes its usual step and ``Synapses.apply`` writes
``max(w − lr·d, 0)``, i.e. projected gradient descent onto the non-negative orthant. The ledger
is charged for what is written, so a step clipped at 0 costs ``|w_old|``, not ``|lr·d|``.

- *Which groups*: the weights of all layers (input→hidden, hidden→hidden, hidden→output) are
  non-negative; the biases are free (sign None). With non-negative inputs and weights, negative
  biases are the only way a unit can stay silent; with biases constrained too, every ReLU unit
  would be always on and the network linear. Weights held at 0 by the clip are *silent*
  synapses (they exist but ``|w| = 0``), which the record's ``synapses_nonsilent`` shows.
- *Initialisation*: ``|w|`` of the backprop initialisation, i.e. ``U(0, 1/√n_in)`` for weights
  (biases keep ``U(±1/√n_in)``); ``init_std`` switches to ``|N(0, std²)|``. Smaller positive
  inits such as ``U(0, 1/n_in)`` train worse here: all hidden units then receive almost the same
  input (weights are near-equal and positive), the hidden code is nearly rank one, and sigmoid
  networks barely leave chance level in the first epochs.
- *Defaults that differ from backprop*: logistic sigmoid hidden units and Adam lr 3e-3. With
  ReLU, non-negative weights and non-negative pixels the 784-200-3 network (classes 1, 2, 6)
  stalls near 98.4 % test accuracy; sigmoid units with lr 3e-3 reach about 99.2 % in 20 epochs
  (Stricker et al. 2026, Table 2, report 99.10 % for non-negative backprop at hidden 200 and
  98.34 % at hidden 10; lr 1e-3 needs more epochs to get there). Sigmoid non-negative networks
  start slowly: ``--quick`` (2,000 samples, 3 epochs) gives only about 65–75 % on ten classes.
- It is not in the default comparison: select it with ``--methods nonneg-backprop``.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor

from neuroplastic.methods.base import BuildContext, Learner, TrainingParams, one_hot
from neuroplastic.methods.registry import register_method
from neuroplastic.models.mlp import MLP
from neuroplastic.roles import SynapseRole
from neuroplastic.rules.optimizers import AdamParams, Optimizer, SGDParams
from neuroplastic.synapses import Synapses


class BackpropParams(TrainingParams):
    """Backprop on an MLP with the comparison's hidden widths."""

    epochs: int = Field(20, ge=1, le=10_000, description="passes over the training set")
    optimizer: Literal["sgd", "adam"] = Field("adam", description="sgd or adam")
    lr: float = Field(1e-3, gt=0, le=10, description="learning rate per batch")
    momentum: float = Field(0.0, ge=0, lt=1, description="SGD momentum (sgd only)")
    weight_decay: float = Field(0.0, ge=0, le=1, description="L2 coefficient")
    loss: Literal["cross_entropy", "mse"] = Field("cross_entropy", description="training loss")
    activation: Literal["relu", "leaky_relu", "sigmoid", "tanh"] = Field(
        "relu", description="hidden-unit nonlinearity"
    )
    init_std: float | None = Field(
        None, gt=0, le=10, description="N(0, std) initial weights; None = PyTorch's default"
    )

    def make_optimizer(self) -> Optimizer:
        """The optimizer these parameters describe."""
        if self.optimizer == "sgd":
            return Optimizer(
                "sgd",
                SGDParams(lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay),
            )
        return Optimizer("adam", AdamParams(lr=self.lr, weight_decay=self.weight_decay))


class BackpropLearner(Learner):
    """MLP trained end to end by backpropagation.

    ``sign`` constrains every weight matrix (+1: ``w >= 0``, non-negative backprop; −1:
    ``w <= 0``); biases stay free. None (the default) is unconstrained backprop. ``masks``: one
    existence mask per weight matrix (None: dense), for sparse variants such as SET.
    """

    def __init__(
        self,
        ctx: BuildContext,
        p: BackpropParams,
        *,
        sign: int | None = None,
        masks: list[Tensor | None] | None = None,
    ) -> None:
        super().__init__()
        self.ledger = ctx.ledger
        self.params = p
        self.n_classes = ctx.n_classes
        self.model = MLP(
            [ctx.n_features, *ctx.hidden, ctx.n_classes],
            ledger=ctx.ledger,
            activation_name=p.activation,
            init_std=p.init_std,
            generator=ctx.generator,
            requires_grad=True,
            sign=sign,
            bias_sign=None,
            masks=masks,
        )
        self.optimizer = p.make_optimizer()
        self._synapses = self.model.synapses()

    def loss(self, out: Tensor, y: Tensor) -> Tensor:
        """The training loss of outputs ``out`` for labels ``y``."""
        if self.params.loss == "mse":
            return F.mse_loss(out, one_hot(y, self.n_classes, out.dtype))
        return F.cross_entropy(out, y)

    def train_step(self, x: Tensor, y: Tensor) -> None:
        weights = [s.w for s in self._synapses]
        loss = self.loss(self.model(x), y)
        grads = torch.autograd.grad(loss, weights)
        self.report_objective(loss)
        lr = self.optimizer.lr
        for syn, grad in zip(self._synapses, grads, strict=True):
            syn.apply(self.optimizer.direction(syn.name, grad, syn.w.detach()), alpha=-lr)

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        return self.model(x)

    def synapses(self) -> list[Synapses]:
        return self._synapses

    def synapse_roles(self) -> list[SynapseRole]:
        return self.model.synapse_roles()

    @torch.no_grad()
    def hidden_code(self, x: Tensor) -> Tensor:
        """Activity of the first hidden layer."""
        first = self.model.layers[0]
        return self.model.act(first(x))

    @property
    def architecture(self) -> str:
        return self.model.architecture

    @property
    def inference_model(self) -> torch.nn.Module:
        return self.model

    def learner_state(self) -> dict[str, Any]:
        return self.optimizer.state_dict()

    def load_learner_state(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state)


@register_method("backprop", BackpropParams, "MLP trained by backpropagation (SGD or Adam)")
def build_backprop(ctx: BuildContext, p: BackpropParams) -> Learner:
    """Build the backprop baseline."""
    return BackpropLearner(ctx, p)


class NonnegBackpropParams(BackpropParams):
    """Backprop with non-negative weights (biases free); sigmoid units and lr 3e-3 by default."""

    lr: float = Field(3e-3, gt=0, le=10, description="learning rate per batch")
    activation: Literal["relu", "leaky_relu", "sigmoid", "tanh"] = Field(
        "sigmoid", description="hidden-unit nonlinearity"
    )
    init_std: float | None = Field(
        None,
        gt=0,
        le=10,
        description="|N(0, std)| initial weights; None = |U(±1/√n_in)| = U(0, 1/√n_in)",
    )


@register_method(
    "nonneg-backprop",
    NonnegBackpropParams,
    "backprop with all weights >= 0, biases free (Chorowski & Zurada 2015)",
    in_default_comparison=False,
)
def build_nonneg_backprop(ctx: BuildContext, p: NonnegBackpropParams) -> Learner:
    """Build backprop whose weight matrices are constrained to be non-negative."""
    return BackpropLearner(ctx, p, sign=1)
