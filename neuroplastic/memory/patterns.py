"""Random binary patterns and noisy queries for associative memories.

Two pattern models (rows are patterns, columns units; values 0.0 / 1.0 as float32):

- **constant activity**: every pattern has exactly ``k`` of its ``n`` units active, chosen
  uniformly at random (:func:`constant_activity`);
- **binomial activity**: every unit is active independently with probability ``p = k/n``, so
  the number of active units is Binomial(n, p) (:func:`binomial_activity`).

Query noise (:func:`add_query_noise`): starting from a stored pattern ``u``, each active unit is
switched off with probability ``p10`` ("miss" noise) and each inactive unit is switched on with
probability ``p01`` ("add" noise), independently:

    P(ũ_i = 0 | u_i = 1) = p10,    P(ũ_i = 1 | u_i = 0) = p01.

:func:`exact_miss_query` keeps exactly ``round((1 - p10) k)`` of the ``k`` active units (the
deterministic form used in capacity experiments: every query carries the same information).
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuroplastic.errors import ParameterError, ShapeError

__all__ = [
    "active_indices",
    "add_query_noise",
    "binomial_activity",
    "constant_activity",
    "constant_activity_indices",
    "exact_miss_query",
    "indices_to_dense",
]


def _check_sizes(count: int, n: int, k: int) -> None:
    if count < 0:
        raise ParameterError(f"number of patterns must be >= 0 (got {count})")
    if n < 1:
        raise ParameterError(f"number of units n must be >= 1 (got {n})")
    if not 0 <= k <= n:
        raise ParameterError(f"activity k must be in [0, n={n}] (got {k})")


def constant_activity_indices(
    count: int, n: int, k: int, generator: torch.Generator, device: torch.device | str = "cpu"
) -> Tensor:
    """Active-unit indices of ``count`` constant-activity patterns: int64 (count, k), sorted.

    Each row is a uniformly random k-subset of range(n). Sparse patterns (k² <= n) are drawn
    with replacement and rows with a repeated unit are redrawn (rejection sampling: exact, cost
    O(k) per pattern); denser ones take the k smallest of n uniform keys (cost O(n)).
    """
    _check_sizes(count, n, k)
    if k * k <= n:  # sparse: draw with replacement, redraw the rare rows with a repeat
        out = torch.randint(0, n, (count, k), generator=generator).sort(dim=1).values
        while k > 1:
            bad = (out[:, 1:] == out[:, :-1]).any(1).nonzero().flatten()
            if bad.numel() == 0:
                break
            redraw = torch.randint(0, n, (len(bad), k), generator=generator)
            out[bad] = redraw.sort(dim=1).values
        return out.to(device)
    out = torch.empty((count, k), dtype=torch.int64)
    chunk = max(1, (1 << 22) // max(n, 1))
    for start in range(0, count, chunk):
        stop = min(count, start + chunk)
        keys = torch.rand((stop - start, n), generator=generator)
        out[start:stop] = torch.topk(keys, k, dim=1, largest=False).indices
    return out.sort(dim=1).values.to(device)


def indices_to_dense(indices: Tensor, n: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """(B, k) int64 active indices -> (B, n) 0/1 tensor. Negative indices mean "no unit"."""
    if indices.dim() != 2:
        raise ShapeError(f"indices must be 2-d (B, k) (got shape {tuple(indices.shape)})")
    dense = torch.zeros((indices.shape[0], n + 1), dtype=dtype, device=indices.device)
    safe = torch.where(indices < 0, torch.full_like(indices, n), indices)
    if indices.numel():
        if int(safe.max()) > n:
            raise ShapeError(f"an index exceeds n - 1 = {n - 1}")
        dense.scatter_(1, safe, 1.0)
    return dense[:, :n].contiguous()


def active_indices(patterns: Tensor) -> tuple[Tensor, Tensor]:
    """Dense 0/1 (B, n) -> padded active indices (B, k_max) and a validity mask (B, k_max).

    Rows with fewer than ``k_max`` active units are padded with index 0 and mask False.
    """
    if patterns.dim() != 2:
        raise ShapeError(f"patterns must be 2-d (B, n) (got shape {tuple(patterns.shape)})")
    counts = (patterns > 0).sum(1)
    k_max = int(counts.max()) if patterns.shape[0] else 0
    if k_max == 0:
        empty = torch.zeros((patterns.shape[0], 0), dtype=torch.int64, device=patterns.device)
        return empty, empty.bool()
    values, idx = torch.topk((patterns > 0).to(torch.int8), k_max, dim=1)
    valid = values > 0
    return torch.where(valid, idx, torch.zeros_like(idx)), valid


def constant_activity(
    count: int, n: int, k: int, generator: torch.Generator, device: torch.device | str = "cpu"
) -> Tensor:
    """``count`` patterns with exactly ``k`` of ``n`` units active: float32 (count, n) of 0/1."""
    return indices_to_dense(constant_activity_indices(count, n, k, generator), n).to(device)


def binomial_activity(
    count: int, n: int, k: float, generator: torch.Generator, device: torch.device | str = "cpu"
) -> Tensor:
    """``count`` patterns with each unit active with probability ``k/n`` (mean activity k)."""
    if not 0 <= k <= n:
        raise ParameterError(f"mean activity k must be in [0, n={n}] (got {k})")
    _check_sizes(count, n, 0)
    p = k / n
    return (torch.rand((count, n), generator=generator) < p).to(torch.float32).to(device)


def _check_prob(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ParameterError(f"{name} must be a probability in [0, 1] (got {value})")


def add_query_noise(patterns: Tensor, p01: float, p10: float, generator: torch.Generator) -> Tensor:
    """Noisy copies of 0/1 ``patterns`` (B, n): miss each 1 w.p. p10, add each 0 w.p. p01."""
    _check_prob("p01", p01)
    _check_prob("p10", p10)
    if patterns.dim() != 2:
        raise ShapeError(f"patterns must be 2-d (B, n) (got shape {tuple(patterns.shape)})")
    r = torch.rand(patterns.shape, generator=generator).to(patterns.device)
    on = patterns > 0
    keep = on & (r >= p10)
    add = ~on & (r < p01)
    return (keep | add).to(patterns.dtype)


def exact_miss_query(indices: Tensor, p10: float, generator: torch.Generator) -> Tensor:
    """Queries keeping exactly ``round((1 - p10) k)`` of each row's k active ``indices``.

    Returns int64 (B, z) indices of the kept units (a random z-subset of each row).
    """
    _check_prob("p10", p10)
    if indices.dim() != 2:
        raise ShapeError(f"indices must be 2-d (B, k) (got shape {tuple(indices.shape)})")
    b, k = indices.shape
    z = round((1.0 - p10) * k)
    keys = torch.rand((b, k), generator=generator).to(indices.device)
    pick = torch.topk(keys, z, dim=1).indices
    return torch.gather(indices, 1, pick).sort(dim=1).values
