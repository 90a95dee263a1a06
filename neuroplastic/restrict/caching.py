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

At the end of training ``Synapses.end_of_training`` (called by the training loop through
``Learner.end_of_training``) consolidates all of s, and that write is paid for.
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

import torch
from torch import Tensor

from neuroplastic.restrict.params import CacheParams
from neuroplastic.synapses import Synapses


class SynapticCache:
    """The caching policy of one synapse group: it computes, :class:`Synapses` writes.

    Satisfies :class:`~neuroplastic.synapses.CachePolicy`: which entries of s consolidate
    (:meth:`selection`), the maintenance energy of Σ|s| (:meth:`maintenance`) and the decay
    factor (:meth:`decay_factor`). The transient weights themselves live in the group
    (``Synapses.cache_s``), which applies steps 1–4 above through its own methods.
    """

    def __init__(self, params: CacheParams) -> None:
        self.params = params

    @property
    def sparse_ok(self) -> bool:
        """Whether a sparse write can be cached without touching all of s (synapse mode)."""
        return self.params.mode == "synapse"

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

    def maintenance(self, abs_sum: float) -> float | None:
        """Step 3: ``c · Σ|s| · B`` for one applied update (None when c = 0)."""
        p = self.params
        return p.c * p.samples_per_apply * abs_sum if p.c > 0 else None

    def decay_factor(self) -> float | None:
        """Step 4: ``exp(−B / tau)`` (None without decay)."""
        p = self.params
        return None if p.tau is None else math.exp(-p.samples_per_apply / p.tau)


def attach_cache(groups: Sequence[Synapses], params: CacheParams | None) -> None:
    """Give every group a synaptic cache (or remove it with None); s starts at 0."""
    for g in groups:
        g.set_cache(None if params is None else SynapticCache(params))
