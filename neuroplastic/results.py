"""The result record every method reports, the same fields for every method.

Units: accuracies are fractions in [0, 1]; ``m1``/``m1_min`` in weight units (Σ|Δw|);
``m0`` counts non-zero synaptic writes; SynOps are operations per inference sample;
``wall_s`` is seconds of training wall time (evaluation included).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
    m0: float = Field(description="number of non-zero synaptic writes")
    m1: float = Field(description="Σ|Δw| over all writes")
    m2: float = 0.0
    m0_min: int = 0
    m1_min: float = Field(description="Σ|w(T) − w(0)|")
    m1_inefficiency: float | None = None
    m_alpha: dict[str, float] = Field(default_factory=dict)
    created: int
    pruned: int
    synops_per_sample: float = Field(description="effective SynOps per inference sample")
    synops_dense_per_sample: float = 0.0
    spikes_per_hidden_neuron: float | None = Field(
        None, description="spiking methods: spikes per hidden neuron per test sample"
    )
    synaptic_events_per_sample: float | None = Field(
        None, description="spiking methods: synaptic events (spike × fan-out) per test sample"
    )
    accuracy_no_pseudospikes: float | None = Field(
        None, description="spiking methods: test accuracy from ordinary output spikes only"
    )
    wall_s: float
    samples_seen: int
    epochs_done: int = 0
    target_accuracy: float | None = None
    samples_to_target: int | None = None
    ledger_at_target: dict[str, Any] | None = None
    ledger: dict[str, Any] = Field(default_factory=dict, description="per group and phase")
    train_size: int = 0
    val_size: int = 0
    test_size: int = 0
    quick: bool = False
    params: dict[str, Any] = Field(default_factory=dict)
    run_id: int | None = None
    code_version: str = ""
    restriction: str | None = Field(None, description="restriction policy (neuroplastic.restrict)")
    cache: str | None = Field(None, description="synaptic caching settings, if used")
    maintenance: float | None = Field(None, description="cache maintenance energy Σ c·Σ|s|")
    energy_total: float | None = Field(None, description="M1 + maintenance (with a cache)")


def write_records(path: Path, records: list[ResultRecord]) -> None:
    """Write records as a JSON list (atomically: temp file then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps([r.model_dump() for r in records], indent=2) + "\n")
    tmp.replace(path)
