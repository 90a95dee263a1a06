"""Sparse Evolutionary Training (``set-sparse``): a sparse MLP at a fixed synapse budget whose
connectivity evolves by pruning the weakest weights and regrowing as many at random.

Mocanu, Mocanu, Stone, Nguyen, Gibescu & Liotta, "Scalable training of artificial neural
networks with adaptive sparse connectivity inspired by network science", *Nature
Communications* 9:2383 (2018). The sparse-training baseline a reviewer names first for "how
well does backprop do at this many synapses if it may also choose *which* synapses".

- *Architecture*: an MLP ``784-h-10`` (the comparison's ``--hidden``; several hidden layers
  are allowed) whose weight matrices hold exactly ``budget`` existing synapses in all (biases
  are dense and not in the budget, as for ``pruned-backprop``).
- *Initial sparsity* (``sparsity``): ``erdos-renyi`` (the paper's): layer ``k`` with
  ``n_in × n_out`` sites gets density ``p_k = min(1, ε (n_in + n_out) / (n_in n_out))``, one
  ε for all layers chosen so that ``Σ_k p_k n_in n_out = budget`` (layers that would exceed
  density 1 are dense and the rest share what is left); ``uniform``: the same density
  ``budget / Σ_k n_in n_out`` in every layer. Counts are rounded so that they sum to exactly
  ``budget``; the positions are drawn uniformly at random (the run's seeded generator), the
  weights as in backprop (``U(±1/√n_in)``, or ``init_std``) and kept only where a synapse is.
- *Training*: backprop (Adam or SGD, the :class:`BackpropParams` fields); ``Synapses.apply``
  never writes a site without a synapse, so the mask holds between rewiring steps.
- *Rewiring* (after every epoch but the last, in ``on_epoch_end``): in each weight matrix with
  ``E`` existing synapses and at least one empty site, the ``n = round(ζ · E)`` existing
  synapses with the smallest ``|w|`` are pruned (ties: the earlier position goes first) and
  ``n`` new ones grow at positions drawn uniformly at random among the sites that were *empty
  before the step* (just-pruned sites are used only if there are fewer than ``n`` such sites).
  ``ζ = 0.3`` is the paper's. The paper prunes the ζ-fraction of the smallest positive and of
  the largest negative weights separately; ranking all by ``|w|`` prunes the same weights when
  the two signs are balanced and is the usual reading (e.g. Evci et al. 2020, RigL).
  New weights start at ``U(±1/√n_in)`` (``regrow_init = random``, like the paper's random
  initialisation) or at 0 (``zero``, as in RigL; they are silent until their first update).
  The optimizer's moments at a regrown site are reset to zero (they would otherwise hold the
  gradients the empty site received). The existing count, hence the non-silent count with
  ``regrow_init = random``, is ``budget`` at every step.
- *Counting*: every removal goes through ``Synapses.prune`` (the ledger's ``pruned``) and every
  creation through ``Synapses.grow`` (one write of its initial value: ``M0 += 1``,
  ``M1 += |w_new|``); both are charged to ledger phase ``rewire``. The optimizer's writes are
  counted by ``Synapses.apply`` as for backprop.
- *Resuming*: the generator of the random regrowth is part of the learner state, so a resumed
  run rewires exactly as an uninterrupted one.
- It is not in the default comparison: select it with ``--methods set-sparse``; the
  equal-budget contest (``neuroplastic run equal-budget``) runs it beside the structural rule.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, Literal

import torch
from pydantic import Field
from torch import Tensor

from neuroplastic.errors import ParameterError
from neuroplastic.methods.backprop import BackpropLearner, BackpropParams
from neuroplastic.methods.base import BuildContext, Learner
from neuroplastic.methods.registry import register_method
from neuroplastic.models.layers import DenseLayer
from neuroplastic.synapses import Synapses

Sparsity = Literal["erdos-renyi", "uniform"]


class SetSparseParams(BackpropParams):
    """Backprop on a sparse MLP at ``budget`` weights, rewired after every epoch (SET)."""

    budget: int = Field(
        25_000, gt=0, le=10**10, description="existing weights (all layers, biases excluded)"
    )
    zeta: float = Field(
        0.3, gt=0, lt=1, description="fraction of each layer's synapses pruned and regrown"
    )
    sparsity: Sparsity = Field(
        "erdos-renyi", description="initial density per layer: erdos-renyi or uniform"
    )
    regrow_init: Literal["random", "zero"] = Field(
        "random", description="new weights: U(±1/√n_in) (random) or 0 (zero)"
    )


def layer_budgets(shapes: Sequence[tuple[int, int]], budget: int, sparsity: Sparsity) -> list[int]:
    """Existing synapses per layer of ``(n_out, n_in)`` shapes, summing to ``min(budget, all)``.

    ``erdos-renyi``: ``p_k = min(1, ε (n_in + n_out) / (n_in n_out))`` with one ε for all
    layers; ``uniform``: ``p_k = budget / Σ n_in n_out``. Fractional counts are floored and the
    remainder goes to the largest fractional parts (earlier layer first on ties).
    """
    if budget < 1:
        raise ParameterError(f"budget must be >= 1 (got {budget})")
    sizes = [n_out * n_in for n_out, n_in in shapes]
    total = sum(sizes)
    if budget >= total:
        return sizes
    if sparsity == "uniform":
        ideal = [budget * n / total for n in sizes]
    else:
        dense: set[int] = set()
        while True:
            left = budget - sum(sizes[k] for k in dense)
            scale = sum(n_out + n_in for k, (n_out, n_in) in enumerate(shapes) if k not in dense)
            eps = left / scale
            full = {
                k
                for k, (n_out, n_in) in enumerate(shapes)
                if k not in dense and eps * (n_out + n_in) >= sizes[k]
            }
            if not full:
                break
            dense |= full
        ideal = [
            float(sizes[k]) if k in dense else eps * (n_out + n_in)
            for k, (n_out, n_in) in enumerate(shapes)
        ]
    counts = [min(sizes[k], math.floor(v)) for k, v in enumerate(ideal)]
    short = budget - sum(counts)
    by_fraction = sorted(range(len(shapes)), key=lambda k: (-(ideal[k] - counts[k]), k))
    for k in by_fraction:
        if short == 0:
            break
        if counts[k] < sizes[k]:
            counts[k] += 1
            short -= 1
    return counts


def random_mask(shape: tuple[int, int], count: int, generator: torch.Generator) -> Tensor:
    """A boolean mask of ``shape`` with exactly ``count`` True sites, uniformly at random."""
    n = shape[0] * shape[1]
    flat = torch.zeros(n, dtype=torch.bool)
    flat[torch.randperm(n, generator=generator)[:count]] = True
    return flat.reshape(shape)


def prune_and_regrow(
    syn: Synapses, zeta: float, generator: torch.Generator, init_bound: float | None
) -> tuple[Tensor, Tensor]:
    """One SET step on one weight matrix; returns the (pruned, grown) site masks.

    Prunes the ``round(ζ · E)`` existing synapses of smallest ``|w|`` (ties: earlier position
    first) and grows as many at random sites that were empty before the step (just-pruned sites
    only when too few are empty), with ``U(±init_bound)`` values (``None``: zero). A matrix that
    is dense or empty is left alone.
    """
    existing = syn.mask.clone()
    n_existing = int(existing.sum())
    n = min(round(zeta * n_existing), n_existing)
    if n == 0 or n_existing == syn.n_total:
        none = torch.zeros_like(existing)
        return none, none
    w = syn.w.detach()
    scores = torch.where(existing, w.abs(), math.inf).reshape(-1)
    order = torch.sort(scores, stable=True).indices
    pruned = torch.zeros(syn.n_total, dtype=torch.bool, device=w.device)
    pruned[order[:n]] = True
    pruned = pruned.reshape(w.shape)
    syn.prune(pruned)
    empty_before = (~existing).reshape(-1).nonzero().squeeze(1)
    choice = empty_before[torch.randperm(empty_before.numel(), generator=generator)[:n]]
    if choice.numel() < n:  # too few empty sites: also the just-pruned ones
        freed = pruned.reshape(-1).nonzero().squeeze(1)
        extra = freed[torch.randperm(freed.numel(), generator=generator)[: n - choice.numel()]]
        choice = torch.cat([choice, extra])
    grown = torch.zeros(syn.n_total, dtype=torch.bool, device=w.device)
    grown[choice] = True
    grown = grown.reshape(w.shape)
    if init_bound is None:
        syn.grow(grown, 0.0)
    else:
        values = (torch.rand(w.shape, generator=generator) * 2 - 1) * init_bound
        syn.grow(grown, values.to(w.device, w.dtype))
    return pruned, grown


class SetSparseLearner(BackpropLearner):
    """Backprop on a sparse MLP whose connectivity is rewired after every epoch (SET)."""

    def __init__(self, ctx: BuildContext, p: SetSparseParams) -> None:
        sizes = [ctx.n_features, *ctx.hidden, ctx.n_classes]
        shapes = [(n_out, n_in) for n_in, n_out in itertools.pairwise(sizes)]
        counts = layer_budgets(shapes, p.budget, p.sparsity)
        masks: list[Tensor | None] = [
            random_mask(shape, count, ctx.generator)
            for shape, count in zip(shapes, counts, strict=True)
        ]
        super().__init__(ctx, p, masks=masks)
        self.zeta = p.zeta
        self.epochs = p.epochs
        self.regrow_init = p.regrow_init
        self.weight_groups: list[Synapses] = [
            layer.weight for layer in self.model.layers if isinstance(layer, DenseLayer)
        ]
        seed = int(torch.randint(0, 2**62, (1,), generator=ctx.generator))
        self.rng = torch.Generator().manual_seed(seed)
        self.rewirings = 0

    @torch.no_grad()
    def on_epoch_end(self, epoch: int) -> None:
        """Rewire after epoch ``epoch`` (0-based) unless it was the last one."""
        if epoch + 1 < self.epochs:
            self.rewire()

    @torch.no_grad()
    def rewire(self) -> list[tuple[Tensor, Tensor]]:
        """One SET step on every weight matrix: (pruned, grown) masks per matrix."""
        steps = []
        with self.ledger.phase("rewire"):
            for syn in self.weight_groups:
                bound = None if self.regrow_init == "zero" else 1.0 / math.sqrt(syn.w.shape[1])
                pruned, grown = prune_and_regrow(syn, self.zeta, self.rng, bound)
                self._reset_moments(syn.name, grown)
                steps.append((pruned, grown))
        self.rewirings += 1
        return steps

    def _reset_moments(self, group: str, sites: Tensor) -> None:
        state = self.optimizer.state.get(group, {})
        for key in ("m", "v", "s", "momentum"):
            buf = state.get(key)
            if isinstance(buf, Tensor) and buf.shape == sites.shape:
                buf[sites] = 0.0

    # ----------------------------------------------------------------- state
    def learner_state(self) -> dict[str, Any]:
        return {
            "optimizer": super().learner_state(),
            "rng": self.rng.get_state(),
            "rewirings": self.rewirings,
        }

    def load_learner_state(self, state: dict[str, Any]) -> None:
        super().load_learner_state(state["optimizer"])
        self.rng.set_state(state["rng"])
        self.rewirings = int(state["rewirings"])


@register_method(
    "set-sparse",
    SetSparseParams,
    "SET: sparse MLP at a weight budget, prune smallest and regrow at random each epoch "
    "(Mocanu et al. 2018)",
    in_default_comparison=False,
)
def build_set_sparse(ctx: BuildContext, p: SetSparseParams) -> Learner:
    """Build SET (sparse evolutionary training)."""
    return SetSparseLearner(ctx, p)
