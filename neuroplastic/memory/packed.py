"""Bit-packed binary Willshaw memory for very large n (1 bit per potential synapse).

Weights ``W_ij = [M11_ij > 0]`` are kept as m rows of ⌈n/8⌉ bytes; a store only touches the
B·k·l synapses of its pairs, and a query of z active units reads z packed rows (cost B·z·n/8
bytes), so a 10^5 × 10^5 memory needs 1.25 GB.

Ledger: the weights are not a ``Synapses`` tensor here (no dense float matrix exists), so each
store records its counts explicitly with ``Ledger.record_update(name, m0, m1, m2)`` where
``m0 = m1 = m2`` = the number of synapses switched 0 → 1 by this store (Willshaw weights are
binary, so each write has |Δw| = 1). This counts the same thing as the dense path
(:class:`~neuroplastic.memory.synaptic.AssociativeMemory` with the Willshaw rule).
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuroplastic.energy.ledger import Ledger
from neuroplastic.errors import ParameterError, ShapeError

__all__ = ["PackedWillshaw"]

_BITS = torch.tensor([1, 2, 4, 8, 16, 32, 64, 128], dtype=torch.uint8)


class PackedWillshaw:
    """Binary Willshaw weights, bit-packed, with index-based store and retrieval."""

    def __init__(
        self,
        m: int,
        n: int,
        *,
        ledger: Ledger | None = None,
        name: str = "memory.willshaw.packed",
        device: torch.device | str = "cpu",
    ) -> None:
        if m < 1 or n < 1:
            raise ParameterError(f"memory sizes must be >= 1 (got m={m}, n={n})")
        self.m, self.n = m, n
        self.device = torch.device(device)
        self.bytes_per_row = (n + 7) // 8
        self.bits = torch.zeros((m, self.bytes_per_row), dtype=torch.uint8, device=self.device)
        self.ledger = ledger
        self.name = name
        self.stored = 0
        self.potentiated = 0

    @torch.no_grad()
    def store_indices(self, iu: Tensor, iv: Tensor) -> int:
        """Store pairs given as active indices iu (B, k), iv (B, l); returns new 1-synapses."""
        if iu.dim() != 2 or iv.dim() != 2 or iu.shape[0] != iv.shape[0]:
            raise ShapeError(
                f"index patterns must be (B, k), (B, l) (got {tuple(iu.shape)}, {tuple(iv.shape)})"
            )
        iu, iv = iu.to(self.device), iv.to(self.device)
        if iu.numel() and (int(iu.min()) < 0 or int(iu.max()) >= self.m):
            raise ShapeError(f"input indices must be in [0, {self.m})")
        if iv.numel() and (int(iv.min()) < 0 or int(iv.max()) >= self.n):
            raise ShapeError(f"output indices must be in [0, {self.n})")
        pairs = (iu[:, :, None] * self.n + iv[:, None, :]).reshape(-1).unique()
        rows = pairs // self.n
        cols = pairs % self.n
        byte = rows * self.bytes_per_row + cols // 8
        bit = _BITS.to(self.device)[cols % 8]
        flat = self.bits.view(-1)
        new = (flat[byte] & bit) == 0
        count = int(new.sum())
        # distinct unset bits of one byte sum to their OR
        flat.index_add_(0, byte[new], bit[new])
        self.stored += iu.shape[0]
        self.potentiated += count
        if self.ledger is not None:
            self.ledger.record_update(self.name, float(count), float(count), float(count))
        return count

    def unpack_rows(self, rows: Tensor) -> Tensor:
        """0/1 float rows of W for input indices ``rows`` (any shape) → (*rows.shape, n)."""
        packed = self.bits[rows]
        unpacked = (packed[..., None] & _BITS.to(self.device)) > 0
        return unpacked.reshape(*rows.shape, -1)[..., : self.n].to(torch.float32)

    @torch.no_grad()
    def potentials(self, iq: Tensor) -> Tensor:
        """x (B, n) for queries given as active indices iq (B, z): x_j = Σ_i∈q W_ij."""
        if iq.dim() != 2:
            raise ShapeError(f"queries must be (B, z) indices (got {tuple(iq.shape)})")
        return self.unpack_rows(iq.to(self.device)).sum(1)

    def load(self) -> float:
        """Fraction p1 of potentiated synapses."""
        return self.potentiated / (self.m * self.n)

    def dense(self) -> Tensor:
        """The full 0/1 weight matrix (m, n) (for tests and small memories)."""
        return self.unpack_rows(torch.arange(self.m, device=self.device))
