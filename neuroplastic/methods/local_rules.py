"""Unsupervised local rules (Hebb, Oja, BCM, Krotov–Hopfield, SoftHebb), each followed by a
local readout.

One hidden layer ``u = x Wᵀ`` (no bias) learns by an unsupervised rule from
:mod:`neuroplastic.rules` during the first ``unsupervised_epochs`` epochs, then stays fixed
(no further writes). With ``rule_schedule = "linear"`` the rule's step is scaled by
``1 − e/E_u`` in unsupervised epoch e (Krotov & Hopfield's reference code: η decays linearly to
zero over the E_u epochs). Its code ``h = relu(u)^n`` (``code_power`` n; Krotov & Hopfield use
n = 4.5) feeds a linear readout trained from the first batch on by one of two local rules:

* ``readout = "adam"`` (default): the delta rule with a softmax output,
  ``G = (softmax(S ĥ + b) − t) ĥᵀ`` (:func:`~neuroplastic.rules.delta.softmax_delta`: each
  synapse uses its presynaptic activity and its own output unit's error), stepped per synapse
  by Adam (``lr_readout``), on ``ĥ = h / s`` where s is a running root-mean-square of the
  whole code (one global gain scalar, rate max(0.01, 1/t) after t batches), so the step does
  not depend on the scale of relu(u)^n;
* ``readout = "nlms"``: the normalised covariance delta rule
  (:func:`~neuroplastic.rules.delta.normalized_covariance_delta`, stable at any width and scale
  of h, with a running mean h̄ of each hidden unit).

The readout of a step sees the code computed with the hidden weights *before* that step's rule
update (one forward pass per step serves both the rule and the readout). Every weight write
goes through ``Synapses.apply``; nothing builds an autograd graph.

Input preprocessing: Krotov–Hopfield and SoftHebb see unit-length inputs ``x / ‖x‖`` (both
rules converge to unit-norm weights, and Krotov's reproduction advice is to normalise inputs);
Hebb, Oja and BCM see the raw pixel intensities in [0, 1].

A rule whose proposal is not finite makes ``Synapses.apply`` raise
:class:`~neuroplastic.errors.NonFiniteUpdateError` with nothing written; the training loop
stops the run as ``diverged`` at that step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal, TypeVar

import torch
from pydantic import BaseModel, Field
from torch import Tensor

from neuroplastic.errors import ParameterError
from neuroplastic.methods.base import BuildContext, Learner, LearnerTags, TrainingParams, one_hot
from neuroplastic.methods.registry import register_method
from neuroplastic.models.layers import DenseLayer, chain_roles, layer_synapses
from neuroplastic.roles import SynapseRole
from neuroplastic.rules.bcm import BCMParams, bcm_delta, bcm_threshold
from neuroplastic.rules.delta import normalized_covariance_delta, softmax_delta
from neuroplastic.rules.hebb import HebbParams, hebb_delta
from neuroplastic.rules.krotov import KrotovParams, krotov_delta, unit_inputs
from neuroplastic.rules.oja import OjaParams, oja_delta
from neuroplastic.rules.optimizers import AdamParams, Optimizer
from neuroplastic.rules.softhebb import SoftHebbParams, softhebb_delta
from neuroplastic.synapses import Synapses


class UnsupervisedReadoutParams(TrainingParams):
    """An unsupervised hidden layer and a delta-rule readout (shared by every local rule)."""

    epochs: int = Field(5, ge=1, le=10_000, description="passes over the training set")
    batch_size: int = Field(100, ge=1, le=100_000, description="samples per update")
    unsupervised_epochs: int = Field(
        1, ge=0, le=10_000, description="epochs during which the hidden layer learns"
    )
    eta_readout: float = Field(
        0.1, gt=0, lt=1, description="normalised delta-rule rate of the readout (1)"
    )
    code_power: float = Field(1.0, gt=0, le=10, description="hidden code h = relu(u)^n")
    init_std: float | None = Field(
        None, gt=0, le=10, description="N(0, std) hidden weights; None = U(±1/√n_in)"
    )
    readout: Literal["adam", "nlms"] = Field(
        "adam", description="adam (softmax delta rule, Adam steps) or nlms (normalised delta)"
    )
    lr_readout: float = Field(
        1e-3, gt=0, le=1, description="Adam step of the softmax delta-rule readout (1)"
    )
    rule_schedule: Literal["constant", "linear"] = Field(
        "constant", description="rule step × (1 − e/E_u) in unsupervised epoch e (linear)"
    )


READOUT_INIT_STD = 1e-6  # the readout starts at (almost) zero: a random readout would swamp
# large codes such as relu(u)^4.5 and the normalised delta rule would take long to undo it

RuleStep = Callable[["UnsupervisedReadoutLearner", Tensor, Tensor], Tensor]
"""(learner, prepared inputs x (B, n_in), currents u = x Wᵀ (B, N)) -> proposed ΔW (N, n_in)."""


class UnsupervisedReadoutLearner(Learner):
    """Hidden layer trained by a local unsupervised rule + normalised delta-rule readout."""

    tags: ClassVar[LearnerTags] = {"local": True}
    objective_name: ClassVar[str] = "readout_sq_error"  # the delta rule minimises ½‖t − y‖²
    h_mean: Tensor
    h_rms: Tensor
    theta: Tensor
    batches: Tensor

    def __init__(
        self,
        ctx: BuildContext,
        p: UnsupervisedReadoutParams,
        rule_step: RuleStep,
        *,
        method: str,
        unit_input: bool = False,
    ) -> None:
        super().__init__()
        if len(ctx.hidden) != 1:
            raise ParameterError(
                f"{method}: one hidden layer only (got hidden widths {list(ctx.hidden)})"
            )
        n_hidden = ctx.hidden[0]
        self.p = p
        self.ledger = ctx.ledger
        self.n_classes = ctx.n_classes
        self.rule_step = rule_step
        self.unit_input = unit_input
        self.hidden = DenseLayer(
            "fc1",
            ctx.n_features,
            n_hidden,
            ledger=ctx.ledger,
            bias=False,
            init_std=p.init_std,
            generator=ctx.generator,
        )
        self.readout = DenseLayer(
            "fc2",
            n_hidden,
            ctx.n_classes,
            ledger=ctx.ledger,
            init_std=READOUT_INIT_STD,
            generator=ctx.generator,
        )
        self.register_buffer("h_mean", torch.zeros(n_hidden))
        self.register_buffer("h_rms", torch.ones(()))  # running RMS of the code (adam readout)
        self.optimizer = Optimizer("adam", AdamParams(lr=p.lr_readout))
        self.register_buffer("theta", torch.ones(n_hidden))  # BCM's sliding threshold
        self.register_buffer("batches", torch.zeros((), dtype=torch.int64))
        self.epoch = 0
        self._sizes = [ctx.n_features, n_hidden, ctx.n_classes]

    def prepare(self, x: Tensor) -> Tensor:
        """The input the hidden layer sees (unit length for Krotov–Hopfield and SoftHebb)."""
        return unit_inputs(x) if self.unit_input else x

    def currents(self, x: Tensor) -> Tensor:
        """u = x Wᵀ for prepared inputs."""
        return self.hidden(x)

    def code(self, u: Tensor) -> Tensor:
        """h = relu(u)^n."""
        h = torch.relu(u)
        return h if self.p.code_power == 1.0 else h.pow(self.p.code_power)

    def rule_scale(self) -> float:
        """Factor on the rule's step in the current epoch: 1, or 1 − e/E_u (linear)."""
        if self.p.rule_schedule == "linear":
            return 1.0 - self.epoch / self.p.unsupervised_epochs
        return 1.0

    def readout_input(self, h: Tensor) -> Tensor:
        """What the readout sees: h / s (adam readout, s the running RMS of h) or h (nlms)."""
        return h / self.h_rms if self.p.readout == "adam" else h

    @torch.no_grad()
    def train_step(self, x: Tensor, y: Tensor) -> None:
        x = self.prepare(x)
        u = self.currents(x)
        dw_hidden = None
        if self.epoch < self.p.unsupervised_epochs:
            dw_hidden = self.rule_step(self, x, u)
        h = self.code(u)
        self.batches.add_(1)
        rate = max(0.01, 1.0 / float(self.batches))
        target = one_hot(y, self.n_classes, h.dtype)
        if self.p.readout == "adam":
            peak = h.abs().max().clamp(min=1e-30)  # RMS computed without overflowing h²
            self.h_rms.lerp_((h / peak).square().mean().sqrt() * peak, rate)
            h = h / self.h_rms
            out = self.readout(h)
            # logged as ½‖t − softmax(out)‖² (readout_sq_error), the same scale as nlms's
            self.report_objective(0.5 * (target - torch.softmax(out, 1)).square().sum(1).mean())
            gw, gb = softmax_delta(h, out, target)
            lr, weight, bias = self.optimizer.lr, self.readout.weight, self.readout.bias
            weight.apply(self.optimizer.direction("fc2.weight", gw, weight.w.detach()), alpha=-lr)
            if bias is not None:
                bias.apply(self.optimizer.direction("fc2.bias", gb, bias.w.detach()), alpha=-lr)
        else:
            out = self.readout(h)
            self.h_mean.lerp_(h.mean(0), rate)
            self.report_objective(0.5 * (target - out).square().sum(1).mean())
            dw, db = normalized_covariance_delta(h, self.h_mean, out, target, self.p.eta_readout)
            self.readout.weight.apply(dw)
            if self.readout.bias is not None:
                self.readout.bias.apply(db)
        if dw_hidden is not None:
            scale = self.rule_scale()
            self.hidden.weight.apply(dw_hidden if scale == 1.0 else dw_hidden * scale)

    def on_epoch_end(self, epoch: int) -> None:
        self.epoch = epoch + 1

    def begin_phase(self, name: str) -> None:
        self.epoch = 0

    @torch.no_grad()
    def hidden_code(self, x: Tensor) -> Tensor:
        return self.code(self.currents(self.prepare(x)))

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        return self.readout(self.readout_input(self.hidden_code(x)))

    def synapses(self) -> list[Synapses]:
        return layer_synapses([self.hidden, self.readout])

    def synapse_roles(self) -> list[SynapseRole]:
        return chain_roles([self.hidden, self.readout])

    @property
    def architecture(self) -> str:
        return "-".join(str(s) for s in self._sizes)

    def learner_state(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "optimizer": self.optimizer.state_dict()}

    def load_learner_state(self, state: dict[str, Any]) -> None:
        self.epoch = int(state.get("epoch", 0))
        if "optimizer" in state:
            self.optimizer.load_state_dict(state["optimizer"])


