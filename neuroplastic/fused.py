"""Fused CPU kernel of the door (Numba, optional): write an update and count it in one pass.

:meth:`neuroplastic.synapses.Synapses.apply` writes ``new = w + alpha · dw`` and counts what
it actually wrote, ``Δ = new − w``: M0 = #(Δ ≠ 0), M1 = Σ|Δ|, M2 = ΣΔ². With torch ops that is
the write and five more passes over the weights (difference, sign, three dot products); on a
784-1000-10 network they cost about a third of a plain SGD step. :func:`add_and_count` does it
in one pass over memory, as a plain SGD step does: block by block (2,048 entries, which stay in
the L1 cache) it writes the new weights into ``out`` and sums the block's M0, M1, M2 from
``out − w`` read back while hot.

Exactness.

- ``new`` is computed as ``torch.add(w, dw, alpha=alpha)`` computes it (``alpha`` cast to
  the weights' dtype, a fused multiply-add), so the weights are bit-identical to the torch
  path's (tested over sizes, dtypes and tails).
- The sums run in vectorised lanes of the weights' dtype within a block (reassociation is
  allowed only in the summing function, which reads ``new`` and ``w`` from memory, so no
  algebra can cancel the difference), the block totals are added in float64. M0 is exact (a
  block counts at most 2,048); M1 and M2 differ from the torch path's float32 dot products only
  in summation order (relative 1e-6; tested).
- A NaN or infinity in the proposal makes M1 or M2 non-finite; the caller checks them before
  it swaps ``out`` in, so nothing is written.

The first call in a process costs Numba's start-up (import and code generation, about a
second; the compiled kernel is cached on disk next to this module), so the door uses the kernel
only for groups of at least :data:`MIN_SIZE` entries, where a pass costs more than the torch
calls' overhead (a 784-1000 layer has 784,000). Without Numba (the ``fast`` extra) or with
``NEUROPLASTIC_FUSED=0`` in the environment, :func:`available` is False and the door uses its
torch ops.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch
from torch import Tensor

_DTYPES = (torch.float32, torch.float64)
MIN_SIZE = 2**17
"""Smallest group (entries) the door writes with the kernel. Below it the torch passes cost
little next to their per-call overhead, and a small network (the tests, ``--quick`` runs with
a small hidden layer) does not pay Numba's start-up (about a second per process)."""
_kernel: Callable[..., tuple[float, float, float]] | None = None
_state: dict[str, bool] = {}


def _build() -> Callable[..., tuple[float, float, float]] | None:
    """The kernel (compiled on first call, or loaded from Numba's cache); None without Numba."""
    try:
        from neuroplastic._fused_kernels import add_and_count
    except ImportError:
        return None
    return add_and_count


def available() -> bool:
    """Whether the fused kernel can be used (Numba importable, not switched off)."""
    if "ok" not in _state:
        _state["ok"] = os.environ.get("NEUROPLASTIC_FUSED", "1") != "0" and _load() is not None
    return _state["ok"]


def _load() -> Callable[..., tuple[float, float, float]] | None:
    global _kernel
    if _kernel is None:
        _kernel = _build()
    return _kernel


def outer_batch_kernel() -> Callable[..., bool] | None:
    """The kernel that counts one :class:`~neuroplastic.synapses.OuterBatch` step and writes
    its vector groups (one call instead of about ten torch calls), or None without Numba."""
    if not available():
        return None
    from neuroplastic._fused_kernels import outer_batch_vectors

    return outer_batch_vectors


def fusable(w: Tensor, dw: Tensor) -> bool:
    """Whether the door uses :func:`add_and_count` for ``w`` and ``dw``: CPU, contiguous,
    float32/64, at least :data:`MIN_SIZE` entries, and Numba available."""
    return (
        w.numel() >= MIN_SIZE
        and w.device.type == "cpu"
        and dw.device.type == "cpu"
        and w.dtype in _DTYPES
        and dw.dtype == w.dtype
        and w.is_contiguous()
        and dw.is_contiguous()
        and available()
    )


def add_and_count(w: Tensor, dw: Tensor, alpha: float, out: Tensor) -> tuple[float, float, float]:
    """Write ``out = w + alpha · dw`` and return ``(M0, M1, M2)`` of ``out − w``.

    ``w``, ``dw`` and ``out``: CPU tensors of one shape and dtype (see :func:`fusable`);
    ``out`` must not overlap ``w``. ``w`` is not changed.
    """
    kernel = _load()
    if kernel is None:
        raise RuntimeError("the fused kernel needs numba (pip install 'neuroplastic[fast]')")
    scalar = w.new_tensor(alpha).numpy()[()]  # alpha in the weights' dtype, as torch.add casts it
    m0, m1, m2 = kernel(
        w.detach().reshape(-1).numpy(),
        dw.detach().reshape(-1).numpy(),
        scalar,
        out.detach().reshape(-1).numpy(),
    )
    return float(m0), float(m1), float(m2)
