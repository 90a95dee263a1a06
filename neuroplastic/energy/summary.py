"""The ledger's summary as a typed model (what a result record stores under ``ledger``).

:meth:`~neuroplastic.energy.ledger.Ledger.summary` returns plain JSON; :class:`LedgerSummary`
is the same numbers with names and types, built by :meth:`LedgerSummary.from_ledger`.

Units: ``m1``/``m1_min`` in weight units (Σ|Δw|), ``m2`` in weight units squared (Σ Δw²),
``m0`` counts non-zero synaptic writes, ``maintenance`` is the cache's Σ_t c·Σ|s(t)| (weight
units × steps), ``energy_total = m1 + maintenance``. Inefficiencies are ``m/m_min`` (≥ 1 for
a monotone path; None when nothing changed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from neuroplastic.energy.ledger import Ledger


class CountsModel(BaseModel):
    """Accumulated cost of one group in one phase (or summed); the fields of ``Counts``."""

    model_config = ConfigDict(extra="forbid")

    m0: float = Field(0.0, description="number of non-zero synaptic writes")
    m1: float = Field(0.0, description="Σ|Δw| over all writes")
    m2: float = Field(0.0, description="Σ Δw² over all writes")
    created: int = 0
    pruned: int = 0
    pruned_abs: float = Field(0.0, description="Σ|w| of pruned synapses")
    applies: int = Field(0, description="number of updates applied")
    m_alpha: dict[str, float] = Field(default_factory=dict, description="Σ|Δw|^α per α")
    transient_m0: float = 0.0
    transient_m1: float = 0.0
    maintenance: float = 0.0
    consolidation_m0: float = 0.0
    consolidation_m1: float = 0.0


class GroupSummary(CountsModel):
    """One synapse group over all phases, with its minimal energies (None for a group the
    ledger only counts, e.g. a bit-packed memory, whose weights it cannot compare)."""

    m0_min: int | None = None
    m1_min: float | None = None


class LedgerSummary(CountsModel):
    """Totals over all groups and phases, minimal energies, inefficiencies, and the split."""

    m0_min: int = Field(0, description="sites whose weight differs from the start")
    m1_min: float = Field(0.0, description="Σ|w(T) − w(0)|")
    m0_inefficiency: float | None = None
    m1_inefficiency: float | None = None
    energy_total: float | None = Field(None, description="m1 + maintenance")
    per_group: dict[str, GroupSummary] = Field(default_factory=dict)
    per_phase: dict[str, CountsModel] = Field(default_factory=dict)

    @classmethod
    def from_ledger(cls, ledger: Ledger) -> LedgerSummary:
        """The typed form of ``ledger.summary()``."""
        return cls.model_validate(ledger.summary())
