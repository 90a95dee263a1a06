"""Synaptic counters M11, M10, M01, M00, kept incrementally.

For stored pairs u^μ ∈ {0,1}^m → v^μ ∈ {0,1}^n (μ = 1..M) and a synapse i → j:

    M11_ij = #{μ: u_i = 1, v_j = 1}      M10_ij = #{μ: u_i = 1, v_j = 0}
    M01_ij = #{μ: u_i = 0, v_j = 1}      M00_ij = #{μ: u_i = 0, v_j = 0}

Only M11 needs a matrix; with the unit counts ``mu_i = #{μ: u_i = 1}`` and
``mv_j = #{μ: v_j = 1}`` the others follow exactly:

    M10 = mu_i − M11,   M01 = mv_j − M11,   M00 = M − mu_i − mv_j + M11.

Adding or removing patterns updates the counters in place (``sign = ±1``): removing is what lets
a capacity search move its load M up and down without recomputing from scratch. Sparse patterns
are accumulated as index pairs (cost B·k·l) and dense ones as a matrix product (cost B·m·n),
whichever is cheaper. Counts are float32, exact up to 2**24 patterns.
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuroplastic.errors import ParameterError, ShapeError
from neuroplastic.memory.patterns import active_indices

__all__ = ["Counters"]

_EXACT_COUNT = 2**24


class Counters:
    """M11 (m, n) plus unit counts mu (m,), mv (n,) and the number of stored patterns M."""

    def __init__(self, m: int, n: int, device: torch.device | str = "cpu") -> None:
        if m < 1 or n < 1:
            raise ParameterError(f"memory sizes must be >= 1 (got m={m}, n={n})")
        self.m, self.n = int(m), int(n)
        self.device = torch.device(device)
        self.m11 = torch.zeros((m, n), dtype=torch.float32, device=self.device)
        self.mu = torch.zeros(m, dtype=torch.float32, device=self.device)
        self.mv = torch.zeros(n, dtype=torch.float32, device=self.device)
        self.total = 0
        self.version = 0  # bumped by every update (weight caches key on it)

    # -------------------------------------------------------------- derived counters
    @property
    def m10(self) -> Tensor:
        """M10_ij = mu_i − M11_ij."""
        return self.mu[:, None] - self.m11

    @property
    def m01(self) -> Tensor:
        """M01_ij = mv_j − M11_ij."""
        return self.mv[None, :] - self.m11

    @property
    def m00(self) -> Tensor:
        """M00_ij = M − mu_i − mv_j + M11_ij."""
        return self.total - self.mu[:, None] - self.mv[None, :] + self.m11

    # -------------------------------------------------------------- updates
    def _check(self, u: Tensor, v: Tensor) -> None:
        if u.dim() != 2 or v.dim() != 2:
            raise ShapeError(f"patterns must be 2-d (got u {tuple(u.shape)}, v {tuple(v.shape)})")
        if u.shape[1] != self.m or v.shape[1] != self.n:
            raise ShapeError(
                f"patterns must have {self.m} and {self.n} columns "
                f"(got u {tuple(u.shape)}, v {tuple(v.shape)})"
            )
        if u.shape[0] != v.shape[0]:
            raise ShapeError(f"u has {u.shape[0]} patterns, v has {v.shape[0]}")

    @torch.no_grad()
    def add(self, u: Tensor, v: Tensor, sign: int = 1) -> None:
        """Add (sign=+1) or remove (sign=−1) the pairs (u^μ, v^μ): dense 0/1 rows (B, m), (B, n)."""
        self._check(u, v)
        if sign not in (1, -1):
            raise ParameterError(f"sign must be +1 or -1 (got {sign})")
        u = (u.to(self.device) > 0).to(torch.float32)
        v = (v.to(self.device) > 0).to(torch.float32)
        b = u.shape[0]
        if b == 0:
            return
        if sign < 0 and self.total - b < 0:
            raise ParameterError(f"cannot remove {b} patterns from a memory holding {self.total}")
        nnz_u = float(u.sum())
        nnz_v = float(v.sum())
        if nnz_u * nnz_v / b < 0.05 * self.m * self.n:
            iu, vu = active_indices(u)
            iv, vv = active_indices(v)
            self.add_indices(iu, iv, sign, valid_u=vu, valid_v=vv)
            return
        self.m11.addmm_(u.T, v, alpha=float(sign))
        self.mu.add_(u.sum(0), alpha=sign)
        self.mv.add_(v.sum(0), alpha=sign)
        self.total += sign * b
        self._check_exact()

    @torch.no_grad()
    def add_indices(
        self,
        iu: Tensor,
        iv: Tensor,
        sign: int = 1,
        *,
        valid_u: Tensor | None = None,
        valid_v: Tensor | None = None,
    ) -> None:
        """Add/remove pairs given as active indices iu (B, k), iv (B, l) (optional validity masks).

        Cost B·k·l index additions; the index rows must not repeat a unit.
        """
        if iu.dim() != 2 or iv.dim() != 2 or iu.shape[0] != iv.shape[0]:
            raise ShapeError(
                f"index patterns must be (B, k) and (B, l) (got {tuple(iu.shape)}, "
                f"{tuple(iv.shape)})"
            )
        if sign not in (1, -1):
            raise ParameterError(f"sign must be +1 or -1 (got {sign})")
        b = iu.shape[0]
        if b == 0:
            return
        if sign < 0 and self.total - b < 0:
            raise ParameterError(f"cannot remove {b} patterns from a memory holding {self.total}")
        iu = iu.to(self.device)
        iv = iv.to(self.device)
        if iu.numel() and (int(iu.min()) < 0 or int(iu.max()) >= self.m):
            raise ShapeError(f"input indices must be in [0, {self.m})")
        if iv.numel() and (int(iv.min()) < 0 or int(iv.max()) >= self.n):
            raise ShapeError(f"output indices must be in [0, {self.n})")
        wu = (
            torch.ones(iu.shape, device=self.device)
            if valid_u is None
            else valid_u.to(self.device, torch.float32)
        )
        wv = (
            torch.ones(iv.shape, device=self.device)
            if valid_v is None
            else valid_v.to(self.device, torch.float32)
        )
        flat = (iu[:, :, None] * self.n + iv[:, None, :]).reshape(-1)
        vals = (wu[:, :, None] * wv[:, None, :]).reshape(-1) * sign
        self.m11.view(-1).index_add_(0, flat, vals)
        self.mu.index_add_(0, iu.reshape(-1), wu.reshape(-1) * sign)
        self.mv.index_add_(0, iv.reshape(-1), wv.reshape(-1) * sign)
        self.total += sign * b
        self._check_exact()

    def _check_exact(self) -> None:
        self.version += 1
        if self.total > _EXACT_COUNT:
            raise ParameterError(
                f"more than 2**24 stored patterns ({self.total}): float32 counts are not exact"
            )

    def copy(self) -> Counters:
        """An independent copy."""
        out = Counters(self.m, self.n, self.device)
        out.m11.copy_(self.m11)
        out.mu.copy_(self.mu)
        out.mv.copy_(self.mv)
        out.total = self.total
        return out
