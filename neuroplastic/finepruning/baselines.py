"""Baselines for personalisation, on the same users and budget as fine-pruning.

Every baseline works on a deep copy of the base model (never on the model or its file), puts
what it writes behind the door (``Synapses`` groups in one ledger, phase ``personalise``) and
reports its compute as samples forwarded and samples back-propagated:

- ``finetune_last_layer``: the upper reference **with labels**: cross-entropy on the user's
  labelled adaptation data, autograd for the output layer only, Adam (lr 1e-3) steps written
  by ``Synapses.apply``. A backward pass reaches only the last layer (``backward_scope``).
- ``magnitude_prune``: the "is it the data or just pruning?" control: remove the smallest
  ``|w|`` per layer to a given sparsity (fine-pruning with ``criterion="magnitude"``, no output
  units removed, no stopping rule): no data are used.
- ``bn_adapt``: batch-norm statistics adaptation (Schneider et al. 2020; "AdaBN"): every BN
  layer's running mean and variance replaced by their values on the user's unlabelled data; one
  forward pass, no gradient, no synapse changes.
- ``tent``: TENT (Wang et al., ICLR 2021): minimise the mean prediction entropy
  ``H = −Σ_k p_k log p_k`` on unlabelled batches w.r.t. the batch-norm affine parameters only,
  with BN normalising by batch statistics during adaptation (their cumulative average becomes
  the running statistics used afterwards), Adam (lr 1e-3), batch 64. Uses gradients: each
  sample costs one forward and one full backward pass.

Compute in forward-pass equivalents: ``forward + 2 · backward`` (a backward pass costs about two
forward passes: gradients with respect to activations and to weights).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from neuroplastic.energy.ledger import Ledger
from neuroplastic.errors import DataError
from neuroplastic.finepruning.door import SynapticModel, _bind
from neuroplastic.finepruning.prune import PHASE, FinePruneParams, fine_prune, reestimate_batchnorm
from neuroplastic.rules.optimizers import AdamParams, Optimizer
from neuroplastic.synapses import Synapses


@dataclass
class Adapted:
    """A personalised model and what personalising it cost."""

    method: str
    model: nn.Module
    forward_samples: int
    backward_samples: int = 0
    backward_scope: str = "none"
    weight_writes: float = 0.0  # ledger M0 in phase personalise
    mask_writes: int = 0  # ledger 'pruned' in phase personalise
    sparsity: float = 0.0
    wall_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def compute(self) -> float:
        """Forward-pass equivalents: forward + 2 · backward (last-layer backward counted so)."""
        return float(self.forward_samples + 2 * self.backward_samples)


def _counts(ledger: Ledger) -> tuple[float, int]:
    c = ledger.counts(phase=PHASE)
    return c.m0, c.pruned


def _batchnorms(net: nn.Module) -> list[tuple[str, nn.modules.batchnorm._BatchNorm]]:
    return [
        (n, m) for n, m in net.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
    ]


def _door_step(groups: list[Synapses], opt: Optimizer) -> None:
    """Write one optimizer step of every group through the door and clear the gradients."""
    for g in groups:
        grad = g.w.grad
        if grad is None:
            continue
        g.apply(opt.direction(g.name, grad.detach(), g.w.detach()), alpha=-opt.lr)
        g.w.grad = None


def finetune_last_layer(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    epochs: int = 5,
    batch_size: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
) -> Adapted:
    """Fine-tune the output layer on the user's **labelled** adaptation data (the upper
    reference): Adam through the door, ``epochs`` passes in seeded order."""
    t0 = time.perf_counter()
    syn = SynapticModel(model)
    out = syn.output_layer
    groups = [g for g in (out.weight, out.bias) if g is not None]
    for g in groups:
        g.w.requires_grad_(True)
    opt = Optimizer("adam", AdamParams(lr=lr))
    gen = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    with syn.ledger.phase(PHASE), torch.enable_grad():
        for _ in range(epochs):
            order = torch.randperm(n, generator=gen)
            for i in range(0, n, batch_size):
                idx = order[i : i + batch_size]
                loss = nn.functional.cross_entropy(syn(x[idx]), y[idx])
                loss.backward()
                _door_step(groups, opt)
    for g in groups:
        g.w.requires_grad_(False)
    m0, pruned = _counts(syn.ledger)
    return Adapted(
        "finetune-last-layer (labels)",
        syn,
        forward_samples=epochs * n,
        backward_samples=epochs * n,
        backward_scope="last layer",
        weight_writes=m0,
        mask_writes=pruned,
        wall_seconds=time.perf_counter() - t0,
    )


def magnitude_prune(model: nn.Module, x: Tensor, sparsity: float) -> Adapted:
    """Remove the smallest ``|w|`` of every layer to ``sparsity`` (no data are used)."""
    t0 = time.perf_counter()
    params = FinePruneParams(
        criterion="magnitude",
        target_sparsity=min(max(sparsity, 0.0), 0.999),
        rounds=1,
        stop="none",
        prune_outputs=False,
        min_samples=2,
    )
    res = fine_prune(model, x, params)
    rec = res.record
    return Adapted(
        "magnitude pruning",
        res.model,
        forward_samples=rec.forward_samples,
        weight_writes=rec.ledger_m0,
        mask_writes=rec.mask_writes,
        sparsity=rec.sparsity,
        wall_seconds=time.perf_counter() - t0,
    )


def bn_adapt(model: nn.Module, x: Tensor, batch_size: int = 500) -> Adapted:
    """Batch-norm statistics re-estimated on the user's unlabelled data (one forward pass)."""
    t0 = time.perf_counter()
    syn = SynapticModel(model)
    if not _batchnorms(syn.net):
        raise DataError(f"{type(model).__name__} has no batch-norm layer to adapt")
    changed, n = reestimate_batchnorm(syn.net, x, batch_size)
    return Adapted(
        "BN adaptation",
        syn,
        forward_samples=n,
        wall_seconds=time.perf_counter() - t0,
        extra={"bn_entries_changed": changed},
    )


