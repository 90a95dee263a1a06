"""Top-k selection of update magnitudes: dense, and from the factors of an outer product.

For batch size 1 the backprop update of a layer is an outer product ``dw = a bᵀ`` (a: error of
the post-synaptic units, b: pre-synaptic activity), so ``|dw_ij| = |a_i| |b_j|``. The k largest
entries can then be found from the two factor vectors without forming or sorting the m × n
matrix (:func:`select_outer_topk`):

1. sort ``|b|`` ascending once (stable). For a threshold t, row i holds the products above t
   in a suffix of that order: ``pos_i(t) = searchsorted(|b|_sorted, t / |a_i|, right)``, so
   ``count(t) = Σ_i (n − pos_i(t))`` costs one vectorised search over the m rows;
2. bracket the k-th largest product t* by two thresholds ``lo < t* ≤ hi`` with
   ``count(lo) ≥ k > count(hi)``. The candidates (lo, hi] are ``pos_i(lo) ≤ p < pos_i(hi)``
   in row i; each round draws ``_SAMPLES`` of them uniformly, takes the sample's quantiles
   around the wanted rank (± ``_Z`` binomial standard deviations) as the new thresholds and
   keeps each one that counting confirms. A round shrinks the candidates about 20-fold; the
   thresholds are themselves products, so the division test ``|b_j| > t / |a_i|`` is exact
   for float32 factors (their products are exact in float64);
3. enumerate the remaining candidates (at most ``_ENUMERATE``), find t* among them (the
   ``k − count(hi)``-th largest, ``np.partition``), and keep every product above hi, every
   candidate above t* and, of the ties ``= t*``, as many as are still needed to reach k,
   assigned in row order.

The result (:class:`OuterTopK`) is a count per row: row i keeps its ``counts[i]`` columns of
largest ``|b_j|``. It depends only on (a, b, k), never on the random draws (they only steer
speed); it equals the dense top-k of ``|outer(a, b)|`` with ties broken as just said. The door
writes it as one indexed add (:meth:`OuterTopK.scatter`, indices built with NumPy on the CPU).
Its ``M0, M1, M2`` come from the factors: ``Σ_i counts_i``, ``|α| Σ_i |a_i| S1_i`` and
``α² Σ_i a_i² S2_i`` with ``S1_i``, ``S2_i`` the sums of ``|b|`` and ``b²`` over the kept
columns (suffix sums of the sorted ``|b|``). Cost: O(m log n) per round and O(m n) only for
the masked write, instead of a selection over all m n products.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from neuroplastic.errors import ParameterError

_ROUNDS = 12
_ENUMERATE = 4096
_SAMPLES = 4096
_Z = 3.5
# private generator: the sample only steers speed, and must not disturb the global RNG stream
_SAMPLER = np.random.default_rng(20240)


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


class OuterTopK:
    """The k largest ``|a_i b_j|`` of a rank-1 update, held as a count per row.

    Row i keeps the ``counts[i]`` columns of largest ``|b_j|`` (the last ``counts[i]`` of
    ``b_order``, the columns by ascending ``|b|``, stable). ``threshold`` is the smallest kept
    ``|a_i b_j|`` (float64; None when nothing is kept). Built by :func:`select_outer_topk`;
    the selection itself is a few small NumPy arrays on the host (m + n numbers).
    """

    __slots__ = ("a_abs", "b_order", "b_sorted", "counts", "device", "finite", "k", "threshold")

    def __init__(
        self,
        a_abs: np.ndarray,
        b_sorted: np.ndarray,
        b_order: np.ndarray,
        counts: np.ndarray,
        k: int,
        threshold: float | None,
        device: torch.device,
    ) -> None:
        self.a_abs, self.b_sorted, self.b_order = a_abs, b_sorted, b_order
        self.counts, self.k, self.threshold, self.device = counts, k, threshold, device
        #: whether both factors are finite (a non-finite factor keeps nothing: see select)
        self.finite = True

    def mask(self) -> Tensor:
        """Boolean (m, n) mask of the kept entries, on the factors' device."""
        n = self.b_order.size
        rank = np.empty(n, dtype=np.int64)
        rank[self.b_order] = np.arange(n)
        first = torch.from_numpy(n - self.counts).to(self.device)
        return torch.from_numpy(rank).to(self.device)[None, :] >= first[:, None]

    def indices(self) -> tuple[Tensor, Tensor]:
        """(rows, cols) of the kept entries, row by row, on the factors' device."""
        m, n = self.counts.size, self.b_order.size
        rows = np.repeat(np.arange(m), self.counts)
        first = np.cumsum(self.counts) - self.counts  # where each row's run starts
        cols = self.b_order[np.arange(rows.size) + (n - self.counts - first)[rows]]
        return torch.from_numpy(rows).to(self.device), torch.from_numpy(cols).to(self.device)

    def scatter(self, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        """Flat indices of the kept entries in the row-major (m, n) matrix and the products
        ``a_i b_j`` there (in the factors' dtype, on their device)."""
        if a.device.type != "cpu":
            rows_t, cols_t = self.indices()
            return rows_t * self.b_order.size + cols_t, a[rows_t] * b[cols_t]
        m, n = self.counts.size, self.b_order.size
        first = np.cumsum(self.counts) - self.counts
        rows = np.repeat(np.arange(m), self.counts)
        cols = self.b_order[np.arange(rows.size) + (n - self.counts - first)[rows]]
        a_np, b_np = a.detach().numpy(), b.detach().numpy()
        values = np.repeat(a_np, self.counts) * b_np[cols]
        return torch.from_numpy(rows * n + cols), torch.from_numpy(values)

    def stats(self, alpha: float) -> tuple[float, float, float]:
        """``(M0, M1, M2)`` of the kept entries of ``alpha · a bᵀ``, from the factors (float64)."""
        zero = np.zeros(1)
        s1 = np.concatenate([np.cumsum(self.b_sorted[::-1])[::-1], zero])  # Σ_{q>=p} |b|_(q)
        s2 = np.concatenate([np.cumsum(np.square(self.b_sorted)[::-1])[::-1], zero])
        first = self.b_sorted.size - self.counts
        scale = abs(alpha)
        return (
            float(self.k),
            scale * float(np.dot(self.a_abs, s1[first])),
            scale * scale * float(np.dot(np.square(self.a_abs), s2[first])),
        )


def _positions(
    t: np.ndarray, a_abs: np.ndarray, b_sorted: np.ndarray, side: str = "right"
) -> np.ndarray:
    """``pos[r, i]``: the first index of ``b_sorted`` with ``a_i b > t_r`` (``>=`` with
    ``side`` left), for thresholds ``t`` (T,) > 0; rows with ``a_i = 0`` get n (nothing)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(a_abs > 0, t[:, None] / a_abs[None, :], np.inf)
    return np.searchsorted(b_sorted, q, side=side)  # type: ignore[call-overload]


def select_outer_topk(a: Tensor, b: Tensor, k: int) -> OuterTopK:
    """The k largest ``|a_i b_j|`` (only non-zero products) without forming the matrix.

    ``a`` (m,), ``b`` (n,). Fewer than k entries are kept when fewer than k products are
    non-zero. See the module docstring for the method and the tie rule. A factor with NaN or
    infinity keeps nothing and sets ``finite`` False (the caller then takes the dense path,
    which reports the non-finite update).
    """
    if a.dim() != 1 or b.dim() != 1:
        raise ParameterError("outer_topk needs two vectors")
    device = a.device
    a_abs = np.abs(a.detach().cpu().numpy().astype(np.float64))
    b_abs = np.abs(b.detach().cpu().numpy().astype(np.float64))
    m, n = a_abs.size, b_abs.size
    b_order = np.argsort(b_abs, kind="stable")
    b_sorted = b_abs[b_order]
    nnz_a, nnz_b = int(np.count_nonzero(a_abs)), int(np.count_nonzero(b_abs))
    n_nonzero = nnz_a * nnz_b
    finite = bool(np.isfinite(a_abs).all() and np.isfinite(b_abs).all())
    if k <= 0 or n_nonzero == 0 or not finite:
        counts = np.zeros(m, dtype=np.int64)
        empty = OuterTopK(a_abs, b_sorted, b_order, counts, 0, None, device)
        empty.finite = finite
        return empty
    if k >= n_nonzero:
        counts = np.where(a_abs > 0, nnz_b, 0).astype(np.int64)
        t_min = float(a_abs[a_abs > 0].min() * b_sorted[n - nnz_b])
        return OuterTopK(a_abs, b_sorted, b_order, counts, n_nonzero, t_min, device)
    # bracket lo < t* <= hi with count(lo) >= k > count(hi); lo = 0 and hi = inf to start
    lo_pos = np.where(a_abs > 0, n - nnz_b, n).astype(np.int64)
    hi_pos = np.full(m, n, dtype=np.int64)
    c_lo, c_hi = n_nonzero, 0
    for _ in range(_ROUNDS):
        if c_lo - c_hi <= _ENUMERATE:
            break
        length = hi_pos - lo_pos
        cum = np.cumsum(length)
        total = int(cum[-1])
        draw = _SAMPLER.integers(total, size=_SAMPLES)
        row = np.searchsorted(cum, draw, side="right")
        pos = lo_pos[row] + draw - (cum[row] - length[row])
        sample = a_abs[row] * b_sorted[pos]
        frac = (k - c_hi) / total  # wanted rank among the candidates (from the top), a fraction
        sd = math.sqrt(max(frac * (1 - frac), 1.0 / _SAMPLES) / _SAMPLES)
        # ascending ranks in the sample: lo just below the wanted rank, hi just above it
        r_lo = max(0, _SAMPLES - 1 - math.ceil((frac + _Z * sd) * _SAMPLES))
        r_hi = min(_SAMPLES - 1, _SAMPLES - math.floor((frac - _Z * sd) * _SAMPLES))
        guess = np.partition(sample, [r_lo, r_hi])[[r_lo, r_hi]]
        at = _positions(guess, a_abs, b_sorted)
        c_new = (n - at).sum(1)
        if k <= c_new[0] < c_lo:
            lo_pos, c_lo = at[0], int(c_new[0])
        if c_hi < c_new[1] < k:
            hi_pos, c_hi = at[1], int(c_new[1])
    # the candidates left: t* is the (k - c_hi)-th largest of them
    length = hi_pos - lo_pos
    cum = np.cumsum(length)
    total = int(cum[-1])
    rows = np.repeat(np.arange(m), length)
    pos = np.arange(total) + (lo_pos - (cum - length))[rows]
    products = a_abs[rows] * b_sorted[pos]
    need = k - c_hi
    t_star = np.partition(products, total - need)[total - need]
    chosen = products > t_star
    ties = np.flatnonzero(products == t_star)  # in row order
    chosen[ties[: need - int(chosen.sum())]] = True
    # each row's candidates rise along its run, so row i keeps a suffix of its run
    counts = n - hi_pos + np.bincount(rows[chosen], minlength=m)
    return OuterTopK(a_abs, b_sorted, b_order, counts, k, float(t_star), device)


def outer_topk(a: Tensor, b: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Indices (rows, cols) of the k largest ``|a_i b_j|`` without forming the matrix.

    ``a`` (m,), ``b`` (n,). Only non-zero products are returned, so fewer than k indices come
    back when fewer than k products are non-zero. Equal to the dense top-k of ``|outer(a, b)|``
    up to the order of ties (see :func:`select_outer_topk`).
    """
    return select_outer_topk(a, b, k).indices()
