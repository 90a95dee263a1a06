"""Spiking network with smooth exact gradients on MNIST (Klos & Memmesheimer, PRL 2025).

The paper's protocol (spec ``spiking-exact-gradients``): theta neurons (τ = 6/π, I0 = 5/4, so
Θ = 6), trial length T = 2, a feed-forward 784-100-100-10 network whose initial phases start at
Θ/2 (silent) and are trained, kept in [0, Θ]. Pixels >= 128/255 spike once at
``T·ln(1/0.99)``; during training every binarised pixel flips with probability 0.02. Weights
start uniform in ±0.5/sqrt(fan_in). Loss ``−log softmax(−t_out)[label] + 0.01(exp(t_label/T)−1)``
on first output spike times, pseudospikes for silent outputs; prediction = earliest output
spike (with pseudospikes; ``details`` also gives the accuracy with ordinary spikes only).
AdaBelief (β 0.9, 0.999; as ``optax.adabelief``), lr 4e-3 decaying continuously by 1/e every
100 epochs (``lr · exp(−epoch/100)``), batch 1000.

Every update is ``Synapses.apply``: weights ``w ← w − lr·d``; initial phases
``φ ← clip(φ − lr·d, 0, Θ)`` written as the clipped step, so the ledger counts what is
written. The hidden "architecture" is this method's own ``hidden`` parameter (default the
paper's ``100-100``), not the comparison's ``--hidden``, unless ``hidden=experiment``.

Beyond the standard record, :meth:`SpikingExactLearner.spiking_details` measures spikes per
hidden neuron per sample, synaptic events per sample (each spike reaching a layer costs one
event per neuron of that layer) and accuracy with and without pseudospikes; the per-epoch
training history (loss, training accuracy, spikes per hidden neuron) is kept in ``history``.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from pydantic import Field, field_validator
from torch import Tensor

from neuroplastic.methods.base import BuildContext, Learner, TrainingParams
from neuroplastic.methods.registry import register_method
from neuroplastic.results import SpikingFields
from neuroplastic.roles import SynapseRole
from neuroplastic.rules.optimizers import AdaBeliefParams, AdamParams, Optimizer
from neuroplastic.spiking.encoding import binarise, flip
from neuroplastic.spiking.loss import earliest_spike_correct, spike_time_loss
from neuroplastic.spiking.network import ThetaNetwork, synaptic_events
from neuroplastic.spiking.theta import ThetaParams
from neuroplastic.synapses import Synapses


class SpikingExactParams(TrainingParams):
    """The paper's MNIST protocol; every field defaults to its value."""

    epochs: int = Field(100, ge=1, le=10_000, description="passes over the training set")
    batch_size: int = Field(1000, ge=1, le=100_000, description="samples per update")
    hidden: str = Field(
        "100-100", description="hidden widths 'a-b-...', or 'experiment' for --hidden"
    )
    tau: float = Field(6 / math.pi, gt=0, le=1e3, description="membrane time constant τ")
    i0: float = Field(1.25, gt=0.25, le=1e3, description="constant input current I0 (> 1/4)")
    t_end: float = Field(2.0, gt=0, le=1e3, description="trial length T (must be < Θ)")
    phase_init: float = Field(0.5, ge=0, le=1, description="initial phase as a fraction of Θ")
    init_scale: float = Field(
        0.5, gt=0, le=100, description="weights uniform in ±init_scale/sqrt(fan_in)"
    )
    flip_prob: float = Field(0.02, ge=0, le=0.5, description="input bit-flip probability (train)")
    loss_alpha: float = Field(0.01, ge=0, le=10, description="weight α of the early-spike term")
    optimizer: Literal["adabelief", "adam"] = Field("adabelief", description="adabelief or adam")
    lr: float = Field(4e-3, gt=0, le=1, description="learning rate per batch")
    lr_decay_epochs: float = Field(
        100.0, gt=0, le=1e6, description="lr decays by 1/e every this many epochs"
    )
    max_events: int = Field(
        1000, ge=1, le=1_000_000, description="event budget K: most spikes reaching a layer"
    )

    @field_validator("hidden")
    @classmethod
    def _check_hidden(cls, value: str) -> str:
        if value != "experiment":
            parts = value.split("-")
            if not all(p.isdigit() and int(p) >= 1 for p in parts):
                raise ValueError(f"hidden must look like '100-100' or be 'experiment' ({value!r})")
        return value

    def hidden_sizes(self, experiment: tuple[int, ...]) -> list[int]:
        """The hidden widths these parameters select."""
        if self.hidden == "experiment":
            return list(experiment)
        return [int(p) for p in self.hidden.split("-")]

    def quick(self, max_epochs: int) -> SpikingExactParams:
        """``--quick``: at most ``max_epochs`` epochs and batches of at most 200 samples."""
        return self.model_copy(
            update={"epochs": min(self.epochs, max_epochs), "batch_size": min(self.batch_size, 200)}
        )


