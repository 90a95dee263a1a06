"""The result record every method reports, the same fields for every method.

Units: accuracies are fractions in [0, 1]; the learning cost (``record.ledger``: ``m0`` non-zero
synaptic writes, ``m1``/``m1_min`` in weight units Σ|Δw|, see
:class:`~neuroplastic.energy.summary.LedgerSummary`); SynOps are operations per inference
sample; ``energy`` holds joules, each figure labelled counted / estimated (its table) /
measured (its meter) (:class:`~neuroplastic.energy.joules.EnergyReport`); ``wall_s`` is
seconds of training wall time (evaluation included).

The record is typed end to end: the ledger's numbers are a nested :class:`LedgerSummary`,
method-specific numbers a typed part in ``method_fields`` (one model per kind, told apart by
its ``kind``), how and where it was made a nested :class:`~neuroplastic.provenance.Provenance`
(``None`` in records written before it existed). Records written before this layout (all
numbers flat at the top level) are read by :meth:`ResultRecord._read_flat_form`. To add a
field, give it a default, so older records stay readable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from neuroplastic.atomic import write_json_atomic
from neuroplastic.energy.joules import EnergyReport
from neuroplastic.energy.summary import CountsModel, LedgerSummary
from neuroplastic.metrics.signatures import Signatures
from neuroplastic.provenance import Provenance


class SpikingFields(BaseModel):
    """What only a spiking method measures, on the test split."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["spiking"] = "spiking"
    spikes_per_hidden_neuron: float = Field(description="spikes per hidden neuron per sample")
    synaptic_events_per_sample: float = Field(
        description="synaptic events (spike × fan-out) per test sample"
    )
    accuracy_no_pseudospikes: float = Field(
        description="test accuracy from ordinary output spikes only"
    )


MethodFields = SpikingFields
"""The typed method-specific parts. A second kind joins as
``Annotated[SpikingFields | OtherFields, Field(discriminator="kind")]``."""

_FLAT_LEDGER_KEYS = (
    "m0",
    "m1",
    "m2",
    "m0_min",
    "m1_min",
    "m1_inefficiency",
    "m_alpha",
    "created",
    "pruned",
    "maintenance",
    "energy_total",
)
_FLAT_SPIKING_KEYS = tuple(k for k in SpikingFields.model_fields if k != "kind")


def _ledger_from_flat(flat: dict[str, Any], split: dict[str, Any] | None) -> dict[str, Any]:
    """The nested ledger summary of an old flat record: its top-level totals, its
    ``ledger`` split, and the count fields it did not store summed over its phases."""
    split = dict(split or {})
    out: dict[str, Any] = {k: flat.pop(k) for k in _FLAT_LEDGER_KEYS if k in flat}
    if out.get("maintenance") is None:
        out.pop("maintenance", None)
    phases = split.get("per_phase", {})
    for name, info in CountsModel.model_fields.items():
        if name not in out and name != "m_alpha" and phases:
            total = sum(p.get(name, 0) for p in phases.values())
            out[name] = int(total) if info.annotation is int else total
    if out.get("energy_total") is None:
        out["energy_total"] = out.get("m1", 0.0) + out.get("maintenance", 0.0)
    return {**out, **split}


class ResultRecord(BaseModel):
    """One trained method on one dataset: accuracy beside what learning cost."""

    model_config = ConfigDict(extra="forbid")

    method: str
    dataset: str
    classes: list[int]
    architecture: str
    seed: int
    device: str
    test_accuracy: float
    val_accuracy: float | None = None
    synapses_dense: int = Field(description="potential synapse sites of the architecture")
    synapses_total: int = Field(description="synapses that exist (biases included)")
    synapses_nonsilent: int = Field(description="existing synapses with |w| > nonsilent_eps")
    nonsilent_eps: float = 0.0
    synapses_nonsilent_input: int = Field(
        0, description="non-silent input→hidden synapses (the paper's count)"
    )
    bits_x_z: float | None = Field(None, description="I(X;Z), variational estimate (bits)")
    bits_z_y: float | None = Field(None, description="I(Z;Y), plug-in + Miller–Madow (bits)")
    bits_per_synapse: float | None = Field(
        None, description="C_S = I(X;Z) / non-silent input synapses"
    )
    bits_per_synapse_all: float | None = Field(
        None, description="I(X;Z) / non-silent synapses of the whole network"
    )
    info_estimator: dict[str, Any] | None = None
    connected_units: int | None = Field(None, description="hidden units with >= 1 synapse")
    ledger: LedgerSummary = Field(description="learning cost: totals, per group, per phase")
    synops_per_sample: float = Field(description="effective SynOps per inference sample")
    synops_dense_per_sample: float = 0.0
    energy: EnergyReport | None = Field(
        None,
        description="counted, estimated (table, source, pJ/op) and measured (meter) energy",
    )
    method_fields: MethodFields | None = Field(
        None, description="numbers only some methods measure (typed per kind)"
    )
    signatures: Signatures | None = Field(
        None, description="sparsity, Dale conformity, lognormality (neuroplastic.metrics)"
    )
    wall_s: float
    samples_seen: int
    epochs_done: int = 0
    target_accuracy: float | None = None
    samples_to_target: int | None = None
    ledger_at_target: LedgerSummary | None = Field(
        None, description="the ledger when the target accuracy was first reached"
    )
    train_size: int = 0
    val_size: int = 0
    test_size: int = 0
    quick: bool = False
    params: dict[str, Any] = Field(default_factory=dict)
    run_id: int | None = None
    code_version: str = ""
    restriction: str | None = Field(None, description="restriction policy (neuroplastic.restrict)")
    cache: str | None = Field(None, description="synaptic caching settings, if used")
    provenance: Provenance | None = Field(
        None, description="code, software, machine, command and UTC times of the run"
    )
    warnings: list[str] = Field(
        default_factory=list, description="what a reader should know (e.g. accuracy at chance)"
    )

    @model_validator(mode="before")
    @classmethod
    def _read_flat_form(cls, data: Any) -> Any:
        """Read a record of the earlier flat layout (ledger totals and spiking numbers at the
        top level, ``ledger`` holding only ``per_group``/``per_phase``)."""
        if not isinstance(data, dict) or "m1" not in data:
            return data
        flat = dict(data)
        flat["ledger"] = _ledger_from_flat(flat, flat.get("ledger"))
        spiking = {k: flat.pop(k, None) for k in _FLAT_SPIKING_KEYS}
        if all(v is not None for v in spiking.values()):
            flat["method_fields"] = {"kind": "spiking", **spiking}
        return flat


def write_records(path: Path, records: list[ResultRecord]) -> None:
    """Write records as a JSON list, atomically (:mod:`neuroplastic.atomic`)."""
    write_json_atomic(path, [r.model_dump() for r in records])
