"""The energy protocol of van Rossum & Pache (2024): ``neuroplastic run energy``.

784-N-10 MLP (biases as synapses), hidden leaky ReLU (slope 0.1) or logistic, linear (or
logistic) output, squared error ``½ Σ (out − onehot)²`` (so the output error is ``out − t``),
weights and biases N(0, 0.03²). Inputs: pixels scaled to 0.01..0.99, minus 0.01, minus the
scalar mean of the training images (applied to train and test alike), plus fixed Gaussian noise
(sd 0.001, seeded) that breaks ties for top-k selection. Online SGD with batch size 1, samples
drawn with replacement, learning rate 0.01 in both layers, no weight decay. Every
``test_every`` samples the accuracy on the evaluation split is measured; training stops at
``target`` (95 %) or after ``max_epochs`` × 60,000 samples. ``stop_on=test`` (the default)
follows the papers, which stop on the *test* set: a reproduction of their measurement, not a
model-selection procedure; ``stop_on=val`` stops on 5,000 held-out training images instead.

Recorded: samples to target, M0, M1, M0_min, M1_min and both inefficiencies, in total and per
layer (``fc1`` = input→hidden weights + hidden biases, ``fc2`` = hidden→output), and with
caching the maintenance energy, consolidation counts and ``energy_total = M1 + maintenance``
(caches are flushed, and the flush paid for, when training stops).

Fast path. The loop is written out for batch size 1: two ``addmv`` forward, the backprop errors
from the *unfiltered* weights, then, without restriction or cache on the CPU, one fused write of
all four groups (:class:`~neuroplastic.synapses.OuterBatch`: with Numba one kernel call counts
every factor and writes and counts the two biases, then one ``addr_`` per weight matrix;
without Numba about 14 torch calls do the same); otherwise ``Synapses.apply_outer`` (rank-1
write, counted from the factors; top-k from the sorted factors under a top-p restriction) for
the weight matrices and ``Synapses.apply`` for the biases. Sample indices, targets and data
are prepared once; torch runs single-threaded by default (``threads``), which on a small shared
CPU avoids thread wake-up costs that dominate batch-1 work.
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from rich.table import Table
from torch import Tensor

from neuroplastic.data import fetch_mnist, load_mnist
from neuroplastic.energy.ledger import Ledger
from neuroplastic.energy.summary import LedgerSummary
from neuroplastic.errors import NonFiniteUpdateError
from neuroplastic.experiments.registry import (
    ExperimentContext,
    ExperimentOutput,
    register_experiment,
)
from neuroplastic.models.mlp import MLP
from neuroplastic.paths import check_data_dir
from neuroplastic.restrict import (
    CacheParams,
    RestrictParams,
    attach_cache,
    attach_restriction,
    describe,
)
from neuroplastic.restrict.params import CacheMode, Policy
from neuroplastic.roles import Roles
from neuroplastic.runs.device import resolve_device
from neuroplastic.synapses import OuterBatch

EPOCH = 60_000
QUICK_SAMPLES = 4000
QUICK_TEST = 1000


class EnergyParams(BaseModel):
    """The batch-1 energy protocol (van Rossum & Pache 2024; caching: Li & van Rossum 2020)."""

    model_config = ConfigDict(extra="forbid")
    n_hid: int = Field(100, ge=1, le=200_000, description="hidden units N (784-N-10)")
    restrict: Policy = Field("none", description="restriction policy (neuroplastic.restrict)")
    p: float = Field(1.0, gt=0, le=1, description="fraction of updates written per layer")
    k: int = Field(100, ge=1, description="plastic hidden units (path policies)")
    restrict_seed: int = Field(0, ge=0, description="seed of random masks / path units")
    cache: bool = Field(False, description="synaptic caching (w = s + l)")
    tau: float | None = Field(1000.0, gt=0, description="cache decay time (samples); none = off")
    c: float = Field(0.001, ge=0, description="maintenance cost per unit |s| per sample")
    theta: float = Field(0.1, gt=0, description="consolidation threshold")
    cache_mode: CacheMode = Field("synapse", description="synapse, neuron-any or neuron-sum")
    lr: float = Field(0.01, gt=0, le=10, description="learning rate (both layers)")
    activation: Literal["leaky_relu", "sigmoid"] = Field(
        "leaky_relu", description="hidden units: leaky ReLU (slope 0.1) or logistic"
    )
    output: Literal["linear", "sigmoid"] = Field("linear", description="output units")
    init_std: float = Field(0.03, gt=0, le=10, description="sd of the N(0, sd²) initial weights")
    target: float = Field(0.95, gt=0, le=1, description="stop at this accuracy")
    max_epochs: float = Field(5.0, gt=0, le=100, description="at most this × 60,000 samples")
    test_every: int = Field(2000, ge=1, description="evaluate every N samples")
    stop_on: Literal["test", "val"] = Field("test", description="split that decides the stop")
    noise: float = Field(0.001, ge=0, description="sd of the tie-breaking input noise")
    threads: int = Field(1, ge=0, le=256, description="torch threads (0 = leave as is)")

    #: ``--set restrict.p=0.1`` and the CLI's restriction / cache options reach these fields
    dotted_names: ClassVar[dict[str, str]] = {
        "restrict.policy": "restrict",
        "restrict.p": "p",
        "restrict.k": "k",
        "restrict.seed": "restrict_seed",
        "cache.enabled": "cache",
        "cache.tau": "tau",
        "cache.c": "c",
        "cache.theta": "theta",
        "cache.mode": "cache_mode",
    }

    def restriction(self) -> RestrictParams:
        """The restriction these parameters describe."""
        return RestrictParams(policy=self.restrict, p=self.p, k=self.k, seed=self.restrict_seed)

    def cache_params(self) -> CacheParams | None:
        """The cache these parameters describe (None without ``cache``)."""
        if not self.cache:
            return None
        return CacheParams(tau=self.tau, c=self.c, theta=self.theta, mode=self.cache_mode)


def prepare_inputs(images: Tensor, mean: float, noise: float, generator: torch.Generator) -> Tensor:
    """uint8 images (n, 28, 28) → float32 (n, 784): ``0.01 + 0.98 x/255 − 0.01 − mean + noise``."""
    x = images.reshape(images.shape[0], -1).to(torch.float32) * (0.98 / 255.0)
    x -= mean
    if noise > 0:
        x += torch.randn(x.shape, generator=generator) * noise
    return x


def load_protocol_data(
    data_dir: str | None, seed: int, noise: float, stop_on: str, quick: bool
) -> dict[str, Tensor]:
    """Train / evaluation tensors of the protocol (the evaluation split is test or val)."""
    check_data_dir(data_dir)
    arrays = load_mnist(fetch_mnist(data_dir), verify=False)
    train_imgs = torch.from_numpy(arrays.train_images)
    train_y = torch.from_numpy(arrays.train_labels).long()
    gen = torch.Generator().manual_seed(seed + 7919)
    if stop_on == "val":
        perm = torch.randperm(train_imgs.shape[0], generator=gen)
        val_idx, train_idx = perm[:5000], perm[5000:]
        eval_imgs, eval_y = train_imgs[val_idx], train_y[val_idx]
        train_imgs, train_y = train_imgs[train_idx], train_y[train_idx]
    else:
        eval_imgs = torch.from_numpy(arrays.test_images)
        eval_y = torch.from_numpy(arrays.test_labels).long()
    if quick:
        eval_imgs, eval_y = eval_imgs[:QUICK_TEST], eval_y[:QUICK_TEST]
    mean = float(train_imgs.to(torch.float64).mean() * (0.98 / 255.0))
    return {
        "x": prepare_inputs(train_imgs, mean, noise, gen),
        "y": train_y,
        "x_eval": prepare_inputs(eval_imgs, mean, noise, gen),
        "y_eval": eval_y,
    }


def _layer_summary(ledger: Ledger, prefix: str) -> dict[str, Any]:
    names = [n for n in ledger.groups if n.startswith(prefix + ".")]
    c = ledger.counts(group=names[0])
    m0_min, m1_min = ledger.minimal(names[0])
    for n in names[1:]:
        c = c.add(ledger.counts(group=n))
        g0, g1 = ledger.minimal(n)
        m0_min, m1_min = m0_min + g0, m1_min + g1
    return {
        "m0": c.m0,
        "m1": c.m1,
        "m0_min": m0_min,
        "m1_min": m1_min,
        "m0_inefficiency": c.m0 / m0_min if m0_min else None,
        "m1_inefficiency": c.m1 / m1_min if m1_min else None,
        "maintenance": c.maintenance,
        "transient_m0": c.transient_m0,
        "transient_m1": c.transient_m1,
    }


_ROW_COST_FIELDS = {
    "m0",
    "m1",
    "m0_min",
    "m1_min",
    "m0_inefficiency",
    "m1_inefficiency",
    "maintenance",
    "energy_total",
    "transient_m0",
    "consolidation_m0",
}
"""The ledger totals a protocol row carries (from :class:`LedgerSummary`)."""


class ProtocolNet:
    """784-N-10 network from Synapses with a hand-written batch-1 backprop step."""

    def __init__(self, p: EnergyParams, n_in: int, n_out: int, generator: torch.Generator):
        self.ledger = Ledger()
        self.mlp = MLP(
            [n_in, p.n_hid, n_out],
            ledger=self.ledger,
            activation_name=p.activation,
            init_std=p.init_std,
            generator=generator,
            requires_grad=False,
        )
        self.groups = self.mlp.synapses()
        self.w1, self.b1, self.w2, self.b2 = self.groups
        self.p = p
        roles = Roles(self.groups, self.mlp.synapse_roles(), owner="the energy protocol network")
        attach_restriction(roles, p.restriction())
        attach_cache(self.groups, p.cache_params())
        self.fast = True  # use the fused batch-1 writer where it applies (False: generic)
        self._fast: OuterBatch | bool | None = None
        # the Parameter objects (module attribute lookup is slow in a batch-1 loop)
        self._params = [g.w for g in self.groups]

    def to(self, device: torch.device) -> ProtocolNet:
        """Move the network to ``device``."""
        self.mlp.to(device)
        self._fast = None
        self._params = [g.w for g in self.groups]
        return self

    def _hidden(self, pre: Tensor) -> Tensor:
        if self.p.activation == "sigmoid":
            return torch.sigmoid(pre)
        return F.leaky_relu(pre, 0.1)

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        """Output scores for a batch (n, 784)."""
        h = self._hidden(F.linear(x, self.w1.w, self.b1.w))
        return F.linear(h, self.w2.w, self.b2.w)

    def fast_writer(self) -> OuterBatch | None:
        """The fused batch-1 writer (:class:`OuterBatch`) when every group can take it, or None.

        Built on first use (after :meth:`to`), so it sees the groups' device and policies.
        """
        if self._fast is None:
            usable = self.fast and OuterBatch.usable(self.groups)
            self._fast = (
                OuterBatch(
                    [(self.w2, 0, 1), (self.b2, 0, None), (self.w1, 2, 3), (self.b1, 2, None)],
                    [
                        self.w2.w.shape[0],
                        self.w2.w.shape[1],
                        self.w1.w.shape[0],
                        self.w1.w.shape[1],
                    ],
                )
                if usable
                else False
            )
        return self._fast if isinstance(self._fast, OuterBatch) else None

    @torch.no_grad()
    def step(self, x: Tensor, target: Tensor) -> None:
        """One online backprop step on one sample (x (784,), one-hot target (10,))."""
        lr = self.p.lr
        w1, b1, w2, b2 = self._params
        pre = torch.addmv(b1, w1, x)
        h = self._hidden(pre)
        out = torch.addmv(b2, w2, h)
        if self.p.output == "sigmoid":
            out = torch.sigmoid(out)
            e2 = (out - target) * out * (1 - out)
        else:
            e2 = out - target
        back = torch.mv(w2.t(), e2)  # errors from the unfiltered weights
        if self.p.activation == "sigmoid":
            e1 = back * h * (1 - h)
        else:  # back where pre > 0, 0.1·back elsewhere
            e1 = torch.ops.aten.leaky_relu_backward(back, pre, 0.1, False)
        fast = self.fast_writer()
        if fast is not None:
            fast.apply([e2, h, e1, x], alpha=-lr)
            return
        self.w2.apply_outer(e2, h, alpha=-lr)
        self.b2.apply(e2, alpha=-lr)
        self.w1.apply_outer(e1, x, alpha=-lr)
        self.b1.apply(e1, alpha=-lr)


@torch.no_grad()
def _accuracy(net: ProtocolNet, x: Tensor, y: Tensor) -> float:
    correct = 0
    for start in range(0, x.shape[0], 5000):
        out = net.predict(x[start : start + 5000])
        correct += int((out.argmax(1) == y[start : start + 5000]).sum())
    return correct / x.shape[0]


def run_protocol(
    p: EnergyParams,
    data: dict[str, Tensor],
    *,
    seed: int = 0,
    device: torch.device | None = None,
    max_samples: int | None = None,
) -> dict[str, Any]:
    """Train until ``p.target`` (or the sample budget) and return the energy record."""
    device = device or torch.device("cpu")
    old_threads = torch.get_num_threads()
    if p.threads:
        torch.set_num_threads(p.threads)
    try:
        gen = torch.Generator().manual_seed(seed)
        n_in, n_out = data["x"].shape[1], 10
        net = ProtocolNet(p, n_in, n_out, gen).to(device)
        x = data["x"].to(device)
        targets = F.one_hot(data["y"], n_out).to(torch.float32).to(device)
        x_eval, y_eval = data["x_eval"].to(device), data["y_eval"].to(device)
        budget = max_samples or round(p.max_epochs * EPOCH)
        order = torch.randint(x.shape[0], (budget,), generator=gen).tolist()
        curve: list[dict[str, float]] = []
        reached: int | None = None
        diverged: str | None = None
        train_s = 0.0
        start = time.perf_counter()
        done = 0
        while done < budget:
            chunk = order[done : min(budget, done + p.test_every)]
            t0 = time.perf_counter()
            stepped = 0
            try:
                for i in chunk:
                    net.step(x[i], targets[i])
                    stepped += 1
            except NonFiniteUpdateError as exc:
                # learning diverged: an outcome to record (nothing non-finite was written)
                diverged = f"after {done + stepped} samples: {exc}"
                chunk = chunk[:stepped]
            train_s += time.perf_counter() - t0
            done += len(chunk)
            acc = _accuracy(net, x_eval, y_eval)
            counts = net.ledger.counts()
            curve.append(
                {
                    "samples": done,
                    "accuracy": acc,
                    "m0": counts.m0,
                    "m1": counts.m1,
                    "maintenance": counts.maintenance,
                }
            )
            if diverged is not None or not math.isfinite(counts.m1):
                break
            if acc >= p.target:
                reached = done
                break
        for group in net.groups:  # end of training: transient weights are consolidated
            group.end_of_training()
        wall = time.perf_counter() - start
    finally:
        if p.threads:
            torch.set_num_threads(old_threads)
    cost = LedgerSummary.from_ledger(net.ledger)
    return {
        "params": p.model_dump(),
        "seed": seed,
        "restriction": describe(p.restriction()),
        "architecture": net.mlp.architecture,
        "target": p.target,
        "stop_on": p.stop_on,
        "reached": reached is not None,
        "diverged": diverged,
        "samples_to_target": reached,
        "samples_seen": done,
        "final_accuracy": curve[-1]["accuracy"] if curve else None,
        **cost.model_dump(include=_ROW_COST_FIELDS),
        "per_layer": {name: _layer_summary(net.ledger, name) for name in ("fc1", "fc2")},
        "curve": curve,
        "wall_s": wall,
        "train_s": train_s,
        "samples_per_s": done / train_s if train_s > 0 else None,
        "threads": torch.get_num_threads() if not p.threads else p.threads,
        "device": str(device),
    }


def energy_table(rows: list[dict[str, Any]]) -> Table:
    """One row per protocol run: learning time and energies."""
    table = Table(title="energy protocol (batch 1, stop at target)", title_justify="left")
    for col in (
        "N",
        "restriction",
        "cache",
        "samples to target",
        "acc",
        "M0",
        "M1",
        "M1/M1_min",
        "M0 fc1/fc2",
        "maint.",
        "samples/s",
    ):
        table.add_column(col)
    for r in rows:
        pl = r["per_layer"]
        ineff = r["m1_inefficiency"]
        table.add_row(
            str(r["params"]["n_hid"]),
            r["restriction"],
            f"θ={r['params']['theta']:g}" if r["params"]["cache"] else "-",
            str(r["samples_to_target"]) if r["reached"] else f"not reached ({r['samples_seen']})",
            f"{r['final_accuracy']:.4f}" if r["final_accuracy"] is not None else "-",
            f"{r['m0']:.3g}",
            f"{r['m1']:.4g}",
            "-" if ineff is None else f"{ineff:.3g}",
            f"{pl['fc1']['m0']:.2g}/{pl['fc2']['m0']:.2g}",
            f"{r['maintenance']:.3g}" if r["params"]["cache"] else "-",
            f"{r['samples_per_s']:.0f}" if r["samples_per_s"] else "-",
        )
    return table


@register_experiment(
    "energy",
    EnergyParams,
    "batch-1 MNIST energy protocol: samples and synaptic writes to 95 % (van Rossum & Pache)",
    options=("seed", "device", "quick", "data_dir", "plasticity"),
    dataset="mnist",
)
def run_energy(params: EnergyParams, ctx: ExperimentContext) -> ExperimentOutput:
    """``neuroplastic run energy --n-hid 100 --restrict top --p 0.1``."""
    device = resolve_device(ctx.device)
    data = load_protocol_data(ctx.data_dir, ctx.seed, params.noise, params.stop_on, ctx.quick)
    result = run_protocol(
        params,
        data,
        seed=ctx.seed,
        device=device,
        max_samples=QUICK_SAMPLES if ctx.quick else None,
    )
    result["quick"] = ctx.quick
    reached = (
        f"{result['target']:.0%} reached after {result['samples_to_target']:,} samples"
        if result["reached"]
        else f"{result['target']:.0%} not reached in {result['samples_seen']:,} samples"
    )
    return ExperimentOutput(
        payload=result,
        tables=[energy_table([result])],
        headline=f"{reached}, M1 {result['m1']:.4g}",
    )