R = TypeVar("R", bound=BaseModel)


def _rule_params(model: type[R], p: UnsupervisedReadoutParams) -> R:
    """The rule's own parameter model, taken from the method's flat parameters."""
    return model(**{k: getattr(p, k) for k in model.model_fields})


# ------------------------------------------------------------------ Hebb
class HebbMethodParams(UnsupervisedReadoutParams, HebbParams):
    """Hebb with decay in the hidden layer, y = relu(u)."""


@register_method(
    "hebb",
    HebbMethodParams,
    "Hebb with decay (hidden) + delta-rule readout (local)",
    in_default_comparison=False,
)
def build_hebb(ctx: BuildContext, p: HebbMethodParams) -> Learner:
    """Hebb with decay, ΔW = η (yᵀx/B − λW), y = relu(W x)."""
    rule = _rule_params(HebbParams, p)

    def step(learner: UnsupervisedReadoutLearner, x: Tensor, u: Tensor) -> Tensor:
        return hebb_delta(x, torch.relu(u), learner.hidden.weight.w, rule)

    return UnsupervisedReadoutLearner(ctx, p, step, method="hebb")


# ------------------------------------------------------------------- Oja
class OjaMethodParams(UnsupervisedReadoutParams, OjaParams):
    """Oja (single / subspace / Sanger) in the hidden layer, y = W x (linear)."""


