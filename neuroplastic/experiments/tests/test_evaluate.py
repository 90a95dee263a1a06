"""``evaluate`` end to end on synthetic 4×4 images: tables, store, plots, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from neuroplastic.data import DataSplits, Split
from neuroplastic.errors import ParameterError
from neuroplastic.experiments.evaluate import EvaluationReport, run_evaluation
from neuroplastic.experiments.evaluate_report import tables
from neuroplastic.metrics.adversarial import AttackSettings, attack_settings
from neuroplastic.metrics.few_shot import FewShotSettings
from neuroplastic.runs import Experiment
from neuroplastic.store import RunStore

pytest.importorskip("torchattacks")


def split(n: int, seed: int) -> Split:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.rand(n, 16, generator=g) * 0.6
    for c in range(3):
        x[y == c, c * 5 : c * 5 + 5] += 0.4
    return Split(x, y)


def data() -> DataSplits:
    return DataSplits(split(300, 0), split(60, 1), split(90, 2), [0, 1, 2], dataset="synthetic")


def settings(shots: list[int]) -> tuple[AttackSettings, FewShotSettings]:
    attack = attack_settings(
        eps=[0.1, 0.3], steps=5, square_queries=5, unbounded_steps=20, samples=60
    )
    few = FewShotSettings(shots=shots, draws=2, probe_steps=20, backprop_steps=10, test_samples=60)
    return attack, few


def test_evaluate_writes_tables_plots_json_and_a_stored_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neuroplastic.metrics import attack_forward

    # every registered method has a forward; take the STDP network's away to check that a
    # method that cannot be attacked is named and the others' results are still written
    monkeypatch.delitem(attack_forward._FORWARDS, "STDPDiehlCookLearner")
    exp = Experiment(hidden=[8], seed=0, progress=False)
    attack, few = settings([1, 5])
    with RunStore(tmp_path / "runs.sqlite") as store:
        report = run_evaluation(
            ["random-projection", "stdp-diehl-cook"],
            {
                "stdp-diehl-cook": {"epochs": 1},
                "backprop": {"epochs": 2},
                "random-projection": {"epochs": 1},
            },
            exp,
            store,
            tmp_path / "out",
            attack=attack,
            few_shot=few,
            data=data(),
        )
        stored = store.get_result(report.run_id or -1)
    assert report.methods[0] == "backprop"  # always the reference
    assert {r.method for r in report.records} == {
        "backprop",
        "random-projection",
        "stdp-diehl-cook",
    }
    # the STDP network cannot be attacked: named, and the others' results are still there
    assert any("stdp-diehl-cook cannot be attacked" in e for e in report.errors)
    attacked = {r.method: r for r in report.robustness}
    assert attacked["stdp-diehl-cook"].error is not None
    assert attacked["random-projection"].per_eps and attacked["backprop"].unbounded_pgd is not None
    names = [row.name for row in report.few_shot]
    assert "backprop (same examples)" in names and "random-projection (probe)" in names
    assert "backprop from random-projection" in names
    assert {c.claim for c in report.claims} >= {"more robust than backprop", "lognormal weights"}
    for name in (
        "robustness.png",
        "few_shot.png",
        "weight_histograms.png",
        "evaluation.json",
        "receptive_fields_random-projection.png",
    ):
        assert (tmp_path / "out" / name).is_file(), name
    on_disk = EvaluationReport.model_validate(
        json.loads((tmp_path / "out" / "evaluation.json").read_text())
    )
    assert on_disk.claims == report.claims
    assert stored is not None and stored["methods"] == report.methods
    # the report carries its own provenance, on disk and in the store
    assert on_disk.provenance is not None and on_disk.provenance == report.provenance
    assert on_disk.provenance.seed == 0 and on_disk.provenance.ended_at is not None
    assert on_disk.provenance.started_at < on_disk.provenance.ended_at
    assert stored["provenance"]["ended_at"].endswith("+00:00")
    assert len(tables(report)) == 4


def test_too_many_shots_is_named_and_the_rest_is_written(tmp_path: Path) -> None:
    exp = Experiment(hidden=[8], seed=0, progress=False)
    _, few = settings([1, 500])
    with RunStore(tmp_path / "runs.sqlite") as store:
        report = run_evaluation(
            ["random-projection"],
            {"backprop": {"epochs": 1}, "random-projection": {"epochs": 1}},
            exp,
            store,
            tmp_path / "out",
            few_shot=few,
            data=data(),
        )
    assert any("500 shots per class exceed" in e for e in report.errors)
    assert len(report.records) == 2 and not report.few_shot
    assert (tmp_path / "out" / "evaluation.json").is_file()


def test_bad_epsilon_fails_before_training() -> None:
    with pytest.raises(ParameterError, match="ε must be in"):
        attack_settings(eps=[0.1, 2.0])


def test_all_expands_to_every_method_and_the_localised_projection() -> None:
    from neuroplastic.experiments.evaluate import base_method, evaluation_methods, method_overrides
    from neuroplastic.methods import available_methods

    names = evaluation_methods(["all"])
    assert set(available_methods()) <= set(names)
    assert names.index("random-projection-localised") == names.index("random-projection") + 1
    assert evaluation_methods(["backprop", "all"]).count("backprop") == 1
    assert base_method("random-projection-localised") == (
        "random-projection",
        {"receptive_field": 10},
    )
    assert method_overrides("random-projection-localised", {}) == {"receptive_field": 10}
    ours = {"random-projection-localised": {"receptive_field": 5, "epochs": 1}}
    assert method_overrides("random-projection-localised", ours)["receptive_field"] == 5
    with pytest.raises(ParameterError, match="no-such-method"):
        evaluation_methods(["no-such-method"])


def test_a_variant_is_trained_as_its_method_and_labelled_as_itself(tmp_path: Path) -> None:
    exp = Experiment(hidden=[8], seed=0, progress=False)
    with RunStore(tmp_path / "runs.sqlite") as store:
        report = run_evaluation(
            ["random-projection-localised"],
            {"backprop": {"epochs": 1}, "random-projection-localised": {"receptive_field": 2}},
            exp,
            store,
            tmp_path / "out",
            data=data(),
        )
    assert [r.method for r in report.records] == ["backprop", "random-projection-localised"]
    first = report.records[1].signatures
    assert first is not None and first.weight_sparsity.silent_fraction_relative > 0.5  # 2x2 of 4x4
    assert (tmp_path / "out" / "receptive_fields_random-projection-localised.png").is_file()
    # its sparsity is the receptive-field mask: enforced by construction, not emerged
    sparse = next(c for c in report.claims if c.claim == "sparse weights, not enforced")
    assert not sparse.supported and "enforced by construction" in sparse.evidence
