"""The ledger: the record of every synaptic change, per synapse group and per phase.

Energy model (Li & van Rossum 2020; van Rossum & Pache 2024). For every synapse i
(biases included) and every applied update t, with Δw the change actually written:

    M_alpha = Σ_i Σ_t |Δw_i(t)|^alpha        (dimensionless, weight units^alpha)
    M0      = number of non-zero writes      (alpha -> 0)
    M1      = Σ |Δw|                         (the metabolic cost of both papers)
    M2      = Σ Δw²
    M1_min  = Σ_{i exists at T} |w_i(T) − w_i(0)|   (the least M1 that reaches w(T) from w(0))
    M0_min  = nnz(w(T) − w(0)) over synapses that exist at T

(Eliminating a synapse is not a write, so synapses pruned by time T do not enter the minimum;
a synapse grown after t = 0 has w_i(0) = 0.)

Structural events are counted apart: ``created`` (synapses grown; a growth also counts as
one write of its initial value in M0/M1/M2) and ``pruned`` (synapses removed; the removed
weight magnitude is kept as ``pruned_abs`` but is not a write: a pruned synapse has already
paid for its updates).

Synaptic caching (``w = s + l``, see :mod:`neuroplastic.restrict.caching`) is counted apart:
a write into the transient s is ``transient_m0``/``transient_m1`` (not a persistent write);
moving s into l is a persistent write (it enters M0/M1/M2 and also ``consolidation_m0``/
``consolidation_m1``); keeping s costs ``maintenance = Σ_t c·Σ|s(t)|``. The summary's
``energy_total = m1 + maintenance``. Without a cache these fields are 0 and ``energy_total = m1``.

Only :class:`neuroplastic.synapses.Synapses` reports to the ledger, so the counts are right
by construction; the test-suite checks them against weight differences.

Device-side totals. :meth:`Ledger.record_update_tensor` takes one update's ``(M0, M1, M2)`` as a
tensor on the weights' device and adds it to a float64 running total on that device (one small
kernel, no host sync); the totals are read into :class:`Counts` lazily, by every query and by
:meth:`Ledger.state_dict`. The running total starts from the slot's current value and adds each
update's float32 statistics in float64 in order, so the result is bit-identical to adding the
same values as Python floats (tested). A non-finite update reported with ``finite`` False sets a
device-side flag: the next read raises :class:`~neuroplastic.errors.NonFiniteUpdateError` naming
the group (see :meth:`Ledger.check_finite`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

import torch

from neuroplastic.errors import NonFiniteUpdateError, ParameterError

if TYPE_CHECKING:
    from neuroplastic.synapses import Synapses


@dataclass
class Counts:
    """Accumulated learning cost of one synapse group in one phase (or a sum of them)."""

    m0: float = 0.0
    m1: float = 0.0
    m2: float = 0.0
    created: int = 0
    pruned: int = 0
    pruned_abs: float = 0.0
    applies: int = 0
    m_alpha: dict[str, float] = field(default_factory=dict)
    # synaptic caching (neuroplastic.restrict.caching); all zero without a cache
    transient_m0: float = 0.0
    transient_m1: float = 0.0
    maintenance: float = 0.0
    consolidation_m0: float = 0.0
    consolidation_m1: float = 0.0

    def add(self, other: Counts) -> Counts:
        """Return the element-wise sum of two counts (``m_alpha`` merged by key)."""
        merged = dict(self.m_alpha)
        for key, value in other.m_alpha.items():
            merged[key] = merged.get(key, 0.0) + value
        values = {
            f.name: getattr(self, f.name) + getattr(other, f.name)
            for f in fields(self)
            if f.name != "m_alpha"
        }
        return Counts(**values, m_alpha=merged)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Counts:
        """Inverse of :meth:`to_dict`."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def alpha_key(alpha: float) -> str:
    """Key under which M_alpha is stored, e.g. ``'0.5'``."""
    return f"{alpha:g}"