@register_method(
    "oja",
    OjaMethodParams,
    "Oja / Sanger principal subspace (hidden) + delta-rule readout (local)",
    in_default_comparison=False,
)
def build_oja(ctx: BuildContext, p: OjaMethodParams) -> Learner:
    """Oja's rule on linear units y = W x (Sanger's GHA by default)."""
    rule = _rule_params(OjaParams, p)

    def step(learner: UnsupervisedReadoutLearner, x: Tensor, u: Tensor) -> Tensor:
        return oja_delta(x, u, learner.hidden.weight.w, rule)

    return UnsupervisedReadoutLearner(ctx, p, step, method="oja")


# ------------------------------------------------------------------- BCM
class BCMMethodParams(UnsupervisedReadoutParams, BCMParams):
    """BCM with a sliding threshold in the hidden layer, y = relu(u)."""


@register_method(
    "bcm",
    BCMMethodParams,
    "BCM, sliding threshold (hidden) + delta-rule readout (local)",
    in_default_comparison=False,
)
def build_bcm(ctx: BuildContext, p: BCMMethodParams) -> Learner:
    """BCM: ΔW = η (y(y − θ))ᵀx/B, θ a running average of y² (a buffer of the learner)."""
    rule: BCMParams = _rule_params(BCMParams, p)

    def step(learner: UnsupervisedReadoutLearner, x: Tensor, u: Tensor) -> Tensor:
        y = torch.relu(u)
        dw = bcm_delta(x, y, learner.hidden.weight.w, learner.theta, rule)
        learner.theta.copy_(bcm_threshold(learner.theta, y, rule))
        return dw

    learner = UnsupervisedReadoutLearner(ctx, p, step, method="bcm")
    learner.theta.fill_(p.theta_init)
    return learner