class Tent:
    """TENT state for one user: continue adapting with :meth:`adapt` (repeated passes)."""

    def __init__(self, model: nn.Module, lr: float = 1e-3, batch_size: int = 64) -> None:
        self.model = SynapticModel(model)
        self.bns = _batchnorms(self.model.net)
        if not self.bns:
            raise DataError(f"{type(model).__name__} has no batch-norm layer for TENT")
        self.groups: list[Synapses] = []
        for name, bn in self.bns:
            for attr in ("weight", "bias"):
                p = getattr(bn, attr)
                if p is None:
                    continue
                g = Synapses(f"{name}.{attr}", p, ledger=self.model.ledger, requires_grad=True)
                _bind(bn, attr, g)
                self.groups.append(g)
            bn.reset_running_stats()
            bn.momentum = None  # running stats: cumulative average of the adaptation batches
        self.opt = Optimizer("adam", AdamParams(lr=lr))
        self.batch_size = batch_size
        self.forward_samples = 0
        self.backward_samples = 0
        self.seconds = 0.0

    def adapt(self, x: Tensor, samples: int | None = None, seed: int = 0) -> Adapted:
        """Adapt on ``samples`` samples of ``x`` (default one epoch), in seeded order."""
        t0 = time.perf_counter()
        n = x.shape[0]
        budget = n if samples is None else samples
        gen = torch.Generator().manual_seed(seed)
        for _, bn in self.bns:
            bn.train()
        done = 0
        with self.model.ledger.phase(PHASE), torch.enable_grad():
            while done < budget:
                order = torch.randperm(n, generator=gen)
                for i in range(0, n, self.batch_size):
                    idx = order[i : i + min(self.batch_size, budget - done)]
                    if idx.numel() < 2:
                        done = budget
                        break
                    logits = self.model.net(x[idx])
                    logp = torch.log_softmax(logits, 1)
                    loss = -(logp.exp() * logp).sum(1).mean()
                    loss.backward()
                    _door_step(self.groups, self.opt)
                    done += idx.numel()
                    self.forward_samples += idx.numel()
                    self.backward_samples += idx.numel()
                    if done >= budget:
                        break
        for _, bn in self.bns:
            bn.eval()
        self.seconds += time.perf_counter() - t0
        m0, pruned = _counts(self.model.ledger)
        return Adapted(
            "TENT",
            copy.deepcopy(self.model),
            forward_samples=self.forward_samples,
            backward_samples=self.backward_samples,
            backward_scope="full",
            weight_writes=m0,
            mask_writes=pruned,
            wall_seconds=self.seconds,
        )


def tent(
    model: nn.Module, x: Tensor, samples: int | None = None, lr: float = 1e-3, seed: int = 0
) -> Adapted:
    """TENT for one user: ``samples`` adaptation samples (default one epoch over ``x``)."""
    return Tent(model, lr=lr).adapt(x, samples, seed)
