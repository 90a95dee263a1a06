"""A result record's ``energy`` part: counted operations, estimates and the measurement.

Every figure says how it was made: ``counted`` (the ledger's M0 and M1, the inference
operations split into MACs and ACs), ``estimated`` (one :class:`EnergyEstimate` per table
asked for: counts × pJ per operation, with the table's name, source and values) and
``measured`` (:class:`MeasuredEnergy`: the meter's joules per window, or ``unavailable`` and
why). Records written before this part existed have ``energy: null``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from neuroplastic.energy.meter import MeasuredEnergy
from neuroplastic.energy.models import EnergyEstimate, EnergyTable, InferenceOps, estimate
from neuroplastic.energy.synops import SynOps


class CountedEnergy(BaseModel):
    """What was counted (the estimates' inputs): learning and inference per sample."""

    model_config = ConfigDict(extra="forbid")

    method: str = "counted"
    m0: float = Field(description="synaptic writes (ledger)")
    m1: float = Field(description="Σ|Δw| (ledger, weight units)")
    inference: InferenceOps = Field(description="synaptic operations per test sample")


class EnergyReport(BaseModel):
    """Counted, estimated and measured energy of one run, each labelled with its method."""

    model_config = ConfigDict(extra="forbid")

    counted: CountedEnergy
    estimated: list[EnergyEstimate] = Field(default_factory=list)
    measured: MeasuredEnergy

    def estimate_named(self, model: str) -> EnergyEstimate | None:
        """The estimate of the table ``model``, if the record has it."""
        return next((e for e in self.estimated if e.model == model), None)

    def with_tables(self, tables: Sequence[EnergyTable]) -> EnergyReport:
        """The same counts and measurement, estimated with ``tables`` (a pure recomputation)."""
        return self.model_copy(update={"estimated": estimates(self.counted, tables)})


def inference_ops(synops: SynOps) -> InferenceOps:
    """The MAC/AC split of measured SynOps (per sample)."""
    return InferenceOps(
        dense_mac=synops.dense_mac,
        dense_ac=synops.dense_ac,
        effective_mac=synops.effective_mac,
        effective_ac=synops.effective_ac,
    )


def estimates(counted: CountedEnergy, tables: Sequence[EnergyTable]) -> list[EnergyEstimate]:
    """One estimate per table, from the counted operations."""
    return [estimate(t, m0=counted.m0, m1=counted.m1, ops=counted.inference) for t in tables]


def energy_report(
    m0: float,
    m1: float,
    synops: SynOps,
    tables: Sequence[EnergyTable],
    measured: MeasuredEnergy,
) -> EnergyReport:
    """The record's energy part from the ledger totals, SynOps and the measurement."""
    counted = CountedEnergy(m0=m0, m1=m1, inference=inference_ops(synops))
    return EnergyReport(counted=counted, estimated=estimates(counted, tables), measured=measured)
