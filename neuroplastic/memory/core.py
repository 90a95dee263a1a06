"""MemoryCore: counters + a learning rule, with the derived weights cached.

The counters are the learned state; the weights are a function of them (and, for the Bayesian
rule, of the assumed query noise). :class:`MemoryCore` recomputes the weights only when the
counters changed (their ``version``) or a different noise / self-connection setting is asked for,
and keeps a few recent settings (adaptive noise estimation asks for several per retrieval step).

This is the uncounted fast path used by capacity searches (the load M moves up and down by
adding and removing patterns); :class:`~neuroplastic.memory.synaptic.AssociativeMemory` wraps
the same core and writes every weight change through ``Synapses.apply`` so the ledger counts it.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import Tensor

from neuroplastic.errors import ParameterError
from neuroplastic.memory.counters import Counters
from neuroplastic.memory.rules import RuleParams, ane_statistics, derive_weights

__all__ = ["MemoryCore"]

Key = tuple[int, tuple[float, float] | None, bool]


class MemoryCore:
    """Counters and a rule. ``auto=True`` means auto-association (v = u, m = n)."""

    def __init__(
        self,
        m: int,
        n: int,
        rule: RuleParams | None = None,
        *,
        auto: bool = False,
        device: torch.device | str = "cpu",
        cache_size: int = 4,
    ) -> None:
        if auto and m != n:
            raise ParameterError(f"auto-association needs m == n (got m={m}, n={n})")
        self.counters = Counters(m, n, device)
        self.rule = rule if rule is not None else RuleParams()
        self.auto = auto
        self.cache_size = max(1, cache_size)
        self._cache: OrderedDict[Key, tuple[Tensor, Tensor]] = OrderedDict()
        self._stats: dict[tuple[int, bool], tuple[Tensor, Tensor]] = {}

    @property
    def m(self) -> int:
        """Number of input units."""
        return self.counters.m

    @property
    def n(self) -> int:
        """Number of output units."""
        return self.counters.n

    @property
    def device(self) -> torch.device:
        """Where the counters and weights live."""
        return self.counters.device

    def store(self, u: Tensor, v: Tensor | None = None) -> None:
        """Store pairs (B, m) → (B, n) of 0/1 rows (auto-association: ``v`` omitted, v = u)."""
        if v is None:
            if not self.auto:
                raise ParameterError("hetero-association needs output patterns v")
            v = u
        self.counters.add(u, v)

    def store_indices(self, iu: Tensor, iv: Tensor | None = None, sign: int = 1) -> None:
        """Store (sign=+1) or remove (sign=−1) patterns given as active indices (B, k)."""
        if iv is None:
            if not self.auto:
                raise ParameterError("hetero-association needs output patterns iv")
            iv = iu
        self.counters.add_indices(iu, iv, sign)

    def default_winners(self) -> int:
        """Mean number of active output units per stored pattern, rounded (k-WTA default)."""
        if self.counters.total == 0:
            raise ParameterError("the memory is empty: give the number of winners explicitly")
        return max(1, round(float(self.counters.mv.sum()) / self.counters.total))

    def weights(
        self, noise: tuple[float, float] | None = None, exclude_diagonal: bool = False
    ) -> tuple[Tensor, Tensor]:
        """(W, b) of the rule for the current counters (cached)."""
        if self.rule.rule != "bayes":
            noise = None
        key: Key = (self.counters.version, noise, exclude_diagonal)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        value = derive_weights(
            self.counters, self.rule, noise=noise, exclude_diagonal=exclude_diagonal
        )
        self._cache[key] = value
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return value

    def set_weights(self, w: Tensor, b: Tensor, exclude_diagonal: bool = False) -> None:
        """Cache (w, b) as the nominal weights of the current counters (e.g. what was written)."""
        self._cache[(self.counters.version, None, exclude_diagonal)] = (w, b)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def ane_stats(self, exclude_diagonal: bool = False) -> tuple[Tensor, Tensor]:
        """(w_in, w_bg) per output unit for the nominal weights (see ``ane_statistics``)."""
        key = (self.counters.version, exclude_diagonal)
        hit = self._stats.get(key)
        if hit is None:
            w, _ = self.weights(None, exclude_diagonal)
            hit = ane_statistics(self.counters, w, exclude_diagonal)
            self._stats = {key: hit}
        return hit
