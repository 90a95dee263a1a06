"""Integer synaptic counters for very large memories: M11 only, symmetric for auto-association.

The Bayesian, BCPNN and covariance rules are functions of the four counters M11, M10, M01, M00
of each synapse (:mod:`neuroplastic.memory.counters`). Only M11 needs one entry per synapse:
with the unit counts mu_i = #{μ: u_i = 1}, mv_j = #{μ: v_j = 1} and the number of stored
patterns M,

    M10_ij = mu_i − M11_ij,   M01_ij = mv_j − M11_ij,   M00_ij = M − mu_i − mv_j + M11_ij.

:class:`IntCounters` stores M11 as the smallest unsigned integer type that holds the run's
counts (``uint8`` at n = 10^5 under the paper's conditions: 1 byte per synapse instead of 4 for
float32, and no derived float weight matrix at all: the weights are evaluated from the counts
during retrieval, :mod:`neuroplastic.memory.int_retrieval`).

- **auto-association** (m = n): M11 is symmetric, so only the strict upper triangle i < j is
  kept (n(n−1)/2 entries; 5.0 GB at n = 10^5 in uint8); the diagonal M11_ii = mu_i is the unit
  count itself.
- **hetero-association**: the full (m, n) matrix.

**Overflow.** :func:`choose_counter_dtype` picks the type from a Chernoff bound: for M stored
patterns with pair probability q (= k(k−1)/(n(n−1)) for constant-activity auto-association,
k·l/(m·n) hetero), P(some M11_ij ≥ t) ≤ pairs · exp(−Mq)·(e·Mq/t)^t, and the smallest type whose
maximum t makes this < 10⁻⁹ at the largest load the run may store is chosen. The bound is a
probability, so the store kernels also check exactly: before a pattern is applied, every count
it touches is compared with the type's maximum, and a pattern that would overflow (or a removal
that would go below zero) raises :class:`~neuroplastic.errors.ParameterError` naming the type,
its bound and the pattern, with the memory holding a whole number of patterns.

**Memory.** :func:`estimate_bytes` gives the bytes of the counters before anything is
allocated; the constructor refuses (one-line error: size, estimate, limit) a memory above
``memory_limit`` bytes.

Counters are a measurement device (capacity searches add and remove patterns); they are not a
``Synapses`` group and are not counted by the ledger. The counted door stays
:class:`~neuroplastic.memory.synaptic.AssociativeMemory` (dense) and
:class:`~neuroplastic.memory.packed.PackedWillshaw` (binary weights).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from neuroplastic.errors import ParameterError, ShapeError

__all__ = [
    "COUNTER_DTYPES",
    "IntCounters",
    "choose_counter_dtype",
    "estimate_bytes",
    "kernels",
]

CounterDtype = Literal["uint8", "uint16", "uint32"]
#: Unsigned counter types, smallest first, with their largest value.
COUNTER_DTYPES: dict[str, int] = {"uint8": 255, "uint16": 65_535, "uint32": 4_294_967_295}
_OVERFLOW_PROBABILITY = 1e-9


def kernels() -> Any:
    """The Numba kernels (:mod:`neuroplastic.memory._int_kernels`); a clear error without Numba."""
    try:
        from neuroplastic.memory import _int_kernels
    except ImportError as exc:  # pragma: no cover - numba is installed in the dev environment
        raise ParameterError(
            "integer counters need numba (pip install 'neuroplastic[fast]')"
        ) from exc
    return _int_kernels


def _log_tail_bound(patterns: float, q: float, t: int) -> float:
    """ln of the Chernoff bound on P(Binomial(M, q) >= t): −μ + t(1 + ln μ − ln t), μ = Mq."""
    mean = patterns * q
    if t <= mean:
        return 0.0
    if mean <= 0:
        return -math.inf
    return -mean + t * (1.0 + math.log(mean) - math.log(t))


def choose_counter_dtype(pairs: int, patterns: int, q: float) -> CounterDtype:
    """Smallest type whose maximum no M11 reaches with probability >= 1e-9 (union bound).

    ``pairs`` stored entries, up to ``patterns`` stored patterns, each entry counting a pair
    that is co-active in a pattern with probability ``q``. A load that fits exactly
    (patterns <= maximum) is always safe.
    """
    if pairs < 0 or patterns < 0 or not 0.0 <= q <= 1.0:
        raise ParameterError(
            f"need pairs, patterns >= 0 and 0 <= q <= 1 (got {pairs}, {patterns}, {q})"
        )
    for name, top in COUNTER_DTYPES.items():
        if patterns <= top:
            return name  # type: ignore[return-value]
        bound = math.log(max(pairs, 1)) + _log_tail_bound(patterns, q, top + 1)
        if bound < math.log(_OVERFLOW_PROBABILITY):
            return name  # type: ignore[return-value]
    raise ParameterError(
        f"patterns={patterns} could overflow even uint32 counters (pair probability {q:.3g})"
    )


def entries(m: int, n: int, auto: bool) -> int:
    """Stored M11 entries: n(n−1)/2 (auto, symmetric, no diagonal) or m·n (hetero)."""
    return n * (n - 1) // 2 if auto else m * n


def estimate_bytes(m: int, n: int, auto: bool, dtype: str) -> int:
    """Bytes of the counters: M11 entries × itemsize plus the unit counts (int64)."""
    if dtype not in COUNTER_DTYPES:
        raise ParameterError(
            f"counter dtype must be one of {', '.join(COUNTER_DTYPES)} (got {dtype!r})"
        )
    itemsize = np.dtype(dtype).itemsize
    return entries(m, n, auto) * itemsize + 8 * (m + n)


class IntCounters:
    """M11 as unsigned integers (triangle for auto-association), unit counts mu, mv, total M.

    ``dtype``: one of :data:`COUNTER_DTYPES`. ``memory_limit``: bytes allowed for the counters
    (checked before allocation).
    """

    def __init__(
        self,
        m: int,
        n: int,
        *,
        auto: bool,
        dtype: str = "uint8",
        memory_limit: float = 16e9,
    ) -> None:
        if m < 2 or n < 2:
            raise ParameterError(f"memory sizes must be >= 2 (got m={m}, n={n})")
        if auto and m != n:
            raise ParameterError(f"auto-association needs m == n (got m={m}, n={n})")
        need = estimate_bytes(m, n, auto, dtype)
        if need > memory_limit:
            raise ParameterError(
                f"integer counters for m={m}, n={n} ({'auto' if auto else 'hetero'}, {dtype}) "
                f"need {need / 1e9:.2f} GB > memory_limit {memory_limit / 1e9:.2f} GB"
            )
        self.kern = kernels()
        self.m, self.n, self.auto, self.dtype = int(m), int(n), bool(auto), dtype
        self.maxval = COUNTER_DTYPES[dtype]
        self.store = np.zeros(entries(m, n, auto), dtype=dtype)
        self.mu = np.zeros(m, dtype=np.int64)
        self.mv = self.mu if auto else np.zeros(n, dtype=np.int64)
        self.total = 0
        self.version = 0
        self._peak = np.zeros(1, dtype=np.int64)  # largest count ever written (store kernel)

    @property
    def count_bound(self) -> int:
        """An upper bound of every stored M11 (the largest count ever written; removals keep it)."""
        return int(self._peak[0])

    @property
    def nbytes(self) -> int:
        """Bytes held by the counters."""
        return int(self.store.nbytes + self.mu.nbytes + (0 if self.auto else self.mv.nbytes))

    # -------------------------------------------------------------- updates
    def add_indices(
        self,
        iu: Tensor,
        iv: Tensor | None = None,
        sign: int = 1,
        *,
        valid_u: Tensor | None = None,
        valid_v: Tensor | None = None,
    ) -> None:
        """Add (sign=+1) or remove (−1) patterns given as active indices (B, k) (+ masks).

        Auto-association: ``iv`` is ignored (v = u). Rows must not repeat a unit.
        """
        if sign not in (1, -1):
            raise ParameterError(f"sign must be +1 or -1 (got {sign})")
        iu_np = _indices(iu, valid_u, self.m, "input")
        if self.auto:
            iv_np = iu_np
        else:
            if iv is None:
                raise ParameterError("hetero-association needs output patterns iv")
            iv_np = _indices(iv, valid_v, self.n, "output")
            if iv_np.shape[0] != iu_np.shape[0]:
                raise ShapeError(f"iu has {iu_np.shape[0]} patterns, iv has {iv_np.shape[0]}")
        b = iu_np.shape[0]
        if b == 0:
            return
        if sign < 0 and self.total - b < 0:
            raise ParameterError(f"cannot remove {b} patterns from a memory holding {self.total}")
        if self.auto:
            done = self.kern.store_auto(self.store, self.n, iu_np, sign, self.maxval, self._peak)
        else:
            done = self.kern.store_hetero(
                self.store, self.n, iu_np, iv_np, sign, self.maxval, self._peak
            )
        done = int(done)
        self._count_units(iu_np[:done], iv_np[:done], sign)
        self.total += sign * done
        self.version += 1
        if done < b:
            if sign > 0:
                raise ParameterError(
                    f"counter_dtype {self.dtype}: storing pattern {self.total + 1} would push an "
                    f"M11 count above its maximum {self.maxval} (use a larger counter_dtype)"
                )
            raise ParameterError(
                f"removing pattern {done} of the batch would make an M11 count negative "
                "(it was not stored)"
            )

    def _count_units(self, iu: np.ndarray, iv: np.ndarray, sign: int) -> None:
        for idx, counts in ((iu, self.mu), (iv, None if self.auto else self.mv)):
            if counts is None:
                continue
            flat = idx[idx >= 0]
            np.add.at(counts, flat, sign)

    # -------------------------------------------------------------- views
    def max_count(self) -> int:
        """Largest stored M11 (off-diagonal for auto-association)."""
        return int(self.kern.max_count(self.store))

    def dense_m11(self) -> np.ndarray:
        """The full (m, n) M11 as int64 (diagonal = mu for auto). For tests and small memories."""
        if self.auto:
            out = np.zeros((self.n, self.n), dtype=np.int64)
            iu, ju = np.triu_indices(self.n, 1)
            out[iu, ju] = self.store
            out[ju, iu] = self.store
            out[np.arange(self.n), np.arange(self.n)] = self.mu
            return out
        return self.store.reshape(self.m, self.n).astype(np.int64)


def _indices(idx: Tensor, valid: Tensor | None, size: int, what: str) -> np.ndarray:
    """int64 numpy (B, k), padding as −1, range-checked."""
    if idx.dim() != 2:
        raise ShapeError(f"{what} index patterns must be (B, k) (got {tuple(idx.shape)})")
    t = idx.to("cpu", torch.int64)
    if valid is not None:
        if valid.shape != idx.shape:
            raise ShapeError(f"{what} mask {tuple(valid.shape)} != indices {tuple(idx.shape)}")
        t = torch.where(valid.to("cpu"), t, torch.full_like(t, -1))
    if t.numel() and int(t.max()) >= size:
        raise ShapeError(f"{what} indices must be in [0, {size})")
    return np.ascontiguousarray(t.numpy())
