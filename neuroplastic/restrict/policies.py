"""Restriction policies: which entries of a proposed update ``dw`` are actually written.

Design. A policy is turned into one :class:`GroupFilter` per synapse group and attached as
``Synapses.restriction``; ``Synapses.apply`` consults it (``dw <- filter.dense(syn, dw)``)
before the write. Every rule therefore composes with every policy without any change to the
rule: backprop's optimizer, the local rules and the structural rule all propose their ``dw`` as
usual and the door filters it. The rule still computes its proposal from the unfiltered weights
and errors (backprop's errors are not masked). Only the written entries are counted.

Batch size. With batch size 1 a backprop update is an outer product ``a bᵀ``; the fast entry
``Synapses.apply_outer(a, b)`` asks :meth:`GroupFilter.outer` for a plan that never forms the
matrix where the policy allows (top-k from the sorted factors, per-neuron and path masks as
masked factors). With larger batches the policy is applied to the *summed* update of the batch
(the ``dw`` the rule proposes for the batch): "top fraction p per sample" then means per
applied update. This is the only choice compatible with one write per batch.

Policies (p: fraction kept, k: plastic hidden units):

=================  ==========================================================================
``none``           every proposed entry is written
``top``            per group and update, the top fraction p of ``|dw|`` (largest updates)
``balanced``       as ``top`` with p on the input layer and ``p_out = min(r p, 1)`` on the
                   other layers, ``r = n_in / n_out`` of the network (784 / 10 = 78.4 on MNIST)
``per-neuron``     top fraction p of ``|dw|`` within each post-synaptic neuron (each row);
                   1-D groups (biases) take the top fraction p of the group
``path``           only k hidden units are plastic: their input rows, their biases and their
                   output columns; the other hidden units keep their initial weights
``path-top``       path first, then the top fraction p of ``|dw|`` within the path
``random``         control: a fixed random mask keeping exactly round(p n) entries per group
``weight``         control: per update, the entries with the top fraction p of ``|w|``
``frozen-hidden``  control: the input layer is never written (readout learning only)
=================  ==========================================================================

Layer roles are declared, never guessed (:mod:`neuroplastic.roles`): the *input layer* is every
group of position ``input`` (its weights, n_hid × n_in, and the biases / phases of its n_hid
neurons); the path's *outgoing weights* are the weight groups whose ``pre`` is the input layer's
``post`` population; ``balanced``'s n_out is the rows of the ``output``-position weights. A
policy that needs a role a network does not declare stops with a one-line error naming the
network and the role (``top``, ``per-neuron``, ``weight`` and ``random`` need none).

Biases. The papers treat a layer's bias as one more input (785 on MNIST), selected together with
the weights. Here a 1-D bias group right after its weight matrix is paired with it: for the
selecting modes (``top``, ``balanced``, ``path-top``, ``weight``) the bias filter writes the
entries whose score reaches the threshold the weight filter used in its last update (the k-th
largest ``|dw|``, or ``|w|``), so weights and bias are selected by one threshold as in the
papers; the count can exceed round(p·n) by at most the bias entries (one per row). The weights
must be applied before their bias, with the same ``alpha`` (true for every learner here); a bias
applied before any weight update falls back to its own top fraction p. Filtering each bias on
its own instead (one of 10 output biases per sample at p = 0.1) made the batch-1 protocol
oscillate and never reach 95 %, while the joint selection reaches it as the paper reports.
``per-neuron`` still filters biases as their own group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import Tensor

from neuroplastic.errors import ParameterError
from neuroplastic.restrict.params import RestrictParams
from neuroplastic.restrict.topk import (
    count_k,
    dense_topk_mask,
    rowwise_topk_mask,
    select_outer_topk,
)
from neuroplastic.roles import PER_NEURON, Roles
from neuroplastic.synapses import Synapses

Mode = Literal["all", "top", "per_neuron", "weight", "fixed", "frozen"]

# below this many entries, forming the outer product and a dense top-k is cheaper
_OUTER_MIN_SIZE = 100_000


class GroupFilter:
    """The filter of one synapse group: a selection mode, a fraction, optional fixed masks.

    ``rows``/``cols`` (bool) restrict writes to a sub-block (the path); ``fixed`` is a fixed
    boolean mask (the random control). ``mode`` selects within what remains.
    """

    def __init__(
        self,
        mode: Mode,
        fraction: float = 1.0,
        *,
        rows: Tensor | None = None,
        cols: Tensor | None = None,
        fixed: Tensor | None = None,
    ) -> None:
        if not 0 < fraction <= 1:
            raise ParameterError(f"restriction fraction p must be in (0, 1] (got {fraction})")
        self.mode = mode
        self.fraction = fraction
        self.rows = rows
        self.cols = cols
        self.fixed = fixed
        # pairing of a bias with its weight matrix (see the module docstring)
        self.partner: GroupFilter | None = None  # set on a bias: the filter of its weights
        self.threshold: Tensor | float | None = None  # last selection's threshold, for a bias
        self.keeps_threshold = False  # set on weights whose bias is paired with them

    def __repr__(self) -> str:
        return f"GroupFilter(mode={self.mode!r}, fraction={self.fraction:g})"

    # ------------------------------------------------------------- helpers
    def _eligible(self, like: Tensor) -> Tensor | None:
        """Boolean mask of the sub-block the filter may write (None: everything)."""
        if self.rows is None and self.cols is None and self.fixed is None:
            return None
        mask = torch.ones_like(like, dtype=torch.bool)
        if self.rows is not None:
            mask &= self.rows.view(-1, *([1] * (like.dim() - 1)))
        if self.cols is not None and like.dim() == 2:
            mask &= self.cols.view(1, -1)
        if self.fixed is not None:
            mask &= self.fixed
        return mask

    def _n_eligible(self, shape: torch.Size | tuple[int, ...]) -> int:
        """Number of entries the filter may write in a group of this shape."""
        if self.fixed is not None:
            return int(self.fixed.sum())
        n_rows = shape[0] if self.rows is None else int(self.rows.sum())
        if len(shape) < 2:
            return n_rows
        n_cols = shape[1] if self.cols is None else int(self.cols.sum())
        return n_rows * n_cols

    # ------------------------------------------------------------- filters
    def dense(self, syn: Synapses, dw: Tensor) -> Tensor:
        """The update actually proposed for writing: ``dw`` with the non-selected entries 0."""
        if self.mode == "frozen":
            return torch.zeros_like(dw)
        eligible = self._eligible(dw)
        if self.mode == "all" or self.fraction >= 1:
            return dw if eligible is None else dw * eligible
        if self.mode == "fixed":
            return dw * eligible if eligible is not None else dw
        score = syn.w.detach().abs() if self.mode == "weight" else dw.abs()
        if eligible is not None:
            score = torch.where(eligible, score, torch.full_like(score, -1.0))
        partner = self.partner
        if partner is not None and partner.threshold is not None and self.mode in ("top", "weight"):
            return dw * (score >= partner.threshold) * (score > 0)
        n = self._n_eligible(dw.shape)
        if self.mode == "per_neuron" and dw.dim() == 2:
            n_cols = dw.shape[1] if self.cols is None else int(self.cols.sum())
            keep = rowwise_topk_mask(score, count_k(self.fraction, n_cols))
            if eligible is not None:
                keep &= eligible
        else:
            keep = dense_topk_mask(score, count_k(self.fraction, n))
            if self.keeps_threshold:
                self.threshold = torch.where(keep, score, torch.full_like(score, torch.inf)).min()
        return dw * keep

    def outer(self, syn: Synapses, a: Tensor, b: Tensor) -> tuple[Any, ...]:
        """Plan for the rank-1 update ``a bᵀ``: ('rank1', a', b'), ('select', a', b', top-k
        selection), ('skip',) or ('dense',) (form the matrix and use :meth:`dense`)."""
        if self.mode == "frozen":
            return ("skip",)
        if self.mode in ("weight", "fixed"):
            return ("dense",)
        if self.rows is not None:
            a = a * self.rows.to(a.dtype)
        if self.cols is not None:
            b = b * self.cols.to(b.dtype)
        if self.mode == "all" or self.fraction >= 1:
            self.threshold = None
            return ("rank1", a, b)
        if self.mode == "per_neuron":
            # |a_i b_j| orders the columns of every row alike: keep the same top columns by |b|
            n_cols = b.numel() if self.cols is None else int(self.cols.sum())
            keep = dense_topk_mask(b.abs(), count_k(self.fraction, n_cols))
            return ("rank1", a, b * keep)
        if a.numel() * b.numel() < _OUTER_MIN_SIZE:
            return ("dense",)
        n = self._n_eligible((a.numel(), b.numel()))
        selection = select_outer_topk(a, b, count_k(self.fraction, n))
        if not selection.finite:
            return ("dense",)  # the dense path reports the non-finite proposal
        if self.keeps_threshold and selection.threshold is not None:
            self.threshold = selection.threshold
        return ("select", a, b, selection)


# ------------------------------------------------------------------ attaching
def build_filters(roles: Roles, params: RestrictParams) -> list[GroupFilter | None]:
    """One filter per group of ``roles.groups`` (None where the group is left unrestricted)."""
    policy = params.policy
    groups = roles.groups
    what = f"restriction {policy!r}"
    if policy == "none":
        return [None] * len(groups)
    filters: list[GroupFilter | None] = [None] * len(groups)
    if policy in ("top", "per-neuron", "weight"):
        mode: Mode = {"top": "top", "per-neuron": "per_neuron", "weight": "weight"}[policy]  # type: ignore[assignment]
        return [GroupFilter(mode, params.p) for _ in groups]
    if policy == "random":
        gen = torch.Generator().manual_seed(params.seed)
        for i, g in enumerate(groups):
            n = g.w.numel()
            keep = torch.zeros(n, dtype=torch.bool)
            keep[torch.randperm(n, generator=gen)[: count_k(params.p, n)]] = True
            filters[i] = GroupFilter("fixed", 1.0, fixed=keep.view(g.w.shape).to(g.w.device))
        return filters
    first = roles.require(what, "weight", "input")
    input_layer = set(roles.find(("weight", *PER_NEURON), position="input"))
    if policy == "balanced":
        readout = roles.require(what, "weight", "output")
        ratio = groups[first].w.shape[1] / groups[readout].w.shape[0]  # n_in / n_out
        p_out = min(ratio * params.p, 1.0)
        return [
            GroupFilter("top", params.p if i in input_layer else p_out) for i in range(len(groups))
        ]
    if policy == "frozen-hidden":
        for i in input_layer:
            filters[i] = GroupFilter("frozen")
        return filters
    # path, path-top: k units of the input layer's post population
    n_hid = groups[first].w.shape[0]
    if params.k > n_hid:
        raise ParameterError(
            f"restriction: path k={params.k} exceeds the {n_hid} hidden units of {roles.owner}"
        )
    gen = torch.Generator().manual_seed(params.seed)
    units = torch.zeros(n_hid, dtype=torch.bool)
    units[torch.randperm(n_hid, generator=gen)[: params.k]] = True
    sel_mode: Mode = "top" if policy == "path-top" else "all"
    frac = params.p if policy == "path-top" else 1.0
    for i in input_layer:  # the path units' input rows and their biases / phases
        filters[i] = GroupFilter(sel_mode, frac, rows=units.to(groups[i].w.device))
    for i in roles.find("weight", pre=roles.of[first].post):  # their outgoing columns
        filters[i] = GroupFilter(sel_mode, frac, cols=units.to(groups[i].w.device))
    for i in range(len(groups)):
        if filters[i] is None and policy == "path-top":
            filters[i] = GroupFilter("top", frac)
    return filters


def pair_biases(roles: Roles, filters: Sequence[GroupFilter | None]) -> None:
    """Pair each bias filter with the filter of the weights of the same declared ``post``
    population and position (selected by one threshold, see the module docstring)."""
    for i in roles.find("bias"):
        r = roles.of[i]
        partners = roles.find("weight", position=r.position, pre=r.pre, post=r.post)
        if len(partners) != 1:
            continue
        weight, bias = filters[partners[0]], filters[i]
        if (
            weight is not None
            and bias is not None
            and weight.mode == bias.mode
            and weight.mode in ("top", "weight")
            and weight.fraction < 1
        ):
            bias.partner = weight
            weight.keeps_threshold = True


def attach_restriction(roles: Roles, params: RestrictParams) -> None:
    """Set ``restriction`` on every group of ``roles`` (None clears it) as ``params`` says."""
    filters = build_filters(roles, params)
    if params.bias == "joint":
        pair_biases(roles, filters)
    for group, filt in zip(roles.groups, filters, strict=True):
        group.restriction = filt


def describe(params: RestrictParams) -> str:
    """Short label for tables, e.g. ``top p=0.1`` or ``path k=100``."""
    if params.policy == "none":
        return "none"
    if params.policy in ("path",):
        return f"path k={params.k}"
    if params.policy == "path-top":
        return f"path-top k={params.k} p={params.p:g}"
    if params.policy == "frozen-hidden":
        return "frozen-hidden"
    return f"{params.policy} p={params.p:g}"
