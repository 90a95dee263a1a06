"""The Numba kernels of :mod:`neuroplastic.fused` (imported only when Numba is installed)."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

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


@numba.njit(fastmath={"contract"}, nogil=True, cache=True)
def outer_batch_vectors(
    values: Any, bounds: Any, vectors: Any, vector_factor: Any, alpha: Any, new: Any, stats: Any
) -> bool:  # pragma: no cover - compiled
    """The counting and the vector writes of one :class:`~neuroplastic.synapses.OuterBatch` step.

    ``values``: the step's factors, concatenated; ``bounds``: their segment starts and end.
    ``stats[s] = (nnz, Σ|v|, Σv²)`` (float64) of factor segment s, then of the change written
    to each vector ``vectors[k] += alpha · factor[vector_factor[k]]`` (``new`` holds the new
    values, concatenated). The vectors are written only when every sum is finite (the return
    value); otherwise nothing is written.
    """
    n_seg = bounds.size - 1
    finite = True
    for s in range(n_seg):
        m0, m1, m2 = 0.0, 0.0, 0.0
        for i in range(bounds[s], bounds[s + 1]):
            v = values[i]
            if v != 0:
                m0 += 1.0
            m1 += abs(v)
            m2 += float(v) * float(v)
        stats[s, 0], stats[s, 1], stats[s, 2] = m0, m1, m2
        finite = finite and np.isfinite(m1) and np.isfinite(m2)
    start = 0
    for k in range(len(vectors)):
        vec = vectors[k]
        f0 = bounds[vector_factor[k]]
        m0, m1, m2 = 0.0, 0.0, 0.0
        for i in range(vec.size):
            updated = vec[i] + alpha * values[f0 + i]
            new[start + i] = updated
            d = updated - vec[i]
            if d != 0:
                m0 += 1.0
            m1 += abs(d)
            m2 += float(d) * float(d)
        stats[n_seg + k, 0], stats[n_seg + k, 1], stats[n_seg + k, 2] = m0, m1, m2
        finite = finite and np.isfinite(m1) and np.isfinite(m2)
        start += vec.size
    if finite:
        start = 0
        for k in range(len(vectors)):
            vec = vectors[k]
            for i in range(vec.size):
                vec[i] = new[start + i]
            start += vec.size
    return finite