class SpikingExactLearner(Learner):
    """Theta-neuron network trained by exact spike-time gradients."""

    def __init__(self, ctx: BuildContext, p: SpikingExactParams) -> None:
        super().__init__()
        self.ledger = ctx.ledger
        self.params = p
        neuron = ThetaParams(tau=p.tau, i0=p.i0)
        sizes = [ctx.n_features, *p.hidden_sizes(ctx.hidden), ctx.n_classes]
        self.network = ThetaNetwork(
            sizes,
            neuron=neuron,
            t_end=p.t_end,
            max_events=p.max_events,
            ledger=ctx.ledger,
            generator=ctx.generator,
            init_scale=p.init_scale,
            phase_init=p.phase_init,
        )
        opt: AdaBeliefParams | AdamParams
        opt = AdaBeliefParams(lr=p.lr) if p.optimizer == "adabelief" else AdamParams(lr=p.lr)
        self.optimizer = Optimizer(p.optimizer, opt)
        seed = int(torch.randint(0, 2**62, (1,), generator=ctx.generator))
        self.noise = torch.Generator().manual_seed(seed)
        self.epoch = 0
        self.history: list[dict[str, float]] = []
        self._running = _Running()

    # ------------------------------------------------------------ training
    @property
    def lr(self) -> float:
        """Current learning rate ``lr · exp(−epoch / lr_decay_epochs)``."""
        return self.params.lr * math.exp(-self.epoch / self.params.lr_decay_epochs)

    def train_step(self, x: Tensor, y: Tensor) -> None:
        p = self.params
        bits = flip(binarise(x), p.flip_prob, self.noise)
        net = self.network
        trial = net.simulate(bits)
        t_out = net.output_times(trial, pseudo=True)
        loss = spike_time_loss(t_out, y, p.t_end, p.loss_alpha)
        groups = net.synapse_groups()
        grads = torch.autograd.grad(loss, [g.w for g in groups])
        self.report_objective(loss)
        lr = self.lr
        for syn, grad in zip(groups, grads, strict=True):
            d = self.optimizer.direction(syn.name, grad, syn.w.detach())
            if syn in net.phase_groups:
                syn.apply(net.clip_phase_step(syn, -lr * d))
            else:
                syn.apply(d, alpha=-lr)
        with torch.no_grad():  # epoch sums kept as tensors: no per-batch host sync
            self._running.add(
                loss=loss.detach().double() * len(y),
                correct=earliest_spike_correct(t_out, y).sum(),
                correct_ordinary=earliest_spike_correct(trial.output_first_spike, y).sum(),
                hidden_spikes=sum(layer.n_spikes for layer in trial.layers[:-1]),
                events=sum(
                    layer.received.counts.sum() * n
                    for layer, n in zip(trial.layers, net.sizes[1:], strict=True)
                ),
                samples=len(y),
            )

    def on_epoch_end(self, epoch: int) -> None:
        """Record the epoch's training statistics and decay the learning rate."""
        n_hidden = sum(self.network.sizes[1:-1])
        self.history.append({"epoch": epoch + 1, "lr": self.lr, **self._running.summary(n_hidden)})
        self._running = _Running()
        self.epoch = epoch + 1

    # ---------------------------------------------------------- prediction
    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        """Scores ``−t_out`` (B, classes): earliest output spike wins, pseudospikes included."""
        return -self.network(binarise(x))

    @torch.no_grad()
    def spiking_details(self, x: Tensor, y: Tensor, batch_size: int = 1000) -> dict[str, Any]:
        """Accuracy with and without pseudospikes, spikes per hidden neuron per sample,
        synaptic events per sample, and the fraction of samples with an ordinary output spike."""
        net = self.network
        run = _Running()
        with_output = 0
        for start in range(0, x.shape[0], batch_size):
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            trial = net.simulate(binarise(xb))
            first = trial.output_first_spike
            run.add(
                loss=0.0,
                correct=int(earliest_spike_correct(net.output_times(trial), yb).sum()),
                correct_ordinary=int(earliest_spike_correct(first, yb).sum()),
                hidden_spikes=sum(layer.n_spikes for layer in trial.layers[:-1]),
                events=float(synaptic_events(trial, net.sizes).sum()),
                samples=len(yb),
            )
            with_output += int(torch.isfinite(first).any(1).sum())
        out = run.summary(sum(net.sizes[1:-1]))
        out.pop("loss")
        out["fraction_with_output_spike"] = with_output / max(run.samples, 1)
        return out

    def method_fields(self, x: Tensor, y: Tensor) -> SpikingFields:
        """The spiking part of the result record on (x, y)."""
        d = self.spiking_details(x, y)
        return SpikingFields(
            spikes_per_hidden_neuron=d["spikes_per_hidden_neuron"],
            synaptic_events_per_sample=d["synaptic_events_per_sample"],
            accuracy_no_pseudospikes=d["accuracy_no_pseudospikes"],
        )

    # ----------------------------------------------------------- plumbing
    def synapses(self) -> list[Synapses]:
        return self.network.synapse_groups()

    def synapse_roles(self) -> list[SynapseRole]:
        return self.network.synapse_roles()

    @property
    def architecture(self) -> str:
        return self.network.architecture

    def learner_state(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer.state_dict(),
            "noise": self.noise.get_state(),
            "epoch": self.epoch,
            "history": list(self.history),
        }

    def load_learner_state(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self.optimizer.load_state_dict(state["optimizer"])
        self.noise.set_state(state["noise"])
        self.epoch = int(state["epoch"])
        self.history = list(state["history"])


class _Running:
    """Sums over the batches of an epoch (training) or a split (evaluation)."""

    def __init__(self) -> None:
        self.loss: float | Tensor = 0.0
        self.correct: int | Tensor = 0
        self.correct_ordinary: int | Tensor = 0
        self.hidden_spikes = 0
        self.events: float | Tensor = 0.0
        self.samples = 0

    def add(self, **values: Any) -> None:
        for key, value in values.items():
            setattr(self, key, getattr(self, key) + value)

    def summary(self, n_hidden: int) -> dict[str, float]:
        n = max(self.samples, 1)
        return {
            "loss": float(self.loss) / n,
            "accuracy": int(self.correct) / n,
            "accuracy_no_pseudospikes": int(self.correct_ordinary) / n,
            "spikes_per_hidden_neuron": self.hidden_spikes / (n * max(n_hidden, 1)),
            "synaptic_events_per_sample": float(self.events) / n,
            "samples": float(self.samples),
        }


@register_method(
    "spiking-exact",
    SpikingExactParams,
    "theta-neuron SNN, exact spike-time gradients + pseudospikes (Klos & Memmesheimer 2025)",
    in_default_comparison=False,
)
def build_spiking_exact(ctx: BuildContext, p: SpikingExactParams) -> Learner:
    """Build the spiking network of the paper's MNIST protocol."""
    return SpikingExactLearner(ctx, p)
