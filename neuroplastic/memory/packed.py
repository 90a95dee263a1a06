"""Bit-packed binary Willshaw memory for very large n (1 bit per potential synapse).

Weights ``W_ij = [M11_ij > 0]`` are kept packed along the input index: byte ``bits[i >> 3, j]``
holds W_ij in bit ``i & 7``, so the row of input unit i is a contiguous run of n bytes and a
10^5 × 10^5 memory needs ⌈m/8⌉·n bytes = 1.25 GB. A store touches only the k·l synapses of
each pair; a query with z active units reads z rows (z·n bytes).

Storing uses the compiled loop of :mod:`~neuroplastic.memory.packed_native` when available and
otherwise a torch scatter in 8 passes, one per bit position b: ``flat[idx] |= 1 << b`` is correct
even with repeated ``idx`` because every writer of a pass sets the same bit. Both paths give the
same bits (tested).

The memory cannot forget (Willshaw weights are an OR over patterns), so capacity searches move
the load down with :meth:`PackedWillshaw.snapshot` / :meth:`PackedWillshaw.restore` or
:meth:`PackedWillshaw.clear` (see :mod:`~neuroplastic.experiments.capacity_measurement`).

Ledger: the weights are not a ``Synapses`` tensor here (no dense float matrix exists), so the
memory is a door of its own: :meth:`PackedWillshaw.store_indices` is its only counted writer and
records ``m0 = m1 = m2`` = the number of synapses switched 0 → 1 by the store (binary weights:
each write has |Δw| = 1), the same thing the dense path counts
(:class:`~neuroplastic.memory.synaptic.AssociativeMemory` with the Willshaw rule). It satisfies
:class:`~neuroplastic.synapses.CountedWriter` like ``Synapses``, so the no-bypass check
(:func:`neuroplastic.testing.check_no_bypass`) compares its ledger counts with the bits that
changed. :meth:`~PackedWillshaw.clear` and :meth:`~PackedWillshaw.restore` rewind an
experiment (capacity searches), they are not learning and are not counted.

:func:`retrieve_packed` is the Willshaw part of :func:`~neuroplastic.memory.retrieval.retrieve`
on this store: one-step or iterative, threshold or k-WTA, with/without self-connections,
clamping; it computes the same potentials (exact small integers in float32) and the same k-WTA,
so both give identical outputs on the same weights (tested).
"""

from __future__ import annotations

import ctypes

import torch
from torch import Tensor

from neuroplastic.energy.ledger import Ledger
from neuroplastic.errors import ParameterError, ShapeError
from neuroplastic.memory.packed_native import kernels
from neuroplastic.memory.patterns import active_indices
from neuroplastic.memory.retrieval import (
    RetrievalParams,
    RetrievalResult,
    feedback_loop,
    threshold_for,
)
from neuroplastic.synapses import AuditChange

__all__ = ["PackedWillshaw", "retrieve_packed"]

_POT_CHUNK = 1 << 25  # bytes of gathered rows per torch potentials chunk


def _ptr(t: Tensor) -> ctypes.c_void_p:
    return ctypes.c_void_p(t.data_ptr())


