"""Synapses: weights, existence mask and optional Dale signs; the only writer of weights.

Every rule in the toolkit (local rules, backprop's optimizer, structural policies) *proposes*
changes; only :class:`Synapses` writes them, and reports what it wrote to the
:class:`~neuroplastic.energy.ledger.Ledger`:

- :meth:`Synapses.apply` writes ``w <- clip_sign(w + alpha * dw * mask)`` and counts the change
  actually written, ``Δw = w_new − w_old`` (so a proposal that rounds to nothing, is masked out,
  or is clipped by Dale's law is not charged);
- :meth:`Synapses.prune` removes existing synapses (weight set to 0, mask cleared);
- :meth:`Synapses.grow` creates synapses at non-existing sites with an initial value.

Storage is dense + mask: ``w`` is zero wherever ``mask`` is False, at all times.
``sign`` (Dale's law) holds +1 (excitatory: w >= 0), −1 (inhibitory: w <= 0) or 0 (free)
per synapse. Weights are dimensionless (the unit of the model's input scale).

Policies return, the door writes. Restriction and caching (:mod:`neuroplastic.restrict`) are
policies that only *compute*; this class does every write and every count:

- an optional ``restriction`` (:class:`RestrictionPolicy`) is consulted by :meth:`apply` before
  the write and returns the update to write (``dw <- restriction.dense(self, dw)``);
- an optional ``cache`` (:class:`CachePolicy`, synaptic caching ``w = s + l``) makes the
  transient weights ``s`` (the buffer ``cache_s``, declared here and None without a cache) a
  part of the group. After each write the door adds the change to ``s``, asks the policy which
  entries consolidate (:meth:`consolidate` moves them from s into l, a persistent write),
  charges the maintenance energy the policy computes from Σ|s| and applies the decay factor
  the policy returns (:meth:`decay_transient`; forgetting, not a write). With a cache the write
  itself is counted as transient; :meth:`end_of_training` consolidates what is left in s.

Both default to None, so rules compose with every policy without change. Everything that
counts (this class, the bit-packed memory's door) satisfies :class:`CountedWriter`, which the
no-bypass check of :mod:`neuroplastic.testing` uses to compare the ledger with the state.
:meth:`apply_outer` is the batch-1 fast path for rank-1 updates ``a bᵀ``: it never forms the
matrix when the restriction allows, and counts the proposed update from its factors.

Speed: the hot path of :meth:`apply` writes into a preallocated buffer, takes the difference,
one sign pass and three dot products (M0, M1, M2) and swaps buffers, so counting costs a few
passes over the weights and no allocation. On the CPU, for a group of at least
:data:`neuroplastic.fused.MIN_SIZE` entries without Dale signs, mask, cache or extra exponents,
one Numba kernel (:mod:`neuroplastic.fused`, the ``fast`` extra) writes and counts in a single
pass instead (bit-identical weights, M0 exact). On the CPU the three numbers are read at once (free
there) and a non-finite proposal raises before anything is written; on an accelerator nothing is
read per update: the statistics go to the ledger's device-side running totals, a non-finite
proposal writes nothing and sets a device-side flag that the next ledger read raises
(``host_checks`` overrides the choice). Extra ``M_alpha`` exponents cost one power pass each.
:class:`OuterBatch` is the batch-1 fast path for several small CPU groups at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor, nn

from neuroplastic import fused
from neuroplastic.energy.ledger import Ledger, alpha_key
from neuroplastic.errors import NonFiniteUpdateError, ParameterError, ShapeError

# float32 dot products count non-zeros exactly up to 2**24 elements.
_EXACT_FLOAT32_COUNT = 2**24


class UpdateStats:
    """What one :meth:`Synapses.apply` wrote: M0 (writes), M1 (Σ|Δw|), M2 (Σ Δw²).

    Built from floats, or from a device tensor ``[M0, M1, M2]`` that is read (one host sync)
    only when a field is first asked for, so the device path never waits for it.
    """

    __slots__ = ("_tensor", "_values")

    def __init__(
        self, m0: float = 0.0, m1: float = 0.0, m2: float = 0.0, *, tensor: Tensor | None = None
    ) -> None:
        self._tensor = tensor
        self._values: tuple[float, float, float] | None = (
            None if tensor is not None else (float(m0), float(m1), float(m2))
        )

    def _read(self) -> tuple[float, float, float]:
        if self._values is None:
            assert self._tensor is not None
            v = self._tensor.tolist()
            self._values = (float(v[0]), float(v[1]), float(v[2]))
        return self._values

    @property
    def m0(self) -> float:
        """Number of entries written (non-zero Δw)."""
        return self._read()[0]

    @property
    def m1(self) -> float:
        """Σ|Δw|."""
        return self._read()[1]

    @property
    def m2(self) -> float:
        """Σ Δw²."""
        return self._read()[2]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UpdateStats):
            return NotImplemented
        return self._read() == other._read()

    def __hash__(self) -> int:
        return hash(self._read())

    def __repr__(self) -> str:
        m0, m1, m2 = self._read()
        return f"UpdateStats(m0={m0!r}, m1={m1!r}, m2={m2!r})"


class OuterSelection(Protocol):
    """Which entries of a rank-1 update ``a bᵀ`` are written, held without the matrix
    (e.g. :class:`neuroplastic.restrict.topk.OuterTopK`, the top-k selection)."""

    def mask(self) -> Tensor:
        """Boolean (m, n) mask of the selected entries, on the factors' device."""
        ...

    def indices(self) -> tuple[Tensor, Tensor]:
        """(rows, cols) of the selected entries."""
        ...

    def scatter(self, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        """Flat indices of the selected entries (row-major) and the products ``a_i b_j`` there."""
        ...

    def stats(self, alpha: float) -> tuple[float, float, float]:
        """``(M0, M1, M2)`` of the selected entries of ``alpha · a bᵀ`` (from the factors)."""
        ...


OuterPlan = tuple[Any, ...]
"""A restriction's plan for a rank-1 update: ('rank1', a, b), ('select', a, b, selection) (an
:class:`OuterSelection` of ``a bᵀ``), ('sparse', rows, cols), ('skip',) or ('dense',) (form the
matrix and filter it with :meth:`RestrictionPolicy.dense`)."""


class RestrictionPolicy(Protocol):
    """Which entries of a proposed update are written (returns; never writes)."""

    def dense(self, syn: Synapses, dw: Tensor) -> Tensor:
        """The update to write: ``dw`` with the entries that are not written set to 0."""
        ...

    def outer(self, syn: Synapses, a: Tensor, b: Tensor) -> OuterPlan:
        """The plan for the rank-1 update ``a bᵀ`` (see :data:`OuterPlan`)."""
        ...


class CachePolicy(Protocol):
    """Synaptic caching as a policy: what consolidates, what s costs, how s decays.

    It computes only; :class:`Synapses` moves s into l, charges the energy and decays s.
    """

    @property
    def sparse_ok(self) -> bool:
        """Whether a sparse write can be cached by index (selection depends on single entries)."""
        ...

    def selection(self, s: Tensor) -> Tensor:
        """Boolean mask (like ``s``) of the transient entries that consolidate now."""
        ...

    def maintenance(self, abs_sum: float) -> float | None:
        """Energy of keeping transient weights with Σ|s| = ``abs_sum`` for one applied update
        (None: this cache has no maintenance cost, nothing is recorded)."""
        ...

    def decay_factor(self) -> float | None:
        """Factor s is multiplied by after each applied update (None: no decay)."""
        ...


@dataclass(frozen=True)
class AuditChange:
    """What changed in a counted writer's state between two :meth:`CountedWriter.audit_state`.

    ``m0``/``m1``: entries changed and Σ|Δ| of the persistent weights (l = w − s with a cache,
    else w); ``tol``: a bound on the float rounding in ``m1`` (0 where exact); ``w_m0``/``w_m1``:
    the same for w, the weights the forward pass uses; ``s_abs``: Σ|s| before (0 without cache).
    """

    m0: float
    m1: float
    tol: float = 0.0
    w_m0: float = 0.0
    w_m1: float = 0.0
    s_abs: float = 0.0


@runtime_checkable
class CountedWriter(Protocol):
    """A door: the one writer of some synaptic state, which reports every write to its ledger.

    :class:`Synapses` and the bit-packed memory's door satisfy it. The no-bypass check
    (:func:`neuroplastic.testing.check_no_bypass`) takes :meth:`audit_state` before a step and
    compares :meth:`audit_change` after it with what the ledger recorded under :attr:`name`.
    """

    name: str
    ledger: Ledger | None

    def audit_state(self) -> Any:
        """A copy of the counted state (cheap enough for tests, not for the hot path)."""
        ...

    def audit_change(self, before: Any) -> AuditChange:
        """What changed since ``before`` (an :meth:`audit_state`)."""
        ...

    def audit_decays(self) -> bool:
        """Whether the state also changes without a write (decay of transient weights)."""
        ...


def _as_sign_tensor(sign: Tensor | int, like: Tensor) -> Tensor:
    if isinstance(sign, int):
        if sign not in (-1, 0, 1):
            raise ParameterError(f"sign must be -1, 0 or +1 (got {sign})")
        return torch.full_like(like, sign, dtype=torch.int8)
    if sign.shape != like.shape:
        raise ShapeError(f"sign has shape {tuple(sign.shape)}, weights have {tuple(like.shape)}")
    values = torch.unique(sign)
    if not all(int(v) in (-1, 0, 1) for v in values):
        raise ParameterError(f"sign entries must be -1, 0 or +1 (got {values.tolist()})")
    return sign.to(device=like.device, dtype=torch.int8)


class Synapses(nn.Module):
    """A group of synapses (one weight matrix or one bias vector).

    Parameters
    ----------
    name:
        Unique name in its ledger, e.g. ``"fc1.weight"``.
    weight:
        Initial weights (any shape; floating point). Copied.
    mask:
        Boolean existence mask of the same shape; None means every synapse exists.
        Weights outside the mask are set to zero.
    sign:
        Dale's law: +1 / −1 / 0 per synapse (a tensor) or one int for all. Initial weights
        must already respect it.
    ledger:
        Where updates are counted; the group registers itself (w(0) is taken now).
    requires_grad:
        Whether autograd may compute gradients for ``w`` (backprop). Local rules leave it
        False so that no graph is built.
    """

    mask: Tensor
    sign: Tensor | None
    restriction: RestrictionPolicy | None
    cache: CachePolicy | None
    cache_s: Tensor | None  # transient weights s (w = s + l); None without a cache

    def __init__(
        self,
        name: str,
        weight: Tensor,
        *,
        mask: Tensor | None = None,
        sign: Tensor | int | None = None,
        ledger: Ledger | None = None,
        requires_grad: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(weight, Tensor) or not weight.is_floating_point():
            raise ShapeError(f"{name}: weights must be a floating-point tensor")
        w = weight.detach().clone()
        if not torch.isfinite(w).all():
            raise NonFiniteUpdateError(f"{name}: initial weights contain NaN or infinity")
        if mask is None:
            mask = torch.ones_like(w, dtype=torch.bool)
        elif mask.shape != w.shape:
            raise ShapeError(
                f"{name}: mask has shape {tuple(mask.shape)}, weights {tuple(w.shape)}"
            )
        mask = mask.to(device=w.device, dtype=torch.bool).clone()
        w = w * mask
        sign_t = None if sign is None else _as_sign_tensor(sign, w)
        if sign_t is not None:
            bad = ((sign_t > 0) & (w < 0)) | ((sign_t < 0) & (w > 0))
            if bad.any():
                raise ParameterError(
                    f"{name}: {int(bad.sum())} initial weights violate their Dale sign"
                )
        self.name = name
        self.w = nn.Parameter(w, requires_grad=requires_grad)
        self.register_buffer("mask", mask)
        self.register_buffer("sign", sign_t)
        self.register_buffer("cache_s", None)
        self.ledger = ledger
        self.restriction = None  # e.g. neuroplastic.restrict.GroupFilter, consulted by apply
        self.cache = None  # e.g. neuroplastic.restrict.SynapticCache (w = s + l)
        # read each update's statistics on the host? None = on the CPU only (_checks_on_host)
        self.host_checks: bool | None = None
        self._scratch: dict[str, Tensor] = {}
        self._derived: dict[str, Any] = {}
        self._s_abs_sum: float | None = None  # running Σ|s| (float64), None = recompute
        self._sparse_steps = 0  # sparse cached writes since Σ|s| was last recomputed
        self.register_load_state_dict_post_hook(lambda module, _keys: module._invalidate())
        if ledger is not None:
            ledger.register(self)

    # --------------------------------------------------------------- helpers
    def _invalidate(self) -> None:
        self._derived.clear()
        self._s_abs_sum = None

    def _buffer(self, key: str) -> Tensor:
        buf = self._scratch.get(key)
        w = self.w
        if buf is None or buf.shape != w.shape or buf.device != w.device or buf.dtype != w.dtype:
            buf = self._scratch[key] = torch.empty_like(w.detach())
        return buf

    def _dense(self) -> bool:
        if "dense" not in self._derived:
            self._derived["dense"] = bool(self.mask.all())
        return bool(self._derived["dense"])

    def _mask_float(self) -> Tensor:
        mf = self._derived.get("mask_float")
        if mf is None or mf.device != self.w.device or mf.dtype != self.w.dtype:
            mf = self._derived["mask_float"] = self.mask.to(self.w.dtype)
        return mf

    def _bounds(self) -> tuple[Tensor, Tensor] | None:
        if self.sign is None:
            return None
        bounds = self._derived.get("bounds")
        if bounds is None or bounds[0].device != self.w.device:
            inf = torch.full_like(self.w.detach(), math.inf)
            zero = torch.zeros_like(inf)
            lo = torch.where(self.sign > 0, zero, -inf)
            hi = torch.where(self.sign < 0, zero, inf)
            bounds = self._derived["bounds"] = (lo, hi)
        return bounds

    def _check_like_w(self, t: Tensor, what: str) -> None:
        if not isinstance(t, Tensor):
            raise ShapeError(f"{self.name}: {what} must be a tensor (got {type(t).__name__})")
        if t.shape != self.w.shape:
            raise ShapeError(
                f"{self.name}: {what} has shape {tuple(t.shape)}, "
                f"weights have {tuple(self.w.shape)}"
            )
        if t.device != self.w.device:
            raise ShapeError(f"{self.name}: {what} is on {t.device}, weights on {self.w.device}")

    # --------------------------------------------------------------- writers
    def apply(self, dw: Any, alpha: float = 1.0) -> Any:
        """Write ``w <- clip_sign(w + alpha * dw)`` on existing synapses and count it.

        Returns the :class:`UpdateStats` of what was written. Raises
        :class:`NonFiniteUpdateError` (and writes nothing) if the result would contain NaN or
        infinity, and :class:`ShapeError` if ``dw`` does not match ``w``.

        Called with a function instead of a tensor it behaves as ``nn.Module.apply(fn)``, so
        ``model.apply(init_fn)`` keeps working on models that contain synapses.
        """
        if callable(dw) and not isinstance(dw, Tensor):
            return super().apply(dw)
        return self._apply_update(dw, alpha)

    @torch.no_grad()
    def _apply_update(self, dw: Tensor, alpha: float) -> UpdateStats:
        self._check_like_w(dw, "dw")
        w = self.w.detach()
        if dw.dtype != w.dtype:
            dw = dw.to(w.dtype)
        if self.restriction is not None:
            dw = self.restriction.dense(self, dw)
        new = self._buffer("new")
        if self._fused_ok() and fused.fusable(w, dw):
            return self._apply_fused(w, dw, alpha, new)
        if self._dense():
            torch.add(w, dw, alpha=alpha, out=new)
        else:
            torch.addcmul(w, dw, self._mask_float(), value=alpha, out=new)
        bounds = self._bounds()
        if bounds is not None:
            torch.clamp(new, bounds[0], bounds[1], out=new)
        delta = torch.sub(new, w, out=self._buffer("delta"))
        counted = self._measure(delta)  # [M0, M1, M2] on w's device
        if self._checks_on_host():
            stats = UpdateStats(*counted.tolist())
            if not (math.isfinite(stats.m1) and math.isfinite(stats.m2)):
                raise NonFiniteUpdateError(
                    f"{self.name}: the proposed update contains NaN or infinity; "
                    "nothing was written"
                )
        else:  # no host sync: a non-finite proposal writes nothing and flags the ledger
            finite = torch.isfinite(counted.sum())
            torch.where(finite, new, w, out=new)
            counted = torch.where(finite, counted, counted.new_zeros(()))
            stats = UpdateStats(tensor=counted)
        extra = self._alpha_sums(delta)
        # swap buffers: the new weights become w, the old storage becomes scratch
        self._scratch["new"] = w.data
        self.w.data = new
        if self.ledger is not None:
            if self.cache is not None:
                self.ledger.record_transient(self.name, stats.m0, stats.m1, stats.m2)
            elif stats._values is None:
                self.ledger.record_update_tensor(self.name, counted, finite)
                if extra:
                    self.ledger.record_update(self.name, 0.0, 0.0, 0.0, extra, applies=0)
            else:
                self.ledger.record_update(self.name, stats.m0, stats.m1, stats.m2, extra)
        if self.cache is not None:
            self._cache_after_write(delta)
        return stats

    def _fused_ok(self) -> bool:
        """Whether this group's writes can take the one-pass kernel (:mod:`neuroplastic.fused`):
        dense, no Dale bounds, no cache, no extra ``M_alpha``, statistics read on the host."""
        return (
            self.sign is None
            and self.cache is None
            and self.host_checks is not False
            and (self.ledger is None or not self.ledger.alphas)
            and self._dense()
        )

    def _apply_fused(self, w: Tensor, dw: Tensor, alpha: float, new: Tensor) -> UpdateStats:
        """:meth:`_apply_update` in one pass: the kernel writes ``new = w + alpha · dw`` and
        returns M0, M1, M2 of ``new − w``; ``new`` is swapped in only if they are finite."""
        m0, m1, m2 = fused.add_and_count(w, dw, alpha, new)
        if not (math.isfinite(m1) and math.isfinite(m2)):
            raise NonFiniteUpdateError(
                f"{self.name}: the proposed update contains NaN or infinity; nothing was written"
            )
        self._scratch["new"] = w.data
        self.w.data = new
        if self.ledger is not None:
            self.ledger.record_update(self.name, m0, m1, m2)
        return UpdateStats(m0, m1, m2)

    def _checks_on_host(self) -> bool:
        """Whether each update's statistics are read on the host (checked before the write).

        ``host_checks`` None (the default) means: on the CPU, where reading them costs nothing;
        on an accelerator they stay on the device (totals and the non-finite flag in the
        ledger) unless a cache or extra ``M_alpha`` exponents need them on the host.
        """
        if self.host_checks is not None:
            return self.host_checks
        return (
            self.w.device.type == "cpu"
            or self.cache is not None
            or (self.ledger is not None and bool(self.ledger.alphas))
        )

    @torch.no_grad()
    def apply_outer(self, a: Tensor, b: Tensor, alpha: float = 1.0) -> UpdateStats:
        """Write the rank-1 update ``w <- w + alpha · a bᵀ`` (batch size 1) and count it.

        ``a`` (n_out,) and ``b`` (n_in,) for a 2-D group. With no mask, no Dale signs and no
        cache the update is written in place (``addr_``, or, when the restriction selects
        top-k from the factors, an indexed add of the selected ``alpha · a_i b_j``) and
        counted from the factors: ``M0 = nnz(a)·nnz(b)``, ``M1 = |alpha|·Σ|a|·Σ|b|``,
        ``M2 = alpha²·Σa²·Σb²`` (for a selection: the same sums over the selected entries; the
        proposed change, which differs from ``w_new − w_old`` only where float rounding
        swallows a change below half an ulp of w). With a synaptic cache in ``synapse`` mode
        a selection is written by index (an indexed add) and cached by index
        (:meth:`_cache_after_sparse_write`). Otherwise it forms
        ``outer(a, b)`` and goes through :meth:`apply`.
        """
        w = self.w.detach()
        if w.dim() != 2 or a.shape != (w.shape[0],) or b.shape != (w.shape[1],):
            raise ShapeError(
                f"{self.name}: apply_outer needs a ({w.shape[0]},) and b "
                f"({w.shape[1] if w.dim() == 2 else '?'},) for weights {tuple(w.shape)}"
            )
        if not self._dense() or self.sign is not None:
            return self._apply_update(torch.outer(a, b), alpha)
        plan: OuterPlan = (
            ("rank1", a, b) if self.restriction is None else self.restriction.outer(self, a, b)
        )
        if plan[0] == "select" and self.cache is not None:
            plan = ("sparse", *plan[3].indices())  # a cache takes a selection by index
        if plan[0] == "dense" or (
            self.cache is not None and (plan[0] != "sparse" or not self.cache.sparse_ok)
        ):  # a cache needs every write (also an empty one: maintenance, decay); by index if sparse
            return self._apply_update(torch.outer(a, b), alpha)
        if plan[0] == "skip":
            stats = UpdateStats(0.0, 0.0, 0.0)
        elif plan[0] == "select":
            # an indexed add of the selected entries, counted from the factors (the
            # selection's sums), like the rank-1 write
            a, b, selection = plan[1], plan[2], plan[3]
            stats = UpdateStats(*selection.stats(alpha))
            self._check_finite_stats(stats)
            flat, products = selection.scatter(a, b)
            w.view(-1).index_add_(0, flat, products, alpha=alpha)
        elif plan[0] == "rank1":
            a, b = plan[1], plan[2]
            sa, sb = a.abs(), b.abs()
            vals = torch.stack(
                [
                    torch.count_nonzero(a).to(w.dtype),
                    torch.count_nonzero(b).to(w.dtype),
                    sa.sum(),
                    sb.sum(),
                    torch.dot(a, a),
                    torch.dot(b, b),
                ]
            ).tolist()
            scale = abs(alpha)
            stats = UpdateStats(
                vals[0] * vals[1], scale * vals[2] * vals[3], scale * scale * vals[4] * vals[5]
            )
            self._check_finite_stats(stats)
            w.addr_(a, b, alpha=alpha)
        else:
            rows, cols = plan[1], plan[2]
            values = (a[rows] * b[cols]) * alpha
            stats = UpdateStats(
                *torch.stack(
                    [
                        torch.count_nonzero(values).to(w.dtype),
                        values.abs().sum(),
                        torch.dot(values, values),
                    ]
                ).tolist()
            )
            self._check_finite_stats(stats)
            flat = rows * w.shape[1] + cols
            w.view(-1).index_add_(0, flat, values)
            if self.cache is not None:  # sparse write into s (synapse mode): transient
                if self.ledger is not None:
                    self.ledger.record_transient(self.name, stats.m0, stats.m1, stats.m2)
                self._cache_after_sparse_write(flat, values)
                return stats
        if self.ledger is not None:
            extra: dict[str, float] = {}
            for p_alpha in self.ledger.alphas:
                if plan[0] == "rank1":
                    extra[alpha_key(p_alpha)] = (
                        abs(alpha) ** p_alpha
                        * float(plan[1].abs().pow(p_alpha).sum(dtype=torch.float64))
                        * float(plan[2].abs().pow(p_alpha).sum(dtype=torch.float64))
                    )
                elif plan[0] == "sparse":
                    extra[alpha_key(p_alpha)] = float(
                        values.abs().pow(p_alpha).sum(dtype=torch.float64)
                    )
                elif plan[0] == "select":
                    rows, cols = plan[3].indices()
                    extra[alpha_key(p_alpha)] = abs(alpha) ** p_alpha * float(
                        (plan[1][rows] * plan[2][cols]).abs().pow(p_alpha).sum(dtype=torch.float64)
                    )
            self.ledger.record_update(self.name, stats.m0, stats.m1, stats.m2, extra)
        return stats

    # ------------------------------------------------ transient weights (caching)
    def set_cache(self, policy: CachePolicy | None) -> None:
        """Give the group transient weights ``s`` managed by ``policy`` (None removes them).

        s starts at 0 (an existing s is kept when a policy replaces another). Removing the
        cache needs s = 0 (call :meth:`end_of_training` first), so no weight is left uncounted.
        """
        if policy is None:
            if self.cache_s is not None and bool((self.cache_s != 0).any()):
                raise ParameterError(
                    f"{self.name}: the transient weights are not empty; consolidate them "
                    "(end_of_training) before removing the cache"
                )
            self.cache, self.cache_s = None, None
            return
        self.cache = policy
        if self.cache_s is None:
            self.cache_s = torch.zeros_like(self.w.detach())
        self._s_abs_sum = None
        self._sparse_steps = 0

    @torch.no_grad()
    def consolidate(self, which: Tensor | None = None) -> None:
        """Move the transient entries ``which`` (bool like w; None = all) from s into l.

        ``w`` is unchanged; the moved values are a persistent write (M0/M1/M2 and
        ``consolidation_m0``/``consolidation_m1``).
        """
        s = self.cache_s
        if s is None:
            return
        moved = s.clone() if which is None else s * which
        s.sub_(moved)
        self._count_consolidation(moved)
        self._s_abs_sum = 0.0 if which is None else None

    @torch.no_grad()
    def decay_transient(self, keep: float) -> None:
        """Forget part of the transient weights: ``s <- keep·s`` and ``w <- w − (1 − keep)·s``."""
        s = self.cache_s
        if s is None:
            return
        self.w.data.sub_(s, alpha=1.0 - keep)
        s.mul_(keep)
        if self._s_abs_sum is not None:
            self._s_abs_sum *= keep

    def end_of_training(self) -> None:
        """Lifecycle call at the end of training: consolidate all of s (the write is paid)."""
        if self.cache is None or self.cache_s is None:
            return
        if bool((self.cache_s != 0).any()):
            self.consolidate()
        self._s_abs_sum = 0.0

    def _count_consolidation(self, moved: Tensor) -> None:
        if self.ledger is not None:
            m0 = float(torch.count_nonzero(moved))
            m1 = float(moved.abs().sum(dtype=torch.float64))
            m2 = float(moved.double().pow(2).sum())
            self.ledger.record_consolidation(self.name, m0, m1, m2)

    def _cache_after_write(self, delta: Tensor) -> None:
        """Caching after the write ``delta`` into w: s += Δ, consolidate, maintain, decay."""
        s, cache = self.cache_s, self.cache
        assert s is not None and cache is not None
        s.add_(delta)
        sel = cache.selection(s)
        if bool(sel.any()):
            moved = s * sel
            s.sub_(moved)
            self._count_consolidation(moved)
        self._s_abs_sum = float(s.abs().sum(dtype=torch.float64))
        self._maintain_and_decay()

    def _cache_after_sparse_write(self, flat: Tensor, values: Tensor) -> None:
        """As :meth:`_cache_after_write` for a write at the distinct flat indices ``flat``.

        Same result as the dense path (tested), at the cost of the touched entries: only they
        can consolidate (per-synapse selection; decay only shrinks |s|), and Σ|s| is kept as a
        running float64 total, recomputed exactly every 1,000 sparse writes.
        """
        cache = self.cache
        assert self.cache_s is not None and cache is not None
        if not cache.sparse_ok:
            raise ParameterError(f"{self.name}: this cache cannot take a sparse write")
        s = self.cache_s.view(-1)
        if self._s_abs_sum is None or self._sparse_steps >= 1000:
            self._s_abs_sum = float(s.abs().sum(dtype=torch.float64))
            self._sparse_steps = 0
        self._sparse_steps += 1
        before = float(s[flat].abs().sum(dtype=torch.float64))
        s.index_add_(0, flat, values)
        touched = s[flat]
        hit = cache.selection(touched)
        if bool(hit.any()):
            s[flat[hit]] = 0.0
            self._count_consolidation(touched[hit])
        after = float(s[flat].abs().sum(dtype=torch.float64))
        self._s_abs_sum += after - before
        self._maintain_and_decay()

    def _maintain_and_decay(self) -> None:
        cache = self.cache
        assert cache is not None and self._s_abs_sum is not None
        if self.ledger is not None:
            energy = cache.maintenance(self._s_abs_sum)
            if energy is not None:
                self.ledger.record_maintenance(self.name, energy)
        keep = cache.decay_factor()
        if keep is not None:
            self.decay_transient(keep)

    # -------------------------------------------------------------- audit
    def audit_state(self) -> tuple[Tensor, Tensor | None]:
        """Copies of ``w`` and ``s`` (for the no-bypass check)."""
        s = None if self.cache_s is None else self.cache_s.detach().clone()
        return self.w.detach().clone(), s

    def audit_change(self, before: tuple[Tensor, Tensor | None]) -> AuditChange:
        """Entries and Σ|Δ| changed since ``before``: of l = w − s and of w (the same without
        a cache). ``l`` is formed in float64 from the stored w and s, so it carries their
        rounding: ``tol = 2 ε Σ(|w₀| + |w₁| + |s₀| + |s₁|)`` bounds it."""
        w0, s0 = before
        w1, s1 = self.audit_state()
        dw = w1 - w0
        w_m0 = float(torch.count_nonzero(dw))
        w_m1 = float(dw.abs().sum(dtype=torch.float64))
        if s0 is None and s1 is None:
            return AuditChange(w_m0, w_m1, 0.0, w_m0, w_m1)
        z = torch.zeros_like(w1)
        s0 = z if s0 is None else s0
        s1 = z if s1 is None else s1
        dl = (w1.double() - s1.double()) - (w0.double() - s0.double())
        eps = torch.finfo(w1.dtype).eps
        scale = sum(float(t.abs().sum(dtype=torch.float64)) for t in (w0, w1, s0, s1))
        return AuditChange(
            float(torch.count_nonzero(dl)),
            float(dl.abs().sum()),
            2 * eps * scale,
            w_m0,
            w_m1,
            float(s0.abs().sum(dtype=torch.float64)),
        )

    def audit_decays(self) -> bool:
        """Whether s decays (w changes without a write)."""
        return self.cache is not None and self.cache.decay_factor() is not None

    def _check_finite_stats(self, stats: UpdateStats) -> None:
        if not (math.isfinite(stats.m1) and math.isfinite(stats.m2)):
            raise NonFiniteUpdateError(
                f"{self.name}: the proposed update contains NaN or infinity; nothing was written"
            )

    def _measure(self, delta: Tensor) -> Tensor:
        """``[M0, M1, M2]`` of ``delta`` in its dtype on its device (no host sync).

        One sign pass and three dot products: M0 = sgn·sgn, M1 = Δ·sgn, M2 = Δ·Δ.
        """
        flat = delta.reshape(-1)
        sgn = torch.sign(flat, out=self._buffer("sign").reshape(-1))
        if flat.numel() < _EXACT_FLOAT32_COUNT:
            m0_t = torch.dot(sgn, sgn)
        else:
            m0_t = torch.count_nonzero(flat).to(flat.dtype)
        return torch.stack([m0_t, torch.dot(flat, sgn), torch.dot(flat, flat)])

    def _alpha_sums(self, delta: Tensor) -> dict[str, float]:
        if self.ledger is None or not self.ledger.alphas:
            return {}
        magnitude = delta.abs()
        return {
            alpha_key(a): float(magnitude.pow(a).sum(dtype=torch.float64))
            for a in self.ledger.alphas
        }

    @torch.no_grad()
    def prune(self, which: Tensor) -> int:
        """Remove the existing synapses where ``which`` is True; returns how many were removed."""
        self._check_like_w(which, "prune mask")
        removed = which.to(torch.bool) & self.mask
        n = int(removed.sum())
        if n == 0:
            return 0
        removed_abs = float(self.w.detach()[removed].abs().sum(dtype=torch.float64))
        self.w.data[removed] = 0.0
        self.mask[removed] = False
        if self.cache_s is not None:
            self.cache_s[removed] = 0.0
        self._invalidate()
        if self.ledger is not None:
            self.ledger.record_pruned(self.name, n, removed_abs)
        return n

    @torch.no_grad()
    def grow(self, which: Tensor, init: Tensor | float = 0.0) -> int:
        """Create synapses where ``which`` is True and none exists yet, with value ``init``.

        ``init`` is a scalar or a tensor shaped like ``w`` (values are taken at the new sites).
        A creation counts as one write of its initial value (M0 += 1, M1 += |init|).
        Returns the number of synapses created.
        """
        self._check_like_w(which, "grow mask")
        new_sites = which.to(torch.bool) & ~self.mask
        n = int(new_sites.sum())
        if n == 0:
            return 0
        if isinstance(init, Tensor):
            self._check_like_w(init, "grow init")
            values = init.detach().to(self.w.dtype)[new_sites]
        else:
            values = torch.full((n,), float(init), dtype=self.w.dtype, device=self.w.device)
        if not torch.isfinite(values).all():
            raise NonFiniteUpdateError(f"{self.name}: grow init contains NaN or infinity")
        if self.sign is not None:
            s = self.sign[new_sites]
            if ((s > 0) & (values < 0)).any() or ((s < 0) & (values > 0)).any():
                raise ParameterError(f"{self.name}: grow init violates the Dale sign of a synapse")
        self.w.data[new_sites] = values
        self.mask[new_sites] = True
        self._invalidate()
        if self.ledger is not None:
            m1 = float(values.abs().sum(dtype=torch.float64))
            m2 = float(values.double().pow(2).sum())
            self.ledger.record_created(self.name, n, m1, m2)
            self.ledger.forget_initial(self.name, new_sites)
        return n

    # --------------------------------------------------------------- queries
    @property
    def n_total(self) -> int:
        """Number of potential synapse sites (the dense size)."""
        return self.w.numel()

    @property
    def n_existing(self) -> int:
        """Number of synapses that exist (mask True)."""
        return int(self.mask.sum())

    def n_nonsilent(self, eps: float = 0.0) -> int:
        """Number of existing synapses with ``|w| > eps``."""
        return int(((self.w.detach().abs() > eps) & self.mask).sum())

    def extra_repr(self) -> str:
        dale = "" if self.sign is None else ", dale"
        return f"name={self.name!r}, shape={tuple(self.w.shape)}, existing={self.n_existing}{dale}"


class OuterBatch:
    """Batch-1 fast path: write several rank-1 and vector updates in a few fused torch calls.

    ``writes`` lists ``(group, i, j)``: group gets ``alpha · f_i f_jᵀ`` (a 2-D group, rank 1)
    or, with ``j`` None, ``alpha · f_i`` (a vector group, e.g. a bias), where ``f`` are the
    factor vectors passed to :meth:`apply` (of lengths ``sizes``). One step costs one ``cat``,
    an ``add``/``sub`` per vector group, three element-wise passes and one small ``mm`` that
    sums, per segment, the non-zeros, ``Σ|v|`` and ``Σv²`` of every factor and of every vector
    group's written change, and one host read; then ``addr_`` per matrix and a copy per vector.

    Counts equal the generic path's (:meth:`Synapses.apply_outer` for the matrices,
    :meth:`Synapses.apply` for the vectors) exactly in M0 and the weights bit for bit; M1/M2 are
    the same sums in another float32 summation order (relative difference < 1e-5; tested step
    by step). Usable when :meth:`usable` says so (CPU, dense, no Dale signs, no restriction,
    no cache, no extra M_alpha exponents); otherwise call the generic methods.

    With Numba (:func:`neuroplastic.fused.outer_batch_kernel`) the ``cat`` is followed by one
    kernel call that sums every factor segment, writes each vector group (``b + alpha·f``,
    bit-identical to ``torch.add``) and counts its written change, all or nothing (nothing is
    written when a sum is not finite); then ``addr_`` per matrix: 4 calls instead of 14.
    """

    def __init__(self, writes: list[tuple[Synapses, int, int | None]], sizes: list[int]) -> None:
        if not self.usable([g for g, _, _ in writes]):
            raise ParameterError("OuterBatch needs dense CPU groups without policies")
        self.writes = writes
        self.sizes = list(sizes)
        vec_sizes = [g.w.shape[0] for g, _, j in writes if j is None]
        n_seg = len(sizes) + len(vec_sizes)
        total = sum(sizes) + sum(vec_sizes)
        dtype = writes[0][0].w.dtype
        self._n_factors = sum(sizes)
        self._values = torch.zeros(total, dtype=dtype)
        self._passes = torch.zeros(3, total, dtype=dtype)  # [sign, |v|, v²]
        self._segments = torch.zeros(total, n_seg, dtype=dtype)  # indicator of each segment
        start = 0
        for k, n in enumerate(self.sizes + vec_sizes):
            self._segments[start : start + n, k] = 1.0
            start += n
        self._factor_view = self._values[: self._n_factors]
        self._rows = tuple(self._passes.unbind(0))
        self._delta_views: list[Tensor] = []
        self._new: list[Tensor] = []
        start = self._n_factors
        for n in vec_sizes:
            self._delta_views.append(self._values[start : start + n])
            self._new.append(torch.empty(n, dtype=dtype))
            start += n
        # the Parameter objects themselves (they follow a storage swap by Synapses.apply)
        self._params = [g.w for g, _, _ in writes]
        # the Numba kernel (neuroplastic.fused) for the counting and the vector writes
        float_ok = dtype in (torch.float32, torch.float64)
        self._kernel = fused.outer_batch_kernel() if float_ok else None
        if self._kernel is not None:
            self._np_scalar = self._values.numpy().dtype.type
            self._factors_np = self._factor_view.numpy()
            self._bounds_np = np.cumsum([0, *self.sizes]).astype(np.int64)
            self._vec_k = [k for k, (_, _, j) in enumerate(writes) if j is None]
            self._vec_factor_np = np.array([writes[k][1] for k in self._vec_k], dtype=np.int64)
            self._new_np = np.zeros(sum(vec_sizes), dtype=self._np_scalar)
            self._stats_np = np.zeros((len(self.sizes) + len(vec_sizes), 3))

    @staticmethod
    def usable(groups: list[Synapses]) -> bool:
        """Whether every group can take the fused path (else use the generic methods)."""
        ledgers = {id(g.ledger) for g in groups}
        return (
            all(
                g.w.device.type == "cpu"
                and g.sign is None
                and g.restriction is None
                and g.cache is None
                and g.host_checks is not False
                and (g.ledger is None or not g.ledger.alphas)
                and g._dense()
                for g in groups
            )
            and len(ledgers) == 1
        )

    def apply(self, factors: list[Tensor], alpha: float) -> None:
        """Write every update of ``writes`` with the factor vectors ``factors`` and count it."""
        if torch.is_grad_enabled():
            with torch.no_grad():
                return self.apply(factors, alpha)
        params = self._params
        torch.cat(factors, out=self._factor_view)
        if self._kernel is not None:
            return self._apply_kernel(factors, alpha)
        vec = 0
        for k, (_, i, j) in enumerate(self.writes):
            if j is None:
                torch.add(params[k], factors[i], alpha=alpha, out=self._new[vec])
                torch.sub(self._new[vec], params[k], out=self._delta_views[vec])
                vec += 1
        sgn, mag, sq = self._rows
        torch.abs(self._values, out=mag)
        torch.sign(mag, out=sgn)
        torch.mul(mag, mag, out=sq)
        nnz, l1, l2 = torch.mm(self._passes, self._segments).tolist()
        if not (math.isfinite(sum(l1)) and math.isfinite(sum(l2))):
            raise NonFiniteUpdateError(
                f"{self._first_non_finite(l1, l2)}: the proposed update contains NaN or "
                "infinity; nothing was written (in any group of this step)"
            )
        scale = abs(alpha)
        vec = 0
        n_f = len(self.sizes)
        for k, (g, i, j) in enumerate(self.writes):
            w = params[k]
            if j is None:
                seg = n_f + vec
                m0, m1, m2 = nnz[seg], l1[seg], l2[seg]
                w.copy_(self._new[vec])
                vec += 1
            else:
                m0 = nnz[i] * nnz[j]
                m1 = scale * l1[i] * l1[j]
                m2 = scale * scale * l2[i] * l2[j]
                w.addr_(factors[i], factors[j], alpha=alpha)
            if g.ledger is not None:
                g.ledger.record_update(g.name, m0, m1, m2)
        return None

    def _apply_kernel(self, factors: list[Tensor], alpha: float) -> None:
        """:meth:`apply` with the Numba kernel: one call counts every factor and writes and
        counts the vector groups (only if every sum is finite), then ``addr_`` per matrix."""
        params = self._params
        vectors = tuple(params[k].detach().numpy() for k in self._vec_k)
        stats = self._stats_np
        finite = self._kernel(  # type: ignore[misc]
            self._factors_np,
            self._bounds_np,
            vectors,
            self._vec_factor_np,
            self._np_scalar(alpha),
            self._new_np,
            stats,
        )
        nnz, l1, l2 = (list(col) for col in zip(*stats.tolist(), strict=True))
        if not finite:
            raise NonFiniteUpdateError(
                f"{self._first_non_finite(l1, l2)}: the proposed update contains NaN or "
                "infinity; nothing was written (in any group of this step)"
            )
        scale = abs(alpha)
        vec = 0
        n_f = len(self.sizes)
        for k, (g, i, j) in enumerate(self.writes):
            if j is None:
                seg = n_f + vec
                m0, m1, m2 = nnz[seg], l1[seg], l2[seg]
                vec += 1
            else:
                m0 = nnz[i] * nnz[j]
                m1 = scale * l1[i] * l1[j]
                m2 = scale * scale * l2[i] * l2[j]
                params[k].detach().addr_(factors[i], factors[j], alpha=alpha)
            if g.ledger is not None:
                g.ledger.record_update(g.name, m0, m1, m2)

    def _first_non_finite(self, l1: list[float], l2: list[float]) -> str:
        """Name of the first group whose counted segments are not finite."""
        vec = len(self.sizes)
        for g, i, j in self.writes:
            segments = [vec] if j is None else [i, j]
            vec += j is None
            if not all(math.isfinite(l1[k] + l2[k]) for k in segments):
                return g.name
        return self.writes[0][0].name