# ------------------------------------------------------ Krotov–Hopfield
class KrotovMethodParams(UnsupervisedReadoutParams, KrotovParams):
    """Competing hidden units (Krotov & Hopfield 2019); readout on relu(u)^4.5."""

    code_power: float = Field(4.5, gt=0, le=10, description="hidden code h = relu(u)^n")
    init_std: float | None = Field(
        1.0, gt=0, le=10, description="N(0, std) hidden weights (the paper: N(0, 1))"
    )
    rule_schedule: Literal["constant", "linear"] = Field(
        "linear", description="rule step × (1 − e/E_u) in unsupervised epoch e (the paper's)"
    )


@register_method(
    "krotov-hopfield",
    KrotovMethodParams,
    "Krotov-Hopfield competing hidden units + delta-rule readout (local)",
    in_default_comparison=False,
)
def build_krotov(ctx: BuildContext, p: KrotovMethodParams) -> Learner:
    """Competing hidden units; the input is normalised once by the learner (unit vectors)."""
    rule = _rule_params(KrotovParams, p).model_copy(update={"normalise_input": False})
    if ctx.hidden and rule.k > ctx.hidden[0]:
        raise ParameterError(
            f"krotov-hopfield: parameter 'k' = {rule.k} exceeds the {ctx.hidden[0]} hidden units"
        )

    def step(learner: UnsupervisedReadoutLearner, x: Tensor, u: Tensor) -> Tensor:
        w = learner.hidden.weight.w
        return krotov_delta(x, w, rule, currents=u if rule.p == 2.0 else None)

    return UnsupervisedReadoutLearner(
        ctx, p, step, method="krotov-hopfield", unit_input=p.normalise_input
    )


# -------------------------------------------------------------- SoftHebb
class SoftHebbMethodParams(UnsupervisedReadoutParams, SoftHebbParams):
    """SoftHebb (soft winner-take-all) on unit-length inputs."""


@register_method(
    "softhebb",
    SoftHebbMethodParams,
    "SoftHebb soft winner-take-all (hidden) + delta-rule readout (local)",
    in_default_comparison=False,
)
def build_softhebb(ctx: BuildContext, p: SoftHebbMethodParams) -> Learner:
    """SoftHebb: y = softmax(u/τ), Δw_j = η y_j (x − u_j w_j)."""
    rule = _rule_params(SoftHebbParams, p)

    def step(learner: UnsupervisedReadoutLearner, x: Tensor, u: Tensor) -> Tensor:
        return softhebb_delta(x, learner.hidden.weight.w, rule, u=u)

    return UnsupervisedReadoutLearner(ctx, p, step, method="softhebb", unit_input=True)
