"""Prune and grow policies for a (post × pre) synapse matrix.

- :func:`prune_to_budget`: each post-synaptic unit keeps its ``budget`` strongest synapses
  (largest |w|); the others are eliminated (a per-neuron synapse budget).
- :class:`SilentTracker`: a synapse whose |w| stays <= ε at ``patience`` consecutive checks is
  silent and eliminated.
- :func:`grow_from_coincidence`: units below their budget grow synapses where pre- and
  post-synaptic activity coincided most (the accumulated Hebbian trace C_ij = Σ y_j x_i), with the
  initial weight C_ij / Σ y_j, the mean presynaptic activity while the unit was active (the value
  the instar rule converges to: growth imprints it in one write).
- :func:`prune_unconnected_units`: units that were never active lose all synapses and stay in
  reserve until growth recruits them.
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuroplastic.errors import ParameterError, ShapeError
from neuroplastic.synapses import Synapses


def _require_matrix(syn: Synapses) -> None:
    if syn.w.dim() != 2:
        raise ShapeError(f"{syn.name}: structural policies need a 2-d (post, pre) weight matrix")


def prune_to_budget(syn: Synapses, budget: int) -> int:
    """Keep the ``budget`` largest-|w| synapses of each row; returns how many were pruned."""
    _require_matrix(syn)
    if budget < 0:
        raise ParameterError(f"synapse budget must be >= 0 (got {budget})")
    if budget >= syn.w.shape[1]:
        return 0
    score = torch.where(syn.mask, syn.w.detach().abs(), torch.full_like(syn.w, -1.0))
    keep = torch.zeros_like(syn.mask)
    if budget > 0:
        keep.scatter_(1, score.topk(budget, dim=1).indices, True)
    return syn.prune(syn.mask & ~keep)


class SilentTracker:
    """Eliminates synapses that stay silent (|w| <= eps) at ``patience`` consecutive checks."""

    def __init__(self, eps: float, patience: int) -> None:
        if eps < 0 or patience < 1:
            raise ParameterError(
                f"silent eps must be >= 0 and patience >= 1 (got {eps}, {patience})"
            )
        self.eps = eps
        self.patience = patience
        self.count: Tensor | None = None

    def check(self, syn: Synapses) -> int:
        """Count one more check; prune synapses silent for ``patience`` checks; returns pruned."""
        silent = (syn.w.detach().abs() <= self.eps) & syn.mask
        if self.count is None or self.count.shape != silent.shape:
            self.count = torch.zeros_like(silent, dtype=torch.int32)
        self.count = torch.where(silent, self.count + 1, torch.zeros_like(self.count))
        pruned = syn.prune(self.count >= self.patience)
        self.count[~syn.mask] = 0
        return pruned


def grow_from_coincidence(
    syn: Synapses, trace: Tensor, activity: Tensor, budget: int, min_trace: float = 0.0
) -> int:
    """Grow synapses of units below ``budget`` where the coincidence trace is largest.

    ``trace`` (post, pre) is Σ_b y_bj x_bi accumulated while learning, ``activity`` (post,) is
    Σ_b y_bj. New synapses start at trace / activity (mean presynaptic input while active).
    Returns the number of synapses created.
    """
    _require_matrix(syn)
    if trace.shape != syn.w.shape or activity.shape != syn.w.shape[:1]:
        raise ShapeError(
            f"{syn.name}: trace {tuple(trace.shape)} / activity {tuple(activity.shape)} do not "
            f"match weights {tuple(syn.w.shape)}"
        )
    room = (budget - syn.mask.sum(1)).clamp(min=0)
    room = torch.where(activity > 0, room, torch.zeros_like(room))
    if int(room.max()) == 0:
        return 0
    candidate = torch.where(syn.mask | (trace <= min_trace), torch.full_like(trace, -1.0), trace)
    order = candidate.topk(int(room.max()), dim=1)
    rank_ok = torch.arange(order.indices.shape[1], device=room.device)[None, :] < room[:, None]
    chosen = rank_ok & (order.values > min_trace)
    grow = torch.zeros_like(syn.mask)
    grow.scatter_(1, order.indices, chosen)
    init = trace / activity.clamp(min=1e-12)[:, None]
    return syn.grow(grow, init=init)


def prune_unconnected_units(syn: Synapses, activity: Tensor) -> int:
    """Remove every synapse of units whose activity was 0 (they become the reserve)."""
    _require_matrix(syn)
    unused = (activity <= 0)[:, None] & syn.mask
    return syn.prune(unused)