def _popcount_u8(t: Tensor) -> int:
    """Number of one bits in a uint8 tensor (SWAR bit counting, no int64 copy)."""
    x = t - ((t >> 1) & 0x55)
    x = (x & 0x33) + ((x >> 2) & 0x33)
    x = (x + (x >> 4)) & 0x0F
    return int(x.sum(dtype=torch.int64))


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
        native: bool = True,
    ) -> None:
        if m < 1 or n < 1:
            raise ParameterError(f"memory sizes must be >= 1 (got m={m}, n={n})")
        self.m, self.n = m, n
        self.device = torch.device(device)
        self.bits = torch.zeros(((m + 7) // 8, n), dtype=torch.uint8, device=self.device)
        self.ledger = ledger
        self.name = name
        self.stored = 0
        self._potentiated: int | None = 0
        self._native = kernels() if native and self.device.type == "cpu" else None

    # -------------------------------------------------------------- state
    @property
    def native(self) -> bool:
        """Whether the compiled kernels are in use."""
        return self._native is not None

    @property
    def potentiated(self) -> int:
        """Number of synapses with W_ij = 1 (counted at stores, or recounted)."""
        if self._potentiated is None:
            self._potentiated = self.popcount()
        return self._potentiated

    def popcount(self) -> int:
        """Count the one bits of the whole matrix (cost ⌈m/8⌉·n bytes read)."""
        rows = max(1, (1 << 26) // max(self.n, 1))
        return sum(
            _popcount_u8(self.bits[s : s + rows]) for s in range(0, self.bits.shape[0], rows)
        )

    def load(self) -> float:
        """Fraction p1 of potentiated synapses."""
        return self.potentiated / (self.m * self.n)

    def snapshot(self) -> tuple[Tensor, int, int | None]:
        """A copy of the state (bits, stored, ...) for :meth:`restore`."""
        return self.bits.clone(), self.stored, self._potentiated

    def restore(self, snap: tuple[Tensor, int, int | None]) -> None:
        """Go back to a :meth:`snapshot` (copies the bits in place)."""
        bits, stored, pot = snap
        if bits.shape != self.bits.shape:
            raise ShapeError(f"snapshot of shape {tuple(bits.shape)} != {tuple(self.bits.shape)}")
        self.bits.copy_(bits)
        self.stored, self._potentiated = stored, pot

    def clear(self) -> None:
        """Forget everything (all weights 0)."""
        self.bits.zero_()
        self.stored, self._potentiated = 0, 0

    # -------------------------------------------------------------- storage
    def _check_indices(self, iu: Tensor, iv: Tensor) -> None:
        if iu.dim() != 2 or iv.dim() != 2 or iu.shape[0] != iv.shape[0]:
            raise ShapeError(
                f"index patterns must be (B, k), (B, l) (got {tuple(iu.shape)}, {tuple(iv.shape)})"
            )
        if iu.numel() and (int(iu.min()) < 0 or int(iu.max()) >= self.m):
            raise ShapeError(f"input indices must be in [0, {self.m})")
        if iv.numel() and (int(iv.min()) < 0 or int(iv.max()) >= self.n):
            raise ShapeError(f"output indices must be in [0, {self.n})")

    @torch.no_grad()
    def store_indices(
        self,
        iu: Tensor,
        iv: Tensor,
        valid_u: Tensor | None = None,
        valid_v: Tensor | None = None,
        *,
        count: bool = True,
    ) -> int:
        """Store pairs given as active indices iu (B, k), iv (B, l); returns new 1-synapses.

        ``valid_u``/``valid_v`` mark real entries of padded rows (binomial activity). With
        ``count=False`` (torch path only) the number of new synapses is not computed (returns
        −1; :attr:`potentiated` is recounted when asked); the compiled path always counts.
        """
        self._check_indices(iu, iv)
        if valid_u is not None and valid_u.shape != iu.shape:
            raise ShapeError(f"valid_u {tuple(valid_u.shape)} != iu {tuple(iu.shape)}")
        if valid_v is not None and valid_v.shape != iv.shape:
            raise ShapeError(f"valid_v {tuple(valid_v.shape)} != iv {tuple(iv.shape)}")
        iu, iv = iu.to(self.device, torch.int64), iv.to(self.device, torch.int64)
        if valid_u is not None:
            iu = torch.where(valid_u.to(self.device), iu, torch.full_like(iu, -1))
        if valid_v is not None:
            iv = torch.where(valid_v.to(self.device), iv, torch.full_like(iv, -1))
        if self._native is not None:
            iu, iv = iu.contiguous(), iv.contiguous()
            new = int(
                self._native.np_store(
                    _ptr(self.bits), self.n, _ptr(iu), _ptr(iv), iu.shape[0], iu.shape[1],
                    iv.shape[1],
                )
            )  # fmt: skip
        else:
            new = self._store_torch(iu, iv, count or self.ledger is not None)
        self.stored += iu.shape[0]
        if new < 0:
            self._potentiated = None
        elif self._potentiated is not None:
            self._potentiated += new
        self._count_store(new)
        return new

    def _count_store(self, new: int) -> None:
        """Report a store that switched ``new`` synapses 0 → 1 (|Δw| = 1 each)."""
        if self.ledger is not None:
            self.ledger.record_update(self.name, float(new), float(new), float(new))

    # -------------------------------------------------------------- audit (CountedWriter)
    def audit_state(self) -> Tensor:
        """A copy of the packed bits (for the no-bypass check)."""
        return self.bits.clone()

    def audit_change(self, before: Tensor) -> AuditChange:
        """Synapses whose bit changed since ``before`` (|Δw| = 1 each, so M0 = M1)."""
        flipped = float(_popcount_u8(self.bits ^ before))
        return AuditChange(flipped, flipped, 0.0, flipped, flipped)

    def audit_decays(self) -> bool:
        """Binary Willshaw weights never decay."""
        return False

    def _store_torch(self, iu: Tensor, iv: Tensor, count: bool) -> int:
        flat = self.bits.view(-1)
        shift = iu & 7
        base = (iu >> 3) * self.n
        new = 0
        for b in range(8):
            pat, pos = ((shift == b) & (iu >= 0)).nonzero(as_tuple=True)
            if pat.numel() == 0:
                continue
            cols = iv[pat]
            idx = base[pat, pos][:, None] + cols
            idx = idx[cols >= 0]
            bit = 1 << b
            if count:
                fresh = idx[(flat[idx] & bit) == 0]
                new += int(fresh.unique().numel())
            flat[idx] = flat[idx] | bit
        return new if count else -1

    # -------------------------------------------------------------- retrieval
    def unpack_rows(self, rows: Tensor) -> Tensor:
        """0/1 float rows of W for input indices ``rows`` (any shape) → (*rows.shape, n)."""
        rows = rows.to(self.device)
        packed = self.bits[rows >> 3]
        return ((packed >> (rows & 7)[..., None].to(torch.uint8)) & 1).to(torch.float32)

    def diagonal(self) -> Tensor:
        """W_jj (n,) as 0/1 float (m == n)."""
        if self.m != self.n:
            raise ParameterError(f"the diagonal needs m == n (got m={self.m}, n={self.n})")
        j = torch.arange(self.n, device=self.device)
        return ((self.bits[j >> 3, j] >> (j & 7).to(torch.uint8)) & 1).to(torch.float32)

    @torch.no_grad()
    def potentials(self, iq: Tensor, valid: Tensor | None = None) -> Tensor:
        """x (B, n) float32 for queries given as active indices iq (B, z): x_j = Σ_i∈q W_ij."""
        if iq.dim() != 2:
            raise ShapeError(f"queries must be (B, z) indices (got {tuple(iq.shape)})")
        if iq.numel() and (int(iq.min()) < 0 or int(iq.max()) >= self.m):
            raise ShapeError(f"query indices must be in [0, {self.m})")
        iq = iq.to(self.device, torch.int64)
        if valid is not None:
            if valid.shape != iq.shape:
                raise ShapeError(f"valid {tuple(valid.shape)} != queries {tuple(iq.shape)}")
            iq = torch.where(valid.to(self.device), iq, torch.full_like(iq, -1))
        b, z = iq.shape
        x = torch.empty((b, self.n), dtype=torch.float32, device=self.device)
        if self._native is not None:
            iq = iq.contiguous()
            self._native.np_potentials(_ptr(self.bits), self.n, _ptr(iq), b, z, _ptr(x))
            return x
        step = max(1, _POT_CHUNK // max(1, z * self.n))
        for s in range(0, b, step):
            q = iq[s : s + step]
            ok = (q >= 0).to(torch.uint8)[..., None]
            rows = self.bits[q.clamp(min=0) >> 3]
            bit = ((rows >> (q.clamp(min=0) & 7)[..., None].to(torch.uint8)) & 1) * ok
            x[s : s + step] = bit.sum(1, dtype=torch.int32).to(torch.float32)
        return x

    def dense(self) -> Tensor:
        """The full 0/1 weight matrix (m, n) (for tests and small memories)."""
        return self.unpack_rows(torch.arange(self.m, device=self.device))


@torch.no_grad()
def retrieve_packed(
    mem: PackedWillshaw, queries: Tensor, params: RetrievalParams, *, auto: bool
) -> RetrievalResult:
    """Complete a batch of 0/1 queries (B, m) with the packed Willshaw weights.

    Same semantics as :func:`~neuroplastic.memory.retrieval.retrieve` for the Willshaw rule:
    x = ũ W (without W_jj when ``auto`` and no self-connections), k-WTA or threshold
    (default Θ = number of active state units), iterative feedback ũ(t+1) = v̂(t) until a fixed
    point of the whole batch or ``params.iterations`` steps; ``clamp`` keeps the query's units.
    ANE is not available here. ``params.winners`` must be given for k-WTA.
    """
    if queries.dim() != 2 or queries.shape[1] != mem.m:
        raise ShapeError(f"queries must have shape (B, {mem.m}) (got {tuple(queries.shape)})")
    if auto and mem.m != mem.n:
        raise ParameterError(f"auto-association needs m == n (got m={mem.m}, n={mem.n})")
    if params.ane:
        raise ParameterError("ane=True is not available for the packed Willshaw memory")
    if params.iterations > 1 and not auto:
        raise ParameterError("iterative retrieval (iterations > 1) needs auto-association")
    if params.clamp and not auto:
        raise ParameterError("clamping the query needs auto-association")
    if params.mode == "kwta" and params.winners is None:
        raise ParameterError("k-WTA on the packed memory needs params.winners")
    if params.winners is not None and params.winners > mem.n:
        raise ParameterError(f"winners must be <= n = {mem.n} (got {params.winners})")
    diag = mem.diagonal() if auto and not params.self_connections else None

    def potentials(state: Tensor) -> tuple[Tensor, None]:
        idx, valid = active_indices(state)
        x = mem.potentials(idx, valid)
        if diag is not None:
            x -= state * diag
        return x, None

    query = (queries.to(mem.device) > 0).to(torch.float32)
    return feedback_loop(
        query,
        params,
        params.winners,
        potentials,
        lambda state: threshold_for(params, "willshaw", state),
    )
