"""Synaptic caching (Li & van Rossum 2020): transient plus persistent weights, ``w = s + l``.

Every update a rule writes goes first into the transient component s; the forward pass always
uses ``w = s + l``. After each applied update (which stands for ``B = samples_per_apply``
samples):

1. ``s <- s + Δw``   (the write; counted by the ledger as *transient*, not as a persistent write)
2. consolidation: selected entries move from s into l (``l += s_sel``, ``s_sel = 0``; w is
   unchanged). Their cost ``Σ|Δl|`` is a persistent write: it enters M0/M1/M2 and is also kept
   apart as ``consolidation_m0`` / ``consolidation_m1``. Modes:

   - ``synapse``: every entry with ``|s_i| > theta``;
   - ``neuron-any``: the whole row of post-synaptic neuron j if any ``|s_ij| > theta``;
   - ``neuron-sum``: the whole row if ``Σ_i |s_ij| > theta``.
   (1-D groups such as biases have one entry per neuron, so the three modes coincide there.)
3. maintenance: ``E_maint += c · Σ|s| · B`` (cost per unit |s| per sample, weight units);
4. decay: ``s <- s · exp(−B / tau)`` (also changes w; a decay is forgetting, not a write).

At the end of training :func:`flush_caches` consolidates all of s, and that write is paid for.
Total learning energy with caching = persistent M1 (consolidation) + maintenance; both are in
the ledger's summary (``m1``, ``maintenance``, ``energy_total``).

Theory (no decay, K updates of ±eta per synapse over T samples, consolidation at |s| > theta):
a synapse's s is a random walk that is reset on leaving (−theta, theta); consolidations cost
``K eta² / theta`` (one of size theta every (theta/eta)² steps), maintenance ``c T theta / 3``
(mean |s| of the reset walk is theta/3) and the final flush about ``theta / 3``, so
``E(theta) ≈ K eta²/theta + (1 + c T) theta/3`` with the optimum ``theta*² = 3 eta² K/(1 + c T)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from neuroplastic.synapses import Synapses

CacheMode = Literal["synapse", "neuron-any", "neuron-sum"]


class CacheParams(BaseModel):
    """Synaptic caching: decay, maintenance cost and consolidation threshold."""

    model_config = ConfigDict(extra="forbid")
    tau: float | None = Field(
        1000.0, gt=0, description="decay time constant of s (samples); None = no decay"
    )
    c: float = Field(0.001, ge=0, le=1e3, description="maintenance cost per unit |s| per sample")
    theta: float = Field(0.1, gt=0, le=1e6, description="consolidation threshold (weight units)")
    mode: CacheMode = Field("synapse", description="synapse, neuron-any or neuron-sum")
    samples_per_apply: int = Field(
        1, ge=1, le=100_000, description="samples one applied update stands for (batch size)"
    )


class SynapticCache:
    """The caching state machine of one synapse group (s lives in ``syn.cache_s``)."""

    def __init__(self, params: CacheParams) -> None:
        self.params = params
        self._abs_sum: float | None = None  # running Σ|s| (float64), None = recompute
        self._sparse_steps = 0

    @property
    def sparse_ok(self) -> bool:
        """Whether a sparse write can be cached without touching all of s (synapse mode)."""
        return self.params.mode == "synapse"

    def invalidate(self) -> None:
        """Forget the running Σ|s| (someone changed s outside this class)."""
        self._abs_sum = None

    def _rows(self, a: Tensor) -> Tensor:
        return a.reshape(a.shape[0], -1) if a.dim() > 1 else a.reshape(-1, 1)

    @torch.no_grad()
    def selection(self, s: Tensor) -> Tensor:
        """Boolean mask (like s) of the entries that consolidate now."""
        theta = self.params.theta
        a = s.abs()
        if self.params.mode == "synapse":
            return a > theta
        rows = self._rows(a)
        any_mode = self.params.mode == "neuron-any"
        hit = (rows > theta).any(1) if any_mode else rows.sum(1) > theta
        return hit.view(-1, *([1] * (s.dim() - 1))).expand_as(s)

    @torch.no_grad()
    def after_write(self, syn: Synapses, delta: Tensor) -> None:
        """Steps 1–4 above for the change ``delta`` just written into ``syn.w``."""
        s: Tensor = syn.cache_s
        s.add_(delta)
        sel = self.selection(s)
        if bool(sel.any()):
            moved = s * sel
            s.sub_(moved)
            self._record_consolidation(syn, moved)
        self._abs_sum = float(s.abs().sum(dtype=torch.float64))
        self._maintain_and_decay(syn)

    @torch.no_grad()
    def after_sparse_write(self, syn: Synapses, flat: Tensor, values: Tensor) -> None:
        """Steps 1–4 for a change written at the distinct flat indices ``flat`` (synapse mode).

        Same result as :meth:`after_write` with the dense ``delta`` (tested), at the cost of the
        touched entries: only they can cross theta (decay only shrinks |s|), and Σ|s| is kept
        as a running float64 total, recomputed exactly every 1,000 sparse writes.
        """
        if not self.sparse_ok:
            raise ValueError("after_sparse_write needs mode='synapse'")
        s = syn.cache_s.view(-1)
        if self._abs_sum is None or self._sparse_steps >= 1000:
            self._abs_sum = float(s.abs().sum(dtype=torch.float64))
            self._sparse_steps = 0
        self._sparse_steps += 1
        before = float(s[flat].abs().sum(dtype=torch.float64))
        s.index_add_(0, flat, values)
        touched = s[flat]
        hit = touched.abs() > self.params.theta
        if bool(hit.any()):
            s[flat[hit]] = 0.0
            self._record_consolidation(syn, touched[hit])
        after = float(s[flat].abs().sum(dtype=torch.float64))
        self._abs_sum += after - before
        self._maintain_and_decay(syn)

    def _maintain_and_decay(self, syn: Synapses) -> None:
        """Steps 3 (maintenance c·Σ|s|·B, from the running Σ|s|) and 4 (decay)."""
        p = self.params
        s: Tensor = syn.cache_s
        assert self._abs_sum is not None  # set by both callers
        if syn.ledger is not None and p.c > 0:
            syn.ledger.record_maintenance(syn.name, p.c * p.samples_per_apply * self._abs_sum)
        if p.tau is not None:
            keep = math.exp(-p.samples_per_apply / p.tau)
            syn.w.data.sub_(s, alpha=1.0 - keep)
            s.mul_(keep)
            self._abs_sum *= keep

    def _record_consolidation(self, syn: Synapses, moved: Tensor) -> None:
        """Count the values just moved from s into l (w unchanged) as a persistent write."""
        if syn.ledger is not None:
            m0 = float(torch.count_nonzero(moved))
            m1 = float(moved.abs().sum(dtype=torch.float64))
            m2 = float(moved.double().pow(2).sum())
            syn.ledger.record_consolidation(syn.name, m0, m1, m2)

    @torch.no_grad()
    def flush(self, syn: Synapses) -> None:
        """Consolidate all of s (end of training); the write is counted."""
        s: Tensor = syn.cache_s
        if bool((s != 0).any()):
            self._record_consolidation(syn, s.clone())
            s.zero_()
        self._abs_sum = 0.0


def attach_cache(groups: Sequence[Synapses], params: CacheParams | None) -> None:
    """Give every group a synaptic cache (or remove it with None); s starts at 0."""
    for g in groups:
        if params is None:
            g.cache = None
            continue
        g.cache = SynapticCache(params)
        if "cache_s" not in g._buffers:
            g.register_buffer("cache_s", torch.zeros_like(g.w.detach()))


def flush_caches(groups: Sequence[Synapses]) -> None:
    """Consolidate every cached group's transient weights (paid for in the ledger)."""
    for g in groups:
        if g.cache is not None:
            g.cache.flush(g)
