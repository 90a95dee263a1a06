"""Learning energy (the ledger), inference cost (synaptic operations), and joules: estimated
from the counts with a named per-operation table (:mod:`~neuroplastic.energy.models`) and
measured by a hardware meter (:mod:`~neuroplastic.energy.meter`), each labelled with its method
(:mod:`~neuroplastic.energy.joules`)."""

from neuroplastic.energy.joules import EnergyReport, energy_report
from neuroplastic.energy.ledger import Counts, Ledger
from neuroplastic.energy.meter import EnergyMeter, MeasuredEnergy, MeterSession, WindowEnergy
from neuroplastic.energy.models import BUILTIN_TABLES, EnergyEstimate, EnergyTable, resolve_model
from neuroplastic.energy.synops import SynOps, count_synops, measure_synops

__all__ = [
    "BUILTIN_TABLES",
    "Counts",
    "EnergyEstimate",
    "EnergyMeter",
    "EnergyReport",
    "EnergyTable",
    "Ledger",
    "MeasuredEnergy",
    "MeterSession",
    "SynOps",
    "WindowEnergy",
    "count_synops",
    "energy_report",
    "measure_synops",
    "resolve_model",
]
