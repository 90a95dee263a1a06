"""The Numba kernels of :mod:`neuroplastic.fused` (imported only when Numba is installed)."""

from __future__ import annotations

from typing import Any

import numba

BLOCK = 2048


@numba.njit(fastmath={"contract"}, nogil=True, cache=True)
def _write(w: Any, dw: Any, alpha: Any, out: Any) -> None:  # pragma: no cover - compiled
    """``out = w + alpha · dw`` (a fused multiply-add, as torch.add)."""
    for i in range(w.size):
        out[i] = w[i] + alpha * dw[i]


@numba.njit(fastmath={"reassoc", "nsz"}, nogil=True, cache=True)
def _sums(out: Any, w: Any) -> tuple[Any, Any, Any]:  # pragma: no cover - compiled
    """``(#(d ≠ 0), Σ|d|, Σd²)`` of ``d = out − w``, summed in vectorised lanes."""
    zero = out.dtype.type(0)
    one = out.dtype.type(1)
    m0, m1, m2 = zero, zero, zero
    for i in range(w.size):
        d = out[i] - w[i]
        m0 += one if d != zero else zero
        m1 += abs(d)
        m2 += d * d
    return m0, m1, m2


@numba.njit(nogil=True, cache=True)
def add_and_count(
    w: Any, dw: Any, alpha: Any, out: Any
) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """Blocks of :data:`BLOCK`: write, then sum the block's change while it is in L1."""
    n = w.size
    m0, m1, m2 = 0.0, 0.0, 0.0
    for start in range(0, n, BLOCK):
        stop = min(n, start + BLOCK)
        w_block, out_block = w[start:stop], out[start:stop]
        _write(w_block, dw[start:stop], alpha, out_block)
        b0, b1, b2 = _sums(out_block, w_block)
        m0 += b0
        m1 += b1
        m2 += b2
    return m0, m1, m2
