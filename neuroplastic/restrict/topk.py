"""Top-k selection of update magnitudes: dense, and from the factors of an outer product.

For batch size 1 the backprop update of a layer is an outer product ``dw = a bᵀ`` (a: error of
the post-synaptic units, b: pre-synaptic activity), so ``|dw_ij| = |a_i| |b_j|``. The k largest
entries can then be found from the two sorted factor vectors without forming the m × n matrix:

1. sort ``|b|`` ascending once; for a threshold t the number of products above t is
   ``count(t) = Σ_i #{j : |b_j| > t / |a_i|}``, one vectorised ``searchsorted`` over the rows;
2. bracket the k-th largest product: a first guess from the quantile of 4,096 random products
   (± 4 binomial sd), checked by counting; if the guess fails or is too wide, rounds of a grid
   of thresholds narrow it until fewer than ``_ENUMERATE`` products lie inside;
3. take every product above the bracket and the largest remaining ones inside it, which are
   enumerated explicitly (they form one contiguous run of sorted b per row).

The result equals the dense top-k (ties, which have measure zero with the protocol's input
noise, may be broken differently). Cost: typically O(m log n + width of the bracket + k)
instead of O(m n).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from neuroplastic.errors import ParameterError

_GRID = 24
_ROUNDS = 8
_ENUMERATE = 4096
_SAMPLES = 4096
# private generator: the sample only steers speed, and must not disturb the global RNG stream
_SAMPLER = torch.Generator().manual_seed(20240)


def count_k(fraction: float, n: int) -> int:
    """Number of entries kept for a fraction ``p`` of ``n``: ``round(p n)``, at least 1."""
    if not 0 < fraction <= 1:
        raise ParameterError(f"restriction fraction p must be in (0, 1] (got {fraction})")
    return min(n, max(1, round(fraction * n)))


def dense_topk_mask(score: Tensor, k: int) -> Tensor:
    """Boolean mask (like ``score``) of its k largest entries (k clipped to the size)."""
    flat = score.reshape(-1)
    n = flat.numel()
    if 0 < k < n and flat.device.type == "cpu":
        # introselect (numpy) is several times faster than torch.topk for large k on CPU
        arr = flat.detach().contiguous().numpy()
        threshold = float(np.partition(arr, n - k)[n - k])
        mask = flat >= threshold
        if int(mask.sum()) == k or threshold == 0:  # exact, or only zero-valued ties extra
            return mask.reshape(score.shape)
    mask = torch.zeros(flat.shape, dtype=torch.bool, device=score.device)
    if k >= n:
        mask[:] = True
    elif k > 0:
        mask[torch.topk(flat, k, sorted=False).indices] = True
    return mask.reshape(score.shape)


def rowwise_topk_mask(score: Tensor, k: int) -> Tensor:
    """Boolean mask of the k largest entries of each row of a 2-D ``score``."""
    if score.dim() != 2:
        raise ParameterError(f"per-neuron selection needs a 2-D update (got {score.dim()}-D)")
    if k >= score.shape[1]:
        return torch.ones_like(score, dtype=torch.bool)
    mask = torch.zeros_like(score, dtype=torch.bool)
    mask.scatter_(1, torch.topk(score, k, dim=1, sorted=False).indices, True)
    return mask


def _sample_bracket(nz_a: Tensor, nz_b: Tensor, q: float) -> Tensor:
    """Two thresholds (lo, hi) that probably bracket the upper q-quantile of the products.

    Drawn from ``_SAMPLES`` random products; the bracket is the quantile ± 4 binomial standard
    deviations. Only speed depends on this guess: the caller checks it by counting.
    """
    s = _SAMPLES
    ia = torch.randint(nz_a.numel(), (s,), generator=_SAMPLER).to(nz_a.device)
    ib = torch.randint(nz_b.numel(), (s,), generator=_SAMPLER).to(nz_b.device)
    products = torch.sort(nz_a[ia] * nz_b[ib], descending=True).values.cpu()
    sd = math.sqrt(max(q * (1 - q), 1e-12) / s)
    r_lo = min(s - 1, math.ceil((q + 4 * sd) * s))
    r_hi = max(0, math.floor((q - 4 * sd) * s))
    return torch.stack([products[r_lo], products[r_hi]])


def _count_above(t: Tensor, a: Tensor, b_sorted: Tensor) -> Tensor:
    """``count(t)`` for a vector of thresholds t (T,): products ``a_i b_j > t`` (a, b >= 0)."""
    with torch.no_grad():
        q = t[:, None] / a[None, :]  # a_i = 0 gives inf: no b exceeds it
        idx = torch.searchsorted(b_sorted, q.contiguous(), right=True)
        return (b_sorted.numel() - idx).sum(1)


def outer_topk(a: Tensor, b: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Indices (rows, cols) of the k largest ``|a_i b_j|`` without forming the matrix.

    ``a`` (m,), ``b`` (n,). Only non-zero products are returned, so fewer than k indices come
    back when fewer than k products are non-zero. Equal to the dense top-k of ``|outer(a, b)|``
    up to the order of ties.
    """
    if a.dim() != 1 or b.dim() != 1:
        raise ParameterError("outer_topk needs two vectors")
    a_abs = a.detach().abs().to(torch.float64)
    b_abs = b.detach().abs().to(torch.float64)
    m, n = a_abs.numel(), b_abs.numel()
    b_sorted, b_order = torch.sort(b_abs)
    nz_a = a_abs[a_abs > 0]
    nz_b = b_sorted[b_sorted > 0]
    n_nonzero = nz_a.numel() * nz_b.numel()
    if k <= 0 or n_nonzero == 0:
        empty = torch.zeros(0, dtype=torch.long, device=a.device)
        return empty, empty
    if k >= n_nonzero:
        rows, cols = torch.nonzero(a_abs > 0).squeeze(1), torch.nonzero(b_abs > 0).squeeze(1)
        return rows.repeat_interleave(cols.numel()), cols.repeat(rows.numel())
    # bracket: count(lo) >= k > count(hi); first guess from a sample of products
    lo_v = float(nz_a.min() * nz_b.min()) * 0.5
    hi_v = float(nz_a.max() * nz_b[-1])
    c_lo, c_hi = n_nonzero, 0
    if n_nonzero > _ENUMERATE:
        guess = _sample_bracket(nz_a, nz_b, k / n_nonzero)
        counts = _count_above(guess.to(a_abs.device), a_abs, b_sorted).cpu()
        if int(counts[0]) >= k:
            lo_v, c_lo = float(guess[0]), int(counts[0])
        if int(counts[1]) < k:
            hi_v, c_hi = float(guess[1]), int(counts[1])
    for rnd in range(_ROUNDS):
        if c_lo - c_hi <= _ENUMERATE:
            break
        if rnd == 0 and hi_v / lo_v > 100:
            grid = torch.logspace(
                math.log10(lo_v), math.log10(hi_v), _GRID + 2, dtype=torch.float64
            )[1:-1]
        else:
            grid = torch.linspace(lo_v, hi_v, _GRID + 2, dtype=torch.float64)[1:-1]
        counts = _count_above(grid.to(a_abs.device), a_abs, b_sorted).cpu()
        at_least = torch.nonzero(counts >= k).squeeze(1)
        below = torch.nonzero(counts < k).squeeze(1)
        if at_least.numel():
            i = int(at_least[-1])
            lo_v, c_lo = float(grid[i]), int(counts[i])
        if below.numel():
            i = int(below[0])
            hi_v, c_hi = float(grid[i]), int(counts[i])
    # everything above hi is kept; products in (lo, hi] are enumerated and ranked
    thr = torch.tensor([lo_v, hi_v], dtype=torch.float64, device=a_abs.device)
    q = thr[:, None] / a_abs[None, :]
    start = torch.searchsorted(b_sorted, q[0].contiguous(), right=True)  # first b > lo/a
    mid = torch.searchsorted(b_sorted, q[1].contiguous(), right=True)  # first b > hi/a
    rows_all = torch.arange(m, device=a.device)
    # above hi: columns b_order[mid_i:] of row i
    n_above = n - mid
    keep_rows = rows_all.repeat_interleave(n_above)
    offsets = torch.arange(int(n_above.sum()), device=a.device) - torch.repeat_interleave(
        torch.cumsum(n_above, 0) - n_above, n_above
    )
    keep_cols = b_order[torch.repeat_interleave(mid, n_above) + offsets]
    need = k - int(n_above.sum())
    if need > 0:
        n_mid = mid - start
        cand_rows = rows_all.repeat_interleave(n_mid)
        cand_off = torch.arange(int(n_mid.sum()), device=a.device) - torch.repeat_interleave(
            torch.cumsum(n_mid, 0) - n_mid, n_mid
        )
        cand_pos = torch.repeat_interleave(start, n_mid) + cand_off
        products = a_abs[cand_rows] * b_sorted[cand_pos]
        best = torch.topk(products, min(need, products.numel())).indices
        keep_rows = torch.cat([keep_rows, cand_rows[best]])
        keep_cols = torch.cat([keep_cols, b_order[cand_pos[best]]])
    return keep_rows, keep_cols
