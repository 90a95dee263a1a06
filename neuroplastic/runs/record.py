"""Evaluate a trained learner on the test split and assemble its result record."""

from __future__ import annotations

from typing import Any

import torch

from neuroplastic.data import DataSplits
from neuroplastic.energy.joules import energy_report
from neuroplastic.energy.meter import MeasuredEnergy
from neuroplastic.energy.summary import LedgerSummary
from neuroplastic.energy.synops import measure_synops
from neuroplastic.methods import Learner, TrainingParams
from neuroplastic.metrics.signatures import learner_signatures
from neuroplastic.restrict import describe
from neuroplastic.results import ResultRecord
from neuroplastic.runs.information import information_fields
from neuroplastic.runs.settings import Experiment
from neuroplastic.store import neuroplastic_version
from neuroplastic.train import Trainer, accuracy, at_chance


def make_record(
    name: str,
    learner: Learner,
    trainer: Trainer,
    exp: Experiment,
    params: TrainingParams,
    data: DataSplits,
    device: torch.device,
    measured: MeasuredEnergy | None = None,
) -> ResultRecord:
    """Evaluate on the test split and assemble the result record.

    ``measured`` is the meter's reading (the caller, who holds the meter's windows, may also
    set ``record.energy.measured`` afterwards); without it the record says it was not measured.
    """
    x_test, y_test = data.test.x.to(device), data.test.y.to(device)
    synops = measure_synops(learner.inference_model, x_test)
    summary = LedgerSummary.from_ledger(learner.ledger)
    groups = learner.synapses()
    outcome = trainer.outcome
    n_input = learner.input_synapses().n_nonsilent(exp.nonsilent_eps)
    n_all = sum(s.n_nonsilent(exp.nonsilent_eps) for s in groups)
    info = information_fields(learner, x_test, y_test, n_input, n_all) if exp.info else {}
    test_accuracy = accuracy(learner, x_test, y_test)
    chance = at_chance(test_accuracy, y_test)
    warnings = [] if chance is None else [f"test {chance}: the run did not learn"]
    if measured is None:
        measured = MeasuredEnergy(status="unavailable", method="none", reason="not measured")
    energy = energy_report(summary.m0, summary.m1, synops, exp.energy_tables(), measured)
    return ResultRecord(
        method=name,
        dataset=data.dataset,
        classes=list(data.classes),
        architecture=learner.architecture,
        seed=exp.seed,
        device=str(device),
        test_accuracy=test_accuracy,
        val_accuracy=outcome.curve[-1].val_accuracy if outcome.curve else None,
        synapses_dense=sum(s.n_total for s in groups),
        synapses_total=sum(s.n_existing for s in groups),
        synapses_nonsilent=n_all,
        synapses_nonsilent_input=n_input,
        connected_units=learner.connected_units(),
        **info,
        nonsilent_eps=exp.nonsilent_eps,
        ledger=summary,
        synops_per_sample=synops.effective,
        synops_dense_per_sample=synops.dense,
        energy=energy,
        wall_s=outcome.wall_s,
        samples_seen=outcome.samples_seen,
        epochs_done=outcome.epochs_done,
        target_accuracy=exp.target_accuracy,
        samples_to_target=outcome.samples_to_target,
        ledger_at_target=outcome.ledger_at_target,
        train_size=data.train.n,
        val_size=data.val.n,
        test_size=data.test.n,
        quick=exp.quick,
        params=params.model_dump(),
        code_version=neuroplastic_version(),
        method_fields=learner.method_fields(x_test, y_test),
        warnings=warnings,
        signatures=learner_signatures(learner, x_test, exp.nonsilent_eps),
        **plasticity_fields(exp),
    )


def plasticity_fields(exp: Experiment) -> dict[str, Any]:
    """Record fields naming the restriction and the cache (empty when neither is used)."""
    out: dict[str, Any] = {}
    if exp.restrict is not None and exp.restrict.policy != "none":
        out["restriction"] = describe(exp.restrict)
    if exp.cache is not None:
        c = exp.cache
        out["cache"] = f"θ={c.theta:g} τ={c.tau} c={c.c:g} {c.mode}"
    return out
