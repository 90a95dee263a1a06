"""Unsupervised STDP network of Diehl & Cook (2015) with label assignment by vote.

Training presents each sample to the network of :mod:`neuroplastic.models.diehl_cook` and
proposes the pair-based STDP change of :mod:`neuroplastic.rules.stdp`; the new input weights
``normalise(clip(W + ΔW, 0, w_max))`` are written through ``Synapses.apply`` (so the ledger
counts M0/M1) once per presentation (``mode="online"``) or once per batch (``mode="batched"``).
No gradient is computed anywhere.

**Online vs batched.** Online presents one sample at a time (as the paper), with the weights of
the previous sample: input currents sum only the weight rows of the inputs that spiked, and the
STDP sums are computed from the spike events (pre × post pairs), not from per-step traces.
Batched presents B samples at once with the weights and thresholds θ at the start of the batch,
and writes the *sum* of the B per-sample changes (then clips and normalises once); θ adds the
sum of the B samples' increments. With B = 1 the two modes are the same computation; with B > 1
batched learning equals a sequential presentation in which weights and θ are frozen during the
batch and the updates accumulated (tested against such a reference). Within one presentation the
weights are fixed and the update is written at its end (the paper changes them continuously; a
presentation's change is O(η_post) per output spike).

**Labels** (never from test data), ``assign="running"``: during training each neuron's mean
spike count per class is tracked (an exponential average over about ``assign_window`` samples of
that class, bias-corrected); a neuron is assigned the class for which it fires most.
``assign="replay"`` (Diehl & Cook's evaluation): the last ``assign_samples`` training samples
are kept and, when labels are needed after training has moved on, presented again without
learning (θ fixed, as at test) with the current weights; each neuron takes the class with its
highest mean spike count. ``predict`` presents
the sample without learning (θ fixed) and scores each class by the mean spike count of its
neurons. Samples evoking fewer than ``min_spikes`` spikes are presented again with the input rate
raised by ``boost_hz`` (the paper's rule), up to ``max_boosts`` times.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import Field
from torch import Tensor

from neuroplastic.energy.synops import active_counter
from neuroplastic.errors import NonFiniteUpdateError, ParameterError
from neuroplastic.methods.base import BuildContext, Learner, LearnerTags, TrainingParams, one_hot
from neuroplastic.methods.registry import register_method
from neuroplastic.models.diehl_cook import (
    DiehlCookParams,
    input_currents,
    normalized,
    poisson_events,
    poisson_raster,
    simulate,
    theta_decay,
)
from neuroplastic.roles import SynapseRole
from neuroplastic.rules.stdp import STDPParams, stdp_delta, stdp_event_sums, stdp_step_sums
from neuroplastic.synapses import Synapses


class STDPDiehlCookParams(TrainingParams, STDPParams, DiehlCookParams):
    """Diehl & Cook (2015) STDP network; fields of the rule and of the network.

    Defaults: the rule of Diehl & Cook's published code (nearest-spike traces, potentiation
    gated by a 40 ms post trace), labels by a learning-free replay of the last 10,000 training
    samples, batched B = 10 (86.04 % test at 100 neurons, one epoch, seed 0). The paper text's
    pair rule: ``trace="additive", tau_post2=0``."""

    epochs: int = Field(1, ge=1, le=10_000, description="passes over the training set")
    batch_size: int = Field(10, ge=1, le=100_000, description="samples per train_step")
    trace: Literal["additive", "nearest"] = Field(
        "nearest", description="a spike adds 1 to its trace, or sets it to 1 (nearest spike)"
    )
    tau_post2: float = Field(
        40.0, ge=0, le=1e6, description="slow post trace (ms) gating potentiation; 0: pair rule"
    )
    mode: Literal["batched", "online"] = Field(
        "batched", description="one write per batch, or one per sample (as the paper)"
    )
    assign_window: int = Field(
        5000, ge=1, le=10**9, description="samples per class averaged for label assignment"
    )
    assign: Literal["running", "replay"] = Field(
        "replay",
        description="labels from running spike counts during training, or from a "
        "learning-free replay of the last assign_samples training samples",
    )
    assign_samples: int = Field(
        10_000, ge=1, le=1_000_000, description="training samples kept for assign='replay'"
    )
    predict_seed: int = Field(12345, ge=0, description="seed of the Poisson input at predict")
    engine: Literal["auto", "numba", "torch"] = Field(
        "auto",
        description="numba: event-driven CPU kernel; torch: tensor ops (any device); "
        "auto: numba on the CPU when installed",
    )


def _load_kernel() -> Any:
    """The Numba kernels (:mod:`neuroplastic.methods._stdp_kernel`), or None without Numba."""
    try:
        from neuroplastic.methods import _stdp_kernel
    except ImportError:
        return None
    return _stdp_kernel


def _sub(model: type[Any], p: STDPDiehlCookParams) -> Any:
    return model.model_validate(p.model_dump(include=set(model.model_fields)))


class STDPDiehlCookLearner(Learner):
    """Excitatory layer trained by STDP; classes read out by vote of assigned neurons."""

    tags: ClassVar[LearnerTags] = {"local": True}

    theta: Tensor
    class_rates: Tensor
    class_seen: Tensor
    replay_x: Tensor
    replay_y: Tensor
    replay_seen: Tensor

    def __init__(self, ctx: BuildContext, p: STDPDiehlCookParams) -> None:
        super().__init__()
        self.ledger = ctx.ledger
        self.p = p
        self.rule: STDPParams = _sub(STDPParams, p)
        self.net: DiehlCookParams = _sub(DiehlCookParams, p)
        self.n_in, self.n_exc, self.n_classes = ctx.n_features, ctx.hidden[0], ctx.n_classes
        self.total = p.norm_per_input * self.n_in
        w0 = torch.rand(self.n_exc, self.n_in, generator=ctx.generator) * p.init_max
        self.fc1 = Synapses(
            "fc1.weight", normalized(w0, self.total).to(ctx.device), ledger=ctx.ledger
        )
        self.register_buffer("theta", torch.zeros(self.n_exc, device=ctx.device))
        self.register_buffer(
            "class_rates", torch.zeros(self.n_classes, self.n_exc, device=ctx.device)
        )
        self.register_buffer("class_seen", torch.zeros(self.n_classes, device=ctx.device))
        kept = p.assign_samples if p.assign == "replay" else 0
        self.register_buffer("replay_x", torch.zeros(kept, self.n_in, device=ctx.device))
        self.register_buffer("replay_y", torch.zeros(kept, dtype=torch.long, device=ctx.device))
        self.register_buffer("replay_seen", torch.zeros((), dtype=torch.long))
        self._replayed: tuple[int, Tensor] | None = None  # (writes, assignments) cache
        seed = int(torch.randint(0, 2**62, (1,), generator=ctx.generator))
        self.gen = torch.Generator(device=ctx.device).manual_seed(seed)
        self.writes = 0
        self.kernel = None if p.engine == "torch" or ctx.device.type != "cpu" else _load_kernel()
        if p.engine == "numba" and self.kernel is None:
            raise ParameterError(
                "stdp-diehl-cook: engine='numba' needs Numba and the CPU "
                f"(device {ctx.device.type}; pip install 'neuroplastic[fast]')"
            )
        self._acc: tuple[np.ndarray, np.ndarray] | None = None  # float64 (n, n_in) A, D
        self._dw: Tensor | None = None  # float32 (n, n_in), zero between writes

    # ------------------------------------------------------------- presentation
    def _present(
        self, x: Tensor, w_in_major: Tensor, learn: bool, gen: torch.Generator
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Spike counts (B, n) of the last presentation of each sample, and the STDP sums."""
        batch = x.shape[0]
        counts = torch.zeros(batch, self.n_exc, device=x.device)
        a_sum = torch.zeros(self.n_exc, self.n_in, device=x.device)
        d_sum = torch.zeros_like(a_sum)
        spikes_total = torch.zeros(self.n_exc, device=x.device)
        idx = torch.arange(batch, device=x.device)
        rate = self.net.max_rate_hz
        for _ in range(self.net.max_boosts + 1):
            events = poisson_events(x[idx], rate, self.net.steps, self.net.dt, gen)
            raster = simulate(input_currents(events, w_in_major), self.theta, self.net)
            counter = active_counter()
            if counter is not None:  # each input spike is one event per existing synapse
                reach = (w_in_major != 0).sum(1).to(torch.float64)
                counter.add_events(
                    dense=float(events.batch * self.net.steps * w_in_major.numel()),
                    effective=float(reach[events.i].sum()),
                )
            c = raster.sum(0).to(counts.dtype)
            counts[idx] = c
            if learn and not self.rule.linear:  # nearest-spike traces / triplet: step by step
                pre = torch.zeros(self.net.steps, len(idx), self.n_in, device=x.device)
                pre[events.t, events.b, events.i] = 1.0
                a, d = stdp_step_sums(pre, raster, self.rule)
                a_sum += a
                d_sum += d
                spikes_total += c.sum(0)
            elif learn:
                post = torch.nonzero(raster)  # (t, b, j), b indexes x[idx]
                a, d = stdp_event_sums(
                    events.raster,
                    events.col_b,
                    events.col_i,
                    (post[:, 0], post[:, 1], post[:, 2]),
                    self.n_in,
                    self.n_exc,
                    self.rule,
                )
                a_sum += a
                d_sum += d
                spikes_total += c.sum(0)
            low = c.sum(1) < self.net.min_spikes
            if not bool(low.any()):
                break
            idx = idx[low]
            rate += self.net.boost_hz
        return counts, torch.stack([a_sum, d_sum]), spikes_total

    def _present_fast(self, x: Tensor, learn: bool, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        """:meth:`_present` by the Numba kernel: spike counts (B, n) of the last presentation of
        each sample and the spikes of each neuron over all presentations; with ``learn`` the
        STDP sums are added to the accumulators ``self._acc``."""
        kernel = self.kernel
        assert kernel is not None
        net = self.net
        batch = x.shape[0]
        counts = torch.zeros(batch, self.n_exc)
        spikes_total = torch.zeros(self.n_exc, dtype=torch.float64)
        w = self.fc1.w.detach().numpy()
        theta = self.theta.numpy()
        if learn and self._acc is None:
            self._acc = (np.zeros(w.shape), np.zeros(w.shape))
        acc = self._acc if learn and self._acc is not None else (np.zeros((1, 1)),) * 2
        decay = math.exp(-net.dt / net.tau_m)
        consts = np.array(
            [decay, net.v_rest * (1.0 - decay), net.v_reset, net.v_thresh, net.theta_plus,
             net.w_inh, net.v_rest],
            dtype=np.float32,
        )  # fmt: skip
        d = np.arange(net.steps + 1) * self.rule.dt
        pre_decay = np.exp(-d / self.rule.tau_pre)
        post_decay = np.exp(-d / self.rule.tau_post)
        tau2 = self.rule.tau_post2
        post2_decay = np.exp(-d / tau2) if tau2 > 0 else np.zeros(0)
        nearest = self.rule.trace == "nearest"
        idx = torch.arange(batch)
        rate = net.max_rate_hz
        for _ in range(net.max_boosts + 1):
            raster, col_b, col_i = poisson_raster(x[idx], rate, net.steps, net.dt, gen)
            col_start = torch.zeros(idx.numel() + 1, dtype=torch.long)
            col_start[1:] = torch.bincount(col_b, minlength=idx.numel()).cumsum(0)
            c = np.zeros((idx.numel(), self.n_exc), dtype=np.float32)
            kernel.present(
                w, theta, raster.numpy(), col_start.numpy(), col_i.numpy(), consts,
                round(net.refractory / net.dt), net.one_spike, learn, nearest, pre_decay,
                post_decay, post2_decay, c, acc[0], acc[1],
            )  # fmt: skip
            ct = torch.from_numpy(c)
            self._count_synops(raster, col_i, idx.numel())
            counts[idx] = ct
            spikes_total += ct.sum(0, dtype=torch.float64)
            low = ct.sum(1) < net.min_spikes
            if not bool(low.any()):
                break
            idx = idx[low]
            rate += net.boost_hz
        return counts, spikes_total

    def _count_synops(self, raster: Tensor, col_i: Tensor, batch: int) -> None:
        """Each input spike is one synaptic event per existing synapse of its input."""
        counter = active_counter()
        if counter is not None:
            w = self.fc1.w.detach()
            reach = (w != 0).sum(0).to(torch.float64)  # synapses per input
            per_col = raster.sum(0).to(torch.float64)
            counter.add_events(
                dense=float(batch * raster.shape[0] * w.numel()),
                effective=float(per_col @ reach[col_i]),
            )

    def _propose_fast(self, spikes: Tensor) -> tuple[Tensor, bool]:
        """ΔW of the rows of the neurons that spiked (zero elsewhere) from the accumulated sums
        (kernel :func:`~neuroplastic.methods._stdp_kernel.propose`), and whether it is finite."""
        assert self.kernel is not None and self._acc is not None
        if self._dw is None:
            self._dw = torch.zeros_like(self.fc1.w.detach())
        r = self.rule
        rule = np.array([r.eta_post, r.eta_pre, r.x_tar, r.mu, r.w_max])
        finite = self.kernel.propose(
            self.fc1.w.detach().numpy(), self._acc[0], self._acc[1], spikes.numpy(), rule,
            float(self.total), self._dw.numpy(),
        )  # fmt: skip
        if not finite:
            self._dw.zero_()
        return self._dw, bool(finite)

    @torch.no_grad()
    def _learn(self, x: Tensor, y: Tensor) -> None:
        w = self.fc1.w.detach()
        if self.kernel is not None:
            counts, spikes = self._present_fast(x, True, self.gen)
            dw, finite = self._propose_fast(spikes)
        else:
            counts, sums, spikes = self._present(x, w.T.contiguous(), True, self.gen)
            step = stdp_delta(sums[0], sums[1], spikes, w, self.rule)
            new = normalized((w + step).clamp(0.0, self.rule.w_max), self.total)
            dw = torch.where(spikes[:, None] > 0, new - w, 0.0)  # rows of neurons that spiked
            finite = bool(torch.isfinite(dw).all())
        self.writes += 1
        if not finite:  # the trainer reports this as 'diverged'
            raise NonFiniteUpdateError(
                f"stdp-diehl-cook: non-finite weights proposed at write {self.writes} "
                "(nothing written)"
            )
        self.fc1.apply(dw)
        if self.kernel is not None:
            dw[spikes > 0] = 0.0  # the buffer is zero between writes
        spikes = spikes.to(self.theta.dtype)
        decay = theta_decay(self.net) ** x.shape[0]
        self.theta.mul_(decay).add_(spikes, alpha=self.net.theta_plus)
        self._count_classes(counts, y)

    def _count_classes(self, counts: Tensor, y: Tensor) -> None:
        hot = one_hot(y.to(counts.device), self.n_classes, counts.dtype)  # (B, C)
        n_c = hot.sum(0)
        mean = (hot.T @ counts) / n_c.clamp(min=1)[:, None]
        keep = 1.0 - 1.0 / self.p.assign_window
        lam = 1.0 - keep**n_c
        self.class_rates += lam[:, None] * (mean - self.class_rates)
        self.class_seen += n_c

    def _keep_for_replay(self, x: Tensor, y: Tensor) -> None:
        """Ring buffer of the last ``assign_samples`` training samples."""
        size = self.replay_x.shape[0]
        x, y = x[-size:], y[-size:].to(self.replay_y.device)
        pos = (int(self.replay_seen) + torch.arange(x.shape[0])) % size
        self.replay_x[pos.to(self.replay_x.device)] = x.to(self.replay_x.dtype)
        self.replay_y[pos.to(self.replay_y.device)] = y
        self.replay_seen += x.shape[0]

    def assignments(self) -> Tensor:
        """Class of each excitatory neuron (−1: never fired on training data)."""
        if self.p.assign == "replay":
            if self._replayed is None or self._replayed[0] != self.writes:
                kept = min(int(self.replay_seen), self.replay_x.shape[0])
                counts = self.spike_counts(self.replay_x[:kept])
                hot = one_hot(self.replay_y[:kept], self.n_classes, counts.dtype)
                mean = (hot.T @ counts) / hot.sum(0).clamp(min=1)[:, None]
                best = mean.argmax(0)
                none = torch.full_like(best, -1)
                self._replayed = (self.writes, torch.where(mean.max(0).values > 0, best, none))
            return self._replayed[1]
        keep = 1.0 - 1.0 / self.p.assign_window
        corrected = self.class_rates / (1.0 - keep**self.class_seen).clamp(min=1e-12)[:, None]
        best = corrected.argmax(0)
        return torch.where(corrected.max(0).values > 0, best, torch.full_like(best, -1))

    def train_step(self, x: Tensor, y: Tensor) -> None:
        x = x.to(self.fc1.w.device)
        if self.p.mode == "online":
            for k in range(x.shape[0]):
                self._learn(x[k : k + 1], y[k : k + 1])
        else:
            self._learn(x, y)
        if self.p.assign == "replay":
            self._keep_for_replay(x, y)

    @torch.no_grad()
    def spike_counts(self, x: Tensor) -> Tensor:
        """Spike counts (B, n_exc) without learning (θ fixed, fixed-seed Poisson input)."""
        x = x.to(self.fc1.w.device)
        gen = torch.Generator(device=x.device).manual_seed(self.p.predict_seed)
        if self.kernel is not None:
            if x.shape[0] == 0:
                return torch.zeros(0, self.n_exc)
            return torch.cat(
                [self._present_fast(x[k : k + 1024], False, gen)[0]
                 for k in range(0, x.shape[0], 1024)]
            )  # fmt: skip
        w_in_major = self.fc1.w.detach().T.contiguous()
        chunk = 256  # bounds the (T, chunk, n) rasters
        if x.shape[0] == 0:
            return torch.zeros(0, self.n_exc, device=x.device)
        return torch.cat(
            [self._present(x[k : k + chunk], w_in_major, False, gen)[0]
             for k in range(0, x.shape[0], chunk)]
        )  # fmt: skip

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        counts = self.spike_counts(x)
        assign = self.assignments()
        hot = (assign[:, None] == torch.arange(self.n_classes, device=assign.device)).to(
            counts.dtype
        )  # (n, C)
        return (counts @ hot) / hot.sum(0).clamp(min=1)

    def hidden_code(self, x: Tensor) -> Tensor:
        return self.spike_counts(x)

    def synapses(self) -> list[Synapses]:
        return [self.fc1]

    def synapse_roles(self) -> list[SynapseRole]:
        """The input → excitatory weights (the readout is a vote, not synapses)."""
        return [SynapseRole("fc1.weight", "weight", "input", "input", "excitatory")]

    @property
    def architecture(self) -> str:
        return f"{self.n_in}-{self.n_exc}-{self.n_classes}"

    def learner_state(self) -> dict[str, Any]:
        return {"gen": self.gen.get_state(), "writes": self.writes}

    def load_learner_state(self, state: dict[str, Any]) -> None:
        if state:
            self.gen.set_state(state["gen"])
            self.writes = int(state["writes"])


@register_method(
    "stdp-diehl-cook",
    STDPDiehlCookParams,
    "Diehl & Cook 2015: LIF + lateral inhibition + STDP (unsupervised), labels by vote",
    in_default_comparison=False,
)
def build_stdp_diehl_cook(ctx: BuildContext, p: STDPDiehlCookParams) -> Learner:
    """Build the Diehl & Cook STDP network (hidden width = excitatory neurons)."""
    return STDPDiehlCookLearner(ctx, p)
