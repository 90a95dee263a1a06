"""Structural plasticity: a self-sizing hidden layer learned without backprop.

Our reconstruction of the rule of Stricker, Röhrbein & Knoblauch (2026) from its description
(the papers' equations were not available; see ``../shared/specs/structural-plasticity.md``).
Architecture 784 → N hidden → classes. Per batch:

1. **Competition** on the match scores s_j = w_j·x − ½‖w_j‖² + b_j (hard, k-winner or soft;
   :mod:`neuroplastic.rules.competitive`).
2. **Competitive Hebbian learning** of the non-negative input synapses (Dale's law, sign +1):
   Δw_ij = η y_j (x_i − w_ij); synapses whose input is mostly off decay toward 0 (silent).
3. **Homeostatic bias plasticity** keeps each unit's win rate near ρ = k / N
   (:mod:`neuroplastic.rules.homeostasis`).
4. **Readout** (hidden → classes) by the normalised covariance delta rule on the hidden code
   h = f(g (m − mean m)), or by weight perturbation (:mod:`neuroplastic.rules.perturbation`).

At the end of each epoch (**structural plasticity**, :mod:`neuroplastic.structure`), from
epoch ``prune_epoch`` on: units never active in the epoch lose all synapses (the reserve for new
memories); each unit keeps only its ``budget`` strongest synapses; units below budget grow
synapses where pre- and post-synaptic activity coincided (imprinting the mean input); synapses
silent for ``silent_patience`` checks are eliminated. Hidden plasticity stops after
``hidden_epochs``; the readout then learns on the settled code in the remaining epochs (by
default it does not learn while the hidden layer still changes: those updates would be spent on
a moving representation). Each ingredient can be
switched off for ablations.
No autograd graph is ever built (all updates run under ``torch.no_grad``).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import torch
from pydantic import Field, model_validator
from torch import Tensor

from neuroplastic.energy.synops import active_counter
from neuroplastic.errors import ParameterError
from neuroplastic.methods.base import BuildContext, Learner, LearnerTags, TrainingParams, one_hot
from neuroplastic.methods.registry import register_method
from neuroplastic.roles import SynapseRole, dense_layer_roles
from neuroplastic.rules.competitive import (
    CompetitiveParams,
    competition_signal,
    instar_from_coincidence,
    match_scores,
    rank_signal,
    template_code,
)
from neuroplastic.rules.delta import (
    margin_perceptron_delta,
    normalized_covariance_delta,
    softmax_delta,
)
from neuroplastic.rules.homeostasis import homeostatic_bias_delta, update_rate
from neuroplastic.rules.perturbation import PerturbationParams, per_sample_perturbation_delta
from neuroplastic.structure.policies import (
    SilentTracker,
    grow_from_coincidence,
    prune_to_budget,
    prune_unconnected_units,
)
from neuroplastic.synapses import Synapses

#: Named settings: each fills the parameters the user did not set. ``ten`` (the default) was
#: chosen on the validation split of the ten-class task at hidden 1000; ``table2`` is the
#: three-class setting of Table 2 (digits 1, 2, 6, hidden 200) with which REPRODUCING.md §2a was
#: measured.
PRESETS: dict[str, dict[str, Any]] = {
    "ten": {},
    "table2": {
        "epochs": 10,
        "competition": "kwta",
        "k": 5,
        "budget": 7,
        "prune_epoch": 4,
        "hidden_epochs": None,
        "receptive_field": 0,
        "reserve": True,
        "readout": "delta",
    },
}


#: Largest batch of a ``--quick`` run (unless ``batch_size`` is set): chosen on the quick
#: validation split (500 images, seeds 0 and 1) among 10, 20 and 100 (REPRODUCING.md §2b).
QUICK_BATCH = 20


def receptive_windows(
    n_units: int, n_features: int, side: int, generator: torch.Generator
) -> Tensor:
    """(n_units, n_features) mask of each unit's potential synapses: a ``side`` x ``side`` window
    of the square input image at a uniformly random position (all True for ``side`` 0)."""
    if side == 0:
        return torch.ones(n_units, n_features, dtype=torch.bool)
    width = math.isqrt(n_features)
    if width * width != n_features:
        raise ParameterError(
            f"structural: receptive_field needs a square input image (got {n_features} features)"
        )
    if side > width:
        raise ParameterError(f"structural: receptive_field = {side} exceeds the image side {width}")
    top = torch.randint(0, width - side + 1, (n_units,), generator=generator)
    left = torch.randint(0, width - side + 1, (n_units,), generator=generator)
    rows = torch.arange(width)[:, None].expand(width, width).reshape(-1)
    cols = torch.arange(width)[None, :].expand(width, width).reshape(-1)
    inside_rows = (rows[None] >= top[:, None]) & (rows[None] < top[:, None] + side)
    inside_cols = (cols[None] >= left[:, None]) & (cols[None] < left[:, None] + side)
    return inside_rows & inside_cols


class StructuralParams(TrainingParams):
    """The structural-plasticity rule; every ingredient is one switch."""

    preset: Literal["ten", "table2"] = Field(
        "ten",
        description="named setting filling every parameter not set explicitly: ten (ten "
        "classes, the default) or table2 (digits 1, 2, 6 at hidden 200, the paper's Table 2)",
    )
    epochs: int = Field(6, ge=1, le=10_000, description="passes over the training set")
    competition: Literal["hard", "kwta", "soft", "rank", "none"] = Field(
        "hard",
        description="winner selection; rank = the k best units learn with graded credit "
        "rank_decay^r (r = 0 for the best); none = every unit learns every input (ablation)",
    )
    rank_decay: float = Field(
        0.5, gt=0, le=1, description="credit ratio between consecutive ranks (rank competition)"
    )
    input_norm: Literal["none", "ink"] = Field(
        "none",
        description="input normalisation: ink scales each input to the total intensity ink "
        "(x ← x · ink / Σ_i x_i), in learning and in recall",
    )
    ink: float = Field(
        100.0, gt=0, le=1e6, description="total input intensity with input_norm=ink (MNIST: ~102)"
    )
    k: int = Field(5, ge=1, le=10_000, description="winners per input (kwta)")
    temperature: float = Field(0.1, gt=0, le=100, description="softmax temperature (soft)")
    eta_hidden: float = Field(0.05, gt=0, le=1, description="Hebbian learning rate η")
    homeostasis: bool = Field(True, description="homeostatic bias plasticity on/off")
    eta_bias: float = Field(1.0, gt=0, le=10, description="homeostatic bias rate η_b")
    rate_tau: float = Field(100.0, ge=1, le=1e6, description="win-rate time constant (batches)")
    nonnegative: bool = Field(True, description="input synapses excitatory (w >= 0)")
    receptive_field: int = Field(
        12,
        ge=0,
        le=10_000,
        description="side s of the square window of the input image (e.g. 28 x 28) in which a "
        "hidden unit has potential synapses, at a random position per unit: its synapses start, "
        "and grow, only there (spatially local growth); 0 = the whole input (also what the "
        "default means for an input that is not a square image at least this wide)",
    )
    budget: int = Field(
        15, ge=0, le=100_000, description="synapses kept per hidden unit (0 = no budget)"
    )
    prune_epoch: int = Field(
        2, ge=1, description="apply budget and reserve pruning from the end of this epoch"
    )
    growth: bool = Field(True, description="grow synapses at coincident activity up to budget")
    reserve: bool = Field(False, description="units never active in an epoch lose all synapses")
    silent_pruning: bool = Field(True, description="eliminate synapses silent for patience checks")
    silent_eps: float = Field(1e-3, ge=0, le=1, description="silence threshold ε on |w|")
    silent_patience: int = Field(2, ge=1, le=1000, description="epochs a synapse may stay silent")
    hidden_epochs: int | None = Field(
        2, ge=1, description="epochs with hidden plasticity; None = prune_epoch + 1"
    )
    gain: float = Field(20.0, gt=0, le=1e4, description="gain g of the hidden code")
    readout: Literal["softmax", "delta", "perturbation", "perceptron"] = Field(
        "softmax",
        description="readout rule: softmax (local cross-entropy delta rule), delta (normalised "
        "LMS), perturbation (weight perturbation), perceptron (margin perceptron: a sample "
        "whose true class does not lead the best other class by perceptron_margin moves the "
        "true class's synapses by +eta_softmax h and the rival's by -eta_softmax h)",
    )
    perceptron_margin: float = Field(
        1.0, ge=0, le=1e4, description="margin of the perceptron readout (in output units)"
    )
    readout_centred: bool = Field(
        True,
        description="softmax / perceptron readout on the centred code h − h̄ (h̄: each hidden "
        "unit's running mean activity, a local trace learned in the first phase and then kept, "
        "so old classes' outputs do not drift in later phases): out = W (h − h̄) + b, "
        "ΔW ∝ (h − h̄)",
    )
    readout_batches: int = Field(
        1,
        ge=1,
        le=100_000,
        description="the readout sums its updates of this many consecutive batches in a "
        "transient per-synapse trace and writes the sum once (1 = write every batch; n is a "
        "readout batch n times larger at the same rate per sample); the trace is written at "
        "the end of each epoch",
    )
    eta_softmax: float = Field(
        1.0, gt=0, le=10, description="readout learning rate of the softmax delta rule"
    )
    eta_softmax_decay: bool = Field(
        True,
        description="the softmax readout's rate falls linearly over its epochs (1, 1 - 1/n, ...)",
    )
    readout_during_hidden: bool = Field(
        False, description="train the readout while the hidden layer still changes"
    )
    eta_readout: float = Field(0.5, gt=0, lt=1, description="readout learning rate (NLMS, < 1)")
    eta_perturbation: float = Field(
        3e-3, gt=0, le=1, description="readout learning rate η of weight perturbation"
    )
    perturbation_sigma: float = Field(1e-2, gt=0, le=1, description="perturbation s.d. σ")
    perturbation_antithetic: bool = Field(
        True, description="two-sided loss difference for the perturbation readout"
    )
    consolidate: bool = Field(
        True,
        description="at a new phase, units connected so far keep their synapses (no hidden "
        "learning, no pruning); new inputs recruit reserve units",
    )
    readout_seen_classes_only: bool = Field(
        True,
        description="readout units learn only in phases whose data contain their class "
        "(no teaching signal, no change); the softmax readout normalises over those classes",
    )
    repotentiate_reserve: bool = Field(
        True,
        description="at a new phase (with consolidate), unconnected reserve units regain full "
        "potential connectivity with initial weights, then learn, and are pruned, as in the "
        "first phase",
    )
    phase_gate: Literal["off", "confidence", "calibrated", "template", "match"] = Field(
        "calibrated",
        description="after several phases, only the classes of one phase compete at the "
        "output: the phase whose readout is most confident (confidence), whose largest output "
        "is highest relative to its own training samples' (calibrated: z-score against the "
        "mean and s.d. of that phase's largest output in its last epoch), or whose hidden unit "
        "matches the input best (template: largest fraction of its template present; match: "
        "nearest prototype); no effect in one-phase training",
    )
    gate_margin: float = Field(
        0.25,
        ge=0,
        le=100,
        description="calibrated gate: phase p's z-score is lowered by gate_margin x p, so a "
        "later phase must beat an earlier one by this many standard deviations",
    )
    readout_phase_units: bool = Field(
        True,
        description="a class first taught in a later phase reads only the hidden units that "
        "learn in that phase: its readout synapses from consolidated units are eliminated "
        "(if the phase recruited any units)",
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset", "ten") in PRESETS:
            return {**PRESETS[data.get("preset", "ten")], **data}
        return data

    @model_validator(mode="after")
    def _check_schedule(self) -> StructuralParams:
        if self.budget and self.prune_epoch > self.epochs:
            raise ValueError(f"prune_epoch ({self.prune_epoch}) must be <= epochs ({self.epochs})")
        if self.budget and self.prune_epoch > self.plastic_epochs():
            raise ValueError(
                f"prune_epoch ({self.prune_epoch}) must be <= the {self.plastic_epochs()} hidden "
                "epochs (pruning happens while the hidden layer learns): raise hidden_epochs"
            )
        if not self.readout_during_hidden and self.plastic_epochs() >= self.epochs:
            raise ValueError(
                f"the readout learns after the {self.plastic_epochs()} hidden epochs, so epochs "
                f"({self.epochs}) must exceed them (or set readout_during_hidden=true)"
            )
        return self

    def quick(self, max_epochs: int) -> StructuralParams:
        """Fewer epochs: the hidden layer learns (and is pruned) in the first of them, the
        readout in the others (or in all of them with ``readout_during_hidden``).

        The quick subset is small (2,000 images: 20 batches of 100 per epoch), so unless set
        explicitly the batches hold at most :data:`QUICK_BATCH` samples: the readout then makes
        100 updates per epoch instead of 20 (the full run makes 550)."""
        epochs = min(self.epochs, max_epochs)
        hidden = min(self.plastic_epochs(), max(1, epochs - 2))
        if self.readout_during_hidden:
            hidden = min(self.plastic_epochs(), epochs)
        prune_epoch = min(self.prune_epoch, hidden)
        values = {**self.model_dump(), "epochs": epochs, "prune_epoch": prune_epoch}
        if "batch_size" not in self.model_fields_set:
            values["batch_size"] = min(self.batch_size, QUICK_BATCH)
        return self.model_validate({**values, "hidden_epochs": hidden})

    def plastic_epochs(self) -> int:
        """Number of epochs in which the hidden layer learns."""
        if self.hidden_epochs is not None:
            return min(self.hidden_epochs, self.epochs)
        return min(self.prune_epoch + 1, self.epochs)


class StructuralLearner(Learner):
    """784 → N (structural, competitive Hebbian) → classes (local readout)."""

    tags: ClassVar[LearnerTags] = {"local": True}
    # the readout's own loss: cross-entropy (softmax delta rule) or ½‖t − y‖² (delta rule)
    objective_name: ClassVar[str] = "readout_loss"

    rate: Tensor
    h_mean: Tensor
    trace: Tensor
    activity: Tensor
    consolidated: Tensor
    seen_classes: Tensor
    taught_classes: Tensor
    potential: Tensor
    readout_trace: Tensor
    readout_bias_trace: Tensor
    readout_pending: Tensor
    unit_phase: Tensor
    class_phase: Tensor
    gate_moments: Tensor

    def __init__(self, ctx: BuildContext, p: StructuralParams) -> None:
        super().__init__()
        if len(ctx.hidden) != 1:
            raise ParameterError("the structural rule has exactly one hidden layer (--hidden N)")
        n_hidden = ctx.hidden[0]
        if p.competition in ("kwta", "rank") and p.k > n_hidden:
            raise ParameterError(
                f"structural: k = {p.k} winners exceeds the {n_hidden} hidden units"
            )
        self.ledger = ctx.ledger
        self.p = p
        self.n_classes = ctx.n_classes
        self.generator = ctx.generator
        w0 = torch.rand(n_hidden, ctx.n_features, generator=ctx.generator) * 0.09 + 0.01
        side = p.receptive_field
        width = math.isqrt(ctx.n_features)
        if "receptive_field" not in p.model_fields_set and (
            width * width != ctx.n_features or side > width
        ):
            side = 0  # the default window is for images (28 x 28): other inputs use all
        potential = receptive_windows(n_hidden, ctx.n_features, side, ctx.generator)
        self.hidden = Synapses(
            "hidden.weight",
            w0,
            sign=1 if p.nonnegative else None,
            mask=potential,
            ledger=ctx.ledger,
        )
        self.register_buffer("potential", potential)
        self.hidden_bias = Synapses("hidden.bias", torch.zeros(n_hidden), ledger=ctx.ledger)
        self.readout = Synapses(
            "readout.weight", torch.zeros(ctx.n_classes, n_hidden), ledger=ctx.ledger
        )
        self.readout_bias = Synapses("readout.bias", torch.zeros(ctx.n_classes), ledger=ctx.ledger)
        competition = "kwta" if p.competition in ("none", "rank") else p.competition
        self.competitive = CompetitiveParams(
            competition=competition, k=p.k, temperature=p.temperature, eta=p.eta_hidden
        )
        self.perturbation = PerturbationParams(
            sigma=p.perturbation_sigma, eta=p.eta_perturbation, antithetic=p.perturbation_antithetic
        )
        credit = 1.0 if p.competition == "hard" else float(p.k)  # handed out per input
        if p.competition == "rank":
            credit = sum(p.rank_decay**r for r in range(p.k))
        self.target_rate = credit / n_hidden
        self.register_buffer("rate", torch.full((n_hidden,), self.target_rate))
        self.register_buffer("h_mean", torch.zeros(n_hidden))
        self.register_buffer("trace", torch.zeros(n_hidden, ctx.n_features))
        self.register_buffer("activity", torch.zeros(n_hidden))
        self.register_buffer("consolidated", torch.zeros(n_hidden, dtype=torch.bool))
        if p.readout_batches > 1:  # the readout's summed, not yet written updates
            self.register_buffer("readout_trace", torch.zeros(ctx.n_classes, n_hidden))
            self.register_buffer("readout_bias_trace", torch.zeros(ctx.n_classes))
            self.register_buffer("readout_pending", torch.zeros((), dtype=torch.long))
        self.register_buffer("seen_classes", torch.zeros(ctx.n_classes, dtype=torch.bool))
        self.register_buffer("taught_classes", torch.zeros(ctx.n_classes, dtype=torch.bool))
        # the phase in which each consolidated unit / each class was first learned (-1: none)
        self.register_buffer("unit_phase", torch.full((n_hidden,), -1, dtype=torch.long))
        self.register_buffer("class_phase", torch.full((ctx.n_classes,), -1, dtype=torch.long))
        # per phase (at most one per class): count, sum and sum of squares of the phase's largest
        # output on its own training samples in its last epoch (the calibrated gate's reference)
        self.register_buffer("gate_moments", torch.zeros(ctx.n_classes, 3, dtype=torch.float64))
        self.phase_index = 0
        self.epoch = 0
        self.trained_epochs = 0
        self.readout_steps = 0  # readout training steps in the current phase
        self.silent = SilentTracker(p.silent_eps, p.silent_patience)

    # ------------------------------------------------------------ learning
    @property
    def hidden_plastic(self) -> bool:
        """Whether the hidden layer still learns in the current epoch."""
        return self.epoch < self.p.plastic_epochs()

    @property
    def readout_trained(self) -> bool:
        """False until the readout has taken a step in the current phase (it learns only after
        the hidden epochs unless ``readout_during_hidden``)."""
        return self.readout_steps > 0

    def _normalise(self, x: Tensor) -> Tensor:
        """The input as the rule sees it (``input_norm``): x · ink / Σ_i x_i (an all-zero
        input stays zero), or x itself."""
        if self.p.input_norm == "none":
            return x
        total = x.sum(1, keepdim=True)
        return torch.where(total > 0, x * (self.p.ink / total.clamp(min=1e-12)), x)

    @torch.no_grad()
    def train_step(self, x: Tensor, y: Tensor) -> None:
        x = self._normalise(x)
        if self.hidden_plastic:
            self._hidden_step(x)
            if not self.p.readout_during_hidden:
                return
        self._readout_step(x, y)

    def _hidden_step(self, x: Tensor) -> None:
        w = self.hidden.w.detach()
        scores = match_scores(x, w, self.hidden_bias.w.detach())
        if self.p.competition == "none":
            signal = torch.ones_like(scores)
        else:
            # consolidated units do not compete for learning: new inputs go to the others
            scores = scores.masked_fill(self.consolidated, float("-inf"))
            if self.p.competition == "rank":
                signal = rank_signal(scores, self.p.k, self.p.rank_decay)
            else:
                signal = competition_signal(scores, self.competitive)
        signal = signal.masked_fill(self.consolidated, 0.0)
        if self.p.competition in ("hard", "kwta"):  # 0/1 winners: add the winners' inputs
            rows, units = signal.nonzero(as_tuple=True)
            coincidence = torch.zeros_like(w).index_add_(0, units, x[rows])
        else:
            coincidence = signal.T @ x
        won = signal.sum(0)
        self.hidden.apply(instar_from_coincidence(coincidence, won, w, self.p.eta_hidden, len(x)))
        if self.p.growth and self.p.budget and self.epoch + 1 >= self.p.prune_epoch:
            self.trace += coincidence  # read only by growth, at the end of a pruning epoch
        self.activity += won
        if self.p.homeostasis:
            self.rate.copy_(update_rate(self.rate, won / x.shape[0], tau=self.p.rate_tau))
            db = homeostatic_bias_delta(self.rate, self.target_rate, self.p.eta_bias)
            self.hidden_bias.apply(db.masked_fill(self.consolidated, 0.0))

    def _readout_step(self, x: Tensor, y: Tensor) -> None:
        self.readout_steps += 1
        h = self.hidden_code(x)
        target = one_hot(y, self.n_classes, h.dtype)
        present = target.sum(0) > 0
        self.seen_classes |= present
        new_classes = present & ~self.taught_classes
        recruited = self.hidden.mask.any(1) & ~self.consolidated
        if self.p.readout_phase_units and bool(new_classes.any()) and bool(recruited.any()):
            # output units of new classes listen only to the units recruited with them (when
            # there are any: without a reserve every unit is consolidated, and they read those)
            self.readout.prune(new_classes[:, None] & self.consolidated[None, :])
        self.class_phase[new_classes] = self.phase_index
        self.taught_classes |= present
        if self.p.readout in ("delta", "softmax", "perceptron"):
            if self.p.readout_centred and self.p.readout != "delta":
                if self.phase_index == 0:  # h̄ is learned in the first phase, then kept
                    if not bool(self.h_mean.any()):  # the first readout batch starts the trace
                        self.h_mean.copy_(h.mean(0))
                    self.h_mean.lerp_(h.mean(0), 0.01)
                h = h - self.h_mean
            out = h @ self.readout.w.T + self.readout_bias.w
            if self.p.phase_gate == "calibrated" and self.epoch == self.p.epochs - 1:
                self._record_gate_moments(out)
            if self.p.readout in ("softmax", "perceptron"):
                self.report_objective(torch.nn.functional.cross_entropy(out, y))
                if self.p.readout_seen_classes_only:  # normalise over the taught classes only
                    out = out.masked_fill(~self.seen_classes, float("-inf"))
                eta = self.p.eta_softmax * self._readout_decay()
                if self.p.readout == "softmax":
                    grad_w, grad_b = softmax_delta(h, out, target)
                    dw, db = -eta * grad_w, -eta * grad_b
                else:
                    inc_w, inc_b = margin_perceptron_delta(h, out, y, self.p.perceptron_margin)
                    dw, db = eta * inc_w, eta * inc_b
            else:
                self.report_objective(0.5 * (target - out).square().sum(1).mean())
                self.h_mean.lerp_(h.mean(0), 0.01)
                dw, db = normalized_covariance_delta(
                    h, self.h_mean, out, target, self.p.eta_readout
                )
            if self.p.readout_seen_classes_only:
                taught = self.seen_classes[:, None].to(dw.dtype)
                dw, db = dw * taught, db * taught[:, 0]
            self._write_readout(dw, db)
            return

        self.readout.apply(
            per_sample_perturbation_delta(
                h,
                target,
                self.readout.w.detach(),
                self.readout_bias.w.detach(),
                self.perturbation,
                self.generator,
            )
        )
        out = h @ self.readout.w.T + self.readout_bias.w
        self.readout_bias.apply(self.p.eta_readout * (target - out).mean(0))

    def _record_gate_moments(self, out: Tensor) -> None:
        """Add this batch's largest output over the current phase's classes to the phase's
        moments (count, Σ, Σ²): the calibrated gate's reference, from its own samples only."""
        members = self.class_phase == self.phase_index
        if not bool(members.any()):
            return
        top = out[:, members].max(1).values.double()
        stats = torch.stack(
            [torch.tensor(float(len(top)), dtype=top.dtype), top.sum(), (top * top).sum()]
        )
        self.gate_moments[self.phase_index] += stats.to(self.gate_moments.device)

    def _write_readout(self, dw: Tensor, db: Tensor) -> None:
        """Write the readout update now, or (``readout_batches`` n > 1) add it to the transient
        trace and write the trace's sum at every n-th batch."""
        if self.p.readout_batches == 1:
            self.readout.apply(dw)
            self.readout_bias.apply(db)
            return
        self.readout_trace += dw
        self.readout_bias_trace += db
        self.readout_pending += 1
        if int(self.readout_pending) >= self.p.readout_batches:
            self._flush_readout()

    def _flush_readout(self) -> None:
        """Write the readout's pending summed update (if any) and clear the trace."""
        if self.p.readout_batches == 1 or int(self.readout_pending) == 0:
            return
        self.readout.apply(self.readout_trace)
        self.readout_bias.apply(self.readout_bias_trace)
        self.readout_trace.zero_()
        self.readout_bias_trace.zero_()
        self.readout_pending.zero_()

    def _readout_decay(self) -> float:
        """Factor of the softmax readout's rate in this epoch: 1 − i / n in the i-th (from 0) of
        the n readout epochs with ``eta_softmax_decay``, else 1."""
        if not self.p.eta_softmax_decay or self.p.readout_during_hidden:
            return 1.0
        n = self.p.epochs - self.p.plastic_epochs()
        return 1.0 - (self.epoch - self.p.plastic_epochs()) / n if n > 0 else 1.0

    def begin_phase(self, name: str) -> None:
        """Restart the plasticity schedule (hidden learning, pruning, growth, then readout).

        With ``consolidate``, units connected after an earlier phase are consolidated: they stop
        learning and are exempt from reserve and budget pruning, so the new phase is learned by
        the reserve. With ``readout_seen_classes_only``, the set of taught classes restarts.
        """
        self.readout_steps = 0
        if self.p.consolidate and self.trained_epochs > 0:
            newly = self.hidden.mask.any(1) & ~self.consolidated
            self.unit_phase[newly] = self.phase_index
            self.phase_index += 1
            self.consolidated |= newly
            if self.p.repotentiate_reserve:
                self._repotentiate(~self.consolidated)
        self.seen_classes.zero_()
        self.epoch = 0

    @torch.no_grad()
    def _repotentiate(self, units: Tensor) -> None:
        """Give ``units`` back their full potential connectivity: every missing input synapse
        grows with an initial weight uniform in [0.01, 0.1] (as at the start), so they learn a
        new phase as the first phase's units learned the first; their homeostatic biases, raised
        while they were unused, make them win the competition at first (growth events are
        counted in the ledger)."""
        if not bool(units.any()):
            return
        init = torch.rand(self.hidden.w.shape, generator=self.generator) * 0.09 + 0.01
        where = units[:, None] & ~self.hidden.mask & self.potential
        self.hidden.grow(where, init=init.to(self.hidden.w.device))

    @torch.no_grad()
    def on_epoch_end(self, epoch: int) -> None:
        p = self.p
        self._flush_readout()
        if self.hidden_plastic:
            if epoch + 1 >= p.prune_epoch:
                if p.reserve:
                    # consolidated units do not learn in this phase but are not unused
                    used = self.activity.masked_fill(self.consolidated, 1.0)
                    prune_unconnected_units(self.hidden, used)
                if p.budget:
                    prune_to_budget(self.hidden, p.budget)
                    if p.growth:
                        trace = self.trace * self.potential  # grow only inside the window
                        grow_from_coincidence(self.hidden, trace, self.activity, p.budget)
            if p.silent_pruning:
                self.silent.check(self.hidden)
        self.trace.zero_()
        self.activity.zero_()
        self.epoch = epoch + 1
        self.trained_epochs += 1

    # ------------------------------------------------------------- queries
    @torch.no_grad()
    def hidden_code(self, x: Tensor) -> Tensor:
        """h = f(g (m − mean m)) with m_j the fraction of unit j's template present in x."""
        return template_code(x, self.hidden.w.detach(), self.p.gain)

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        x = self._normalise(x)
        h = self.hidden_code(x)
        counter = active_counter()
        if counter is not None:
            counter.add_linear(x, self.hidden.w, None)
            counter.add_linear(h, self.readout.w, self.readout_bias.w)
        out = h @ self.readout.w.T + self.readout_bias.w
        if self.p.readout_centred and self.p.readout in ("softmax", "perceptron"):
            out = out - self.readout.w @ self.h_mean  # W (h − h̄) + b: a constant per class
        if self.p.phase_gate != "off" and self.phase_index > 0:
            out = self._gate_by_phase(x, out)
        return out

    def _gate_by_confidence(self, out: Tensor) -> Tensor:
        """Only the classes of the phase whose readout is most confident compete: for each
        phase p, c_p = max over its classes of the softmax over its classes (the readout of
        each phase was normalised over that phase's classes only, so raw outputs of different
        phases are not comparable, but each phase's confidence is). A phase with one class is
        always fully confident: use another gate there."""
        phases = self.class_phase
        confidence = torch.full((out.shape[0], self.phase_index + 1), -1.0, device=out.device)
        for phase in range(self.phase_index + 1):
            members = phases == phase
            if bool(members.any()):
                probs = torch.softmax(out[:, members], dim=1)
                confidence[:, phase] = probs.max(1).values
        best_phase = confidence.argmax(1)
        other = phases[None, :] != best_phase[:, None]
        return out.masked_fill(other & (phases[None, :] >= 0), -1e4)

    def _gate_by_calibrated_output(self, out: Tensor) -> Tensor:
        """Only the classes of the phase whose largest output is highest *relative to that
        phase's own training samples* compete: the phase p (from 0) with the largest
        z_p − δ p, z_p = (max_{c in p} out_c − μ_p) / σ_p, with μ_p and σ_p the mean and s.d. of
        that maximum over the phase's samples in its last epoch (recorded then; no sample of
        another phase is needed) and δ = ``gate_margin`` (a later phase must be more typical of
        itself by δ standard deviations). A phase without recorded moments has z = 0."""
        phases = self.class_phase
        n, total, squares = self.gate_moments[: self.phase_index + 1].unbind(1)
        mean = (total / n.clamp(min=1)).float()
        sd = (squares / n.clamp(min=1) - (total / n.clamp(min=1)) ** 2).clamp(min=1e-12).sqrt()
        score = torch.full((out.shape[0], self.phase_index + 1), float("-inf"), device=out.device)
        for phase in range(self.phase_index + 1):
            members = phases == phase
            if bool(members.any()):
                top = out[:, members].max(1).values
                z = (top - mean[phase]) / sd[phase].float() if n[phase] > 1 else 0.0
                score[:, phase] = z - self.p.gate_margin * phase
        best_phase = score.argmax(1)
        other = phases[None, :] != best_phase[:, None]
        return out.masked_fill(other & (phases[None, :] >= 0), -1e4)

    def _gate_by_phase(self, x: Tensor, out: Tensor) -> Tensor:
        """Only the classes learned in the phase of the best-matching hidden unit compete.

        The best unit maximises the template match m_j = w_j·x / Σ_i w_ij (``template``) or the
        competition's distance score w_j·x − ½‖w_j‖² (``match``, no bias) over connected units;
        a unit connected now but not consolidated belongs to the current phase.
        """
        if self.p.phase_gate == "confidence":
            return self._gate_by_confidence(out)
        if self.p.phase_gate == "calibrated":
            return self._gate_by_calibrated_output(out)
        w = self.hidden.w.detach()
        if self.p.phase_gate == "template":
            score = (x @ w.T) / w.sum(1).clamp(min=1e-12)
        else:
            score = x @ w.T - 0.5 * (w * w).sum(1)
        connected = self.hidden.mask.any(1)
        score = score.masked_fill(~connected, float("-inf"))
        unit_phase = torch.where(
            self.consolidated, self.unit_phase, torch.full_like(self.unit_phase, self.phase_index)
        )
        best_phase = unit_phase[score.argmax(1)]
        other = self.class_phase[None, :] != best_phase[:, None]
        return out.masked_fill(other & (self.class_phase[None, :] >= 0), -1e4)

    def synapses(self) -> list[Synapses]:
        return [self.hidden, self.hidden_bias, self.readout, self.readout_bias]

    def synapse_roles(self) -> list[SynapseRole]:
        return [
            *dense_layer_roles("hidden.weight", "hidden.bias", "input", "input", "hidden1"),
            *dense_layer_roles("readout.weight", "readout.bias", "output", "hidden1", "output"),
        ]

    @property
    def architecture(self) -> str:
        n_hidden, n_in = self.hidden.w.shape
        return f"{n_in}-{n_hidden}-{self.n_classes}"

    def connected_units(self) -> int | None:
        """Hidden units that have at least one input synapse (the rest are the reserve)."""
        return int(self.hidden.mask.any(1).sum())

    def learner_state(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "trained_epochs": self.trained_epochs,
            "readout_steps": self.readout_steps,
            "phase_index": self.phase_index,
            "silent_count": self.silent.count,
        }

    def load_learner_state(self, state: dict[str, Any]) -> None:
        self.epoch = int(state["epoch"])
        self.trained_epochs = int(state.get("trained_epochs", self.epoch))
        self.readout_steps = int(state.get("readout_steps", 0))
        self.phase_index = int(state.get("phase_index", 0))
        self.silent.count = state["silent_count"]


@register_method(
    "structural",
    StructuralParams,
    "competitive Hebbian + homeostasis + synapse pruning/growth, local readout (no backprop)",
    # defaults chosen on the ten-class validation split (preset ten); Table 2's three-class
    # setting is the preset table2 (REPRODUCING.md §2)
    in_default_comparison=True,
)
def build_structural(ctx: BuildContext, p: StructuralParams) -> Learner:
    """Build the structural-plasticity learner."""
    return StructuralLearner(ctx, p)