class Ledger:
    """Counts every weight change, per synapse group (e.g. ``fc1.weight``) and per phase.

    Parameters
    ----------
    alphas:
        Extra exponents for ``M_alpha`` beyond 0, 1 and 2 (which are always counted).
        Each extra exponent costs one power pass over the weights per update.
    """

    def __init__(self, alphas: Sequence[float] = ()) -> None:
        for a in alphas:
            if not (isinstance(a, int | float) and math.isfinite(a) and a > 0):
                raise ParameterError(f"Ledger alphas must be finite and > 0 (got {a!r})")
        self.alphas: tuple[float, ...] = tuple(float(a) for a in alphas)
        self._phase = "train"
        self._counts: dict[tuple[str, str], Counts] = {}
        self._groups: dict[str, Synapses] = {}
        self._initial: dict[str, torch.Tensor] = {}
        # device-side running totals [M0, M1, M2] (float64) and applies per (group, phase),
        # folded into self._counts by _flush(); non-finite flags per group
        self._pending: dict[tuple[str, str], torch.Tensor] = {}
        self._pending_applies: dict[tuple[str, str], int] = {}
        self._bad: dict[str, torch.Tensor] = {}

    # ------------------------------------------------------------------ phases
    @property
    def current_phase(self) -> str:
        """Name of the phase that new records are charged to."""
        return self._phase

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[Ledger]:
        """Charge every record inside the ``with`` block to phase ``name``."""
        if not name:
            raise ParameterError("phase name must be a non-empty string")
        previous, self._phase = self._phase, name
        try:
            yield self
        finally:
            self._phase = previous

    def set_phase(self, name: str) -> None:
        """Charge records from now on to phase ``name``."""
        if not name:
            raise ParameterError("phase name must be a non-empty string")
        self._phase = name

    # ---------------------------------------------------------------- registry
    def register(self, synapses: Synapses) -> None:
        """Track a synapse group; its current weights become w(0) for M1_min."""
        name = synapses.name
        if name in self._groups and self._groups[name] is not synapses:
            raise ParameterError(f"a synapse group named {name!r} is already in this ledger")
        self._groups[name] = synapses
        self._initial[name] = synapses.w.detach().clone()

    @property
    def groups(self) -> dict[str, Synapses]:
        """Registered synapse groups by name."""
        return dict(self._groups)

    def _slot(self, group: str) -> Counts:
        key = (group, self._phase)
        if key in self._pending:  # a float record after device-side ones: keep the order
            self._flush()
        slot = self._counts.get(key)
        if slot is None:
            slot = self._counts[key] = Counts()
        return slot

    # ----------------------------------------------------------------- records
    def record_update(
        self,
        group: str,
        m0: float,
        m1: float,
        m2: float,
        m_alpha: dict[str, float] | None = None,
        applies: int = 1,
    ) -> None:
        """Add one applied update's statistics (called by ``Synapses.apply``)."""
        slot = self._slot(group)
        slot.m0 += m0
        slot.m1 += m1
        slot.m2 += m2
        slot.applies += applies
        for key, value in (m_alpha or {}).items():
            slot.m_alpha[key] = slot.m_alpha.get(key, 0.0) + value

    def record_update_tensor(
        self, group: str, stats: torch.Tensor, finite: torch.Tensor | None = None
    ) -> None:
        """Add one applied update given as a tensor ``[M0, M1, M2]`` (any float dtype and device).

        No host sync: the values are added to a float64 total on ``stats``' device and read
        lazily. ``finite`` (a bool scalar tensor, optional) False marks a non-finite proposal:
        the next read raises :class:`NonFiniteUpdateError` for ``group``.
        """
        key = (group, self._phase)
        total = self._pending.get(key)
        if total is None or total.device != stats.device:
            if total is not None:
                self._flush()
            slot = self._slot(group)
            total = torch.tensor(
                [slot.m0, slot.m1, slot.m2], dtype=torch.float64, device=stats.device
            )
            self._pending[key] = total
            self._pending_applies[key] = 0
        total.add_(stats)
        self._pending_applies[key] += 1
        if finite is not None:
            bad = self._bad.get(group)
            if bad is None:
                self._bad[group] = ~finite
            else:
                bad.logical_or_(~finite)

    def check_finite(self) -> None:
        """Raise :class:`NonFiniteUpdateError` if a group was sent a non-finite update.

        Reads the device-side flags (one host sync); every query calls it. The flag is cleared
        when it is raised (the update was not written, so the counts stay valid).
        """
        for group, bad in list(self._bad.items()):
            if bool(bad):
                del self._bad[group]
                raise NonFiniteUpdateError(
                    f"{group}: a proposed update contained NaN or infinity; it was not written"
                )

    def _flush(self) -> None:
        """Fold the device-side running totals into the counts (one host sync per slot)."""
        if not self._pending:
            self.check_finite()
            return
        pending, applies = self._pending, self._pending_applies
        self._pending, self._pending_applies = {}, {}
        for key, total in pending.items():
            slot = self._counts.setdefault(key, Counts())
            slot.m0, slot.m1, slot.m2 = (float(v) for v in total.tolist())
            slot.applies += applies[key]
        self.check_finite()

    def record_transient(self, group: str, m0: float, m1: float, m2: float) -> None:
        """A write into a cached group's transient weights s (counted apart from M0/M1)."""
        slot = self._slot(group)
        slot.transient_m0 += m0
        slot.transient_m1 += m1
        slot.applies += 1

    def record_consolidation(self, group: str, m0: float, m1: float, m2: float) -> None:
        """Transient weights moved into the persistent ones: a persistent write."""
        slot = self._slot(group)
        slot.m0 += m0
        slot.m1 += m1
        slot.m2 += m2
        slot.consolidation_m0 += m0
        slot.consolidation_m1 += m1

    def record_maintenance(self, group: str, energy: float) -> None:
        """Maintenance energy of the transient weights (c · Σ|s| per sample, summed)."""
        self._slot(group).maintenance += energy

    def record_created(self, group: str, n: int, m1: float, m2: float) -> None:
        """Count ``n`` grown synapses; their initial values are writes (M0 += n)."""
        slot = self._slot(group)
        slot.created += n
        slot.m0 += n
        slot.m1 += m1
        slot.m2 += m2

    def forget_initial(self, group: str, sites: torch.Tensor) -> None:
        """Set w(0) = 0 at ``sites`` (boolean, like the weights): synapses created after t = 0."""
        if group in self._initial:
            self._initial[group][sites.to(self._initial[group].device)] = 0.0

    def record_pruned(self, group: str, n: int, removed_abs: float) -> None:
        """Count ``n`` removed synapses whose weights summed to ``removed_abs`` in magnitude."""
        slot = self._slot(group)
        slot.pruned += n
        slot.pruned_abs += removed_abs

    # ----------------------------------------------------------------- queries
    def counts(self, group: str | None = None, phase: str | None = None) -> Counts:
        """Counts summed over the groups and phases that match (None = all)."""
        self._flush()
        total = Counts()
        for (g, p), c in self._counts.items():
            if (group is None or g == group) and (phase is None or p == phase):
                total = total.add(c)
        return total

    def phases(self) -> list[str]:
        """Phases with at least one record, in first-seen order."""
        self._flush()
        seen: dict[str, None] = {}
        for _, p in self._counts:
            seen.setdefault(p, None)
        return list(seen)

    def minimal(self, group: str | None = None) -> tuple[int, float]:
        """``(M0_min, M1_min)`` over the matching groups, counting synapses that exist now."""
        m0_min, m1_min = 0, 0.0
        for name, syn in self._groups.items():
            if group is not None and name != group:
                continue
            initial = self._initial[name].to(syn.w.device)
            diff = torch.where(syn.mask, syn.w.detach() - initial, torch.zeros_like(initial))
            m0_min += int(torch.count_nonzero(diff))
            m1_min += float(diff.abs().sum(dtype=torch.float64))
        return m0_min, m1_min

    def summary(self) -> dict[str, Any]:
        """Totals, per-group and per-phase counts, minimal energies and inefficiencies."""
        total = self.counts()
        m0_min, m1_min = self.minimal()
        per_group: dict[str, Any] = {}
        for name in self._groups:
            c = self.counts(group=name)
            g0, g1 = self.minimal(name)
            per_group[name] = {**c.to_dict(), "m0_min": g0, "m1_min": g1}
        # groups recorded without a registered Synapses (e.g. a bit-packed memory): counts only,
        # no weights to compare, so no minimal energy
        for name in dict.fromkeys(g for g, _ in self._counts):
            if name not in per_group:
                per_group[name] = {**self.counts(group=name).to_dict(), "m0_min": None}
        return {
            **total.to_dict(),
            "m0_min": m0_min,
            "m1_min": m1_min,
            "m0_inefficiency": total.m0 / m0_min if m0_min else None,
            "m1_inefficiency": total.m1 / m1_min if m1_min else None,
            "energy_total": total.m1 + total.maintenance,
            "per_group": per_group,
            "per_phase": {p: self.counts(phase=p).to_dict() for p in self.phases()},
        }

    # ------------------------------------------------------------- persistence
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue counting after a restart (for checkpoints)."""
        self._flush()
        return {
            "alphas": list(self.alphas),
            "phase": self._phase,
            "counts": [[g, p, c.to_dict()] for (g, p), c in self._counts.items()],
            "initial": {k: v.cpu() for k, v in self._initial.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore counts and initial weights saved by :meth:`state_dict`."""
        self.alphas = tuple(float(a) for a in state["alphas"])
        self._phase = str(state["phase"])
        self._pending, self._pending_applies, self._bad = {}, {}, {}
        self._counts = {(g, p): Counts.from_dict(c) for g, p, c in state["counts"]}
        for name, tensor in state["initial"].items():
            device = self._groups[name].w.device if name in self._groups else tensor.device
            self._initial[name] = tensor.to(device)
