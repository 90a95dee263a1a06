"""The continual-learning experiment on tiny synthetic blobs (and once through the CLI on MNIST)."""

from __future__ import annotations

import json

import pytest
import torch

from neuroplastic.data.mnist import DataSplits, Split
from neuroplastic.errors import ParameterError
from neuroplastic.experiments.continual import (
    ContinualParams,
    check_phase_classes,
    continual_table,
    parse_class_list,
    run_continual,
)
from neuroplastic.params import build_params

CLASSES = [0, 1, 2, 3]
FIRST, SECOND = [0, 1], [2, 3]
DIM = 24
FAST = {
    "structural": {
        "epochs": "3",
        "prune_epoch": "1",
        "budget": "5",
        "k": "1",
        "batch_size": "20",
        "reserve": "true",
        "readout": "delta",
        "phase_gate": "template",
    },
    "backprop": {"epochs": "3", "batch_size": "20", "lr": "0.01"},
}


def blobs(n: int, seed: int) -> Split:
    """Non-negative blobs: class c drives its own block of 6 inputs."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.zeros(len(CLASSES), DIM)
    for c in range(len(CLASSES)):
        centers[c, c * 6 : (c + 1) * 6] = 1.0
    y = torch.randint(0, len(CLASSES), (n,), generator=g)
    x = (centers[y] + 0.2 * torch.rand(n, DIM, generator=g)).clamp(0, 1)
    return Split(x=x.float(), y=y)


@pytest.fixture(scope="module")
def data() -> DataSplits:
    return DataSplits(
        train=blobs(400, 1), val=blobs(80, 2), test=blobs(120, 3), classes=CLASSES, dataset="blobs"
    )


def _run(data, methods: list[str]) -> list[dict]:
    return run_continual(
        methods,
        FIRST,
        SECOND,
        hidden=[30],
        seed=0,
        quick=False,
        overrides=FAST,
        device="cpu",
        data=data,
    )


@pytest.fixture(scope="module")
def results(data) -> list[dict]:
    return _run(data, ["structural", "backprop"])


def test_both_phases_recorded_with_accuracies_in_range(results):
    assert [r["method"] for r in results] == ["structural", "backprop"]
    for r in results:
        assert r["architecture"] == f"{DIM}-30-4"
        assert r["first"] == FIRST and r["second"] == SECOND and r["seed"] == 0
        assert [p["phase"] for p in r["phases"]] == ["A", "B"]
        assert r["params"]["epochs"] == 3
        for p in r["phases"]:
            for key in ("acc_first", "acc_second", "acc_all", "val_accuracy"):
                assert 0.0 <= p[key] <= 1.0
            assert p["epochs"] == 3 and p["train_samples"] > 0
        a, b = r["phases"]
        # phase A learned the first classes; phase B the second ones
        assert a["acc_first"] > 0.9 and b["acc_second"] > 0.9
        assert a["classes"] == FIRST and b["classes"] == SECOND


def test_validation_accuracies_are_recorded_beside_the_test_ones(results, data):
    """Settings are compared on the validation split: its three accuracies are recorded."""
    for r in results:
        a, b = r["phases"]
        for p in (a, b):
            for key in ("val_acc_first", "val_acc_second", "val_acc_all"):
                assert 0.0 <= p[key] <= 1.0
        # the first classes' validation samples after phase A: what the training loop scored
        assert a["val_acc_first"] > 0.9 and b["val_acc_second"] > 0.9
    # after phase A the second classes were never taught: backprop gets none of them right
    backprop_a = results[1]["phases"][0]
    assert backprop_a["val_acc_second"] == 0.0
    assert backprop_a["val_acc_all"] == pytest.approx(
        backprop_a["val_acc_first"] * int((data.val.y < 2).sum()) / len(data.val.y)
    )


def test_ledger_phases_are_both_charged_and_sum_to_the_total(results):
    for r in results:
        a, b = r["phases"]
        assert a["m0"] > 0 and b["m0"] > 0 and a["m1"] > 0 and b["m1"] > 0
        assert a["m0"] + b["m0"] == pytest.approx(r["ledger"]["m0"])
        assert a["m1"] + b["m1"] == pytest.approx(r["ledger"]["m1"])
        assert a["created"] + b["created"] == r["ledger"]["created"]
        assert a["pruned"] + b["pruned"] == r["ledger"]["pruned"]


def test_structural_reports_units_recruited_from_the_reserve(results):
    structural = results[0]
    a, b = structural["phases"]
    assert structural["n_hidden_units"] == 30
    assert 0 < a["connected_units"] <= 30 and 0 < b["connected_units"] <= 30
    assert a["recruited"] is None
    assert b["recruited"] >= 0 and b["recruited"] == len(b["recruited_units"])
    assert b["released"] >= 0 and 0 <= b["changed_units"] <= a["connected_units"]
    # connected after B = connected after A − released + recruited
    assert b["connected_units"] == a["connected_units"] - b["released"] + b["recruited"]
    # the schedule restarted in phase B: structure changed there too
    assert b["pruned"] > 0 or b["created"] > 0
    assert a["input_synapses"] <= 30 * 5


def test_backprop_has_no_units_to_recruit(results):
    backprop = results[1]
    for p in backprop["phases"]:
        assert p["connected_units"] is None and p["recruited"] is None
        assert p["input_synapses"] == 30 * DIM
        assert p["created"] == 0 and p["pruned"] == 0


def test_same_seed_same_numbers(data, results):
    again = _run(data, ["structural"])
    keys = ("acc_first", "acc_second", "m0", "m1", "recruited_units")
    for p, q in zip(again[0]["phases"], results[0]["phases"]):
        assert {k: p[k] for k in keys} == {k: q[k] for k in keys}


def test_table(results):
    table = continual_table(results)
    assert table.row_count == 4 and len(table.columns) == 10


def test_parameters_are_checked_before_anything_runs():
    with pytest.raises(ParameterError, match=r"overlap in \[2\]"):
        build_params(ContinualParams, {"first": "0,1,2", "second": "2,3"}, "continual")
    with pytest.raises(ParameterError, match="methods"):
        build_params(ContinualParams, {"methods": " , "}, "continual")
    with pytest.raises(ParameterError, match="hidden"):
        build_params(ContinualParams, {"hidden": "0"}, "continual")


@pytest.mark.parametrize(
    ("first", "second", "match"),
    [
        ([0, 1, 2], [2, 3], r"overlap in \[2\]"),
        ([0, 1], [9, 10], r"0\.\.9"),
        ([0, 0], [2, 3], "repeated"),
        ([], [2, 3], "at least one"),
    ],
)
def test_bad_class_lists_are_rejected(data, first, second, match):
    with pytest.raises(ParameterError, match=match):
        check_phase_classes(first, second)
    with pytest.raises(ParameterError, match=match):
        run_continual(
            ["backprop"], first, second, hidden=[5], seed=0, quick=True, overrides={}, data=data
        )


def test_data_must_hold_exactly_the_phase_classes(data):
    with pytest.raises(ParameterError, match="holds classes"):
        run_continual(["backprop"], [0, 1], [2], hidden=[5], seed=0, quick=True, data=data)


def test_class_list_parsing():
    assert parse_class_list("4, 0,2", "--first") == [0, 2, 4]
    assert parse_class_list("7", "--second") == [7]
    with pytest.raises(ParameterError, match="--first"):
        parse_class_list("0,a", "--first")
    with pytest.raises(ParameterError, match="empty"):
        parse_class_list(" , ", "--second")


# ------------------------------------------------------------------ CLI on real MNIST
# (fixtures `env` and `run_main` come from neuroplastic/conftest.py)


@pytest.mark.mnist
def test_cli_continual_quick(run_main, tmp_path):
    out = tmp_path / "continual.json"
    code, stdout, stderr = run_main(
        "continual", "--quick", "--no-progress", "--hidden", "200", "--json", str(out)
    )
    assert code == 0, stderr
    assert "structural" in stdout and "backprop" in stdout and "recruited" in stdout
    body = json.loads(out.read_text())
    assert body["experiment"] == "continual" and body["code_version"]
    results = body["results"]
    assert [r["method"] for r in results] == ["structural", "backprop"]
    for r in results:
        assert r["architecture"] == "784-200-10" and r["quick"]
        a, b = r["phases"]
        assert a["m0"] > 0 and b["m0"] > 0
        assert all(0 <= p[k] <= 1 for p in (a, b) for k in ("acc_first", "acc_second", "acc_all"))
    structural, backprop = results
    assert structural["phases"][1]["recruited"] >= 0
    # only backprop is held to an accuracy here: 2,000 samples and 3 epochs are too few for the
    # structural rule's schedule (hidden learning, pruning, then readout) to say much
    a, b = backprop["phases"]
    assert a["acc_first"] > 0.5 and b["acc_second"] > 0.5
    code, _, stderr = run_main("continual", "--quick", "--first", "0,1,2", "--second", "2,3")
    assert code == 2 and "overlap" in stderr
    # the same experiment by name, recorded in the run store
    code, stdout, stderr = run_main(
        "run", "continual", "--quick", "--no-progress", "--hidden", "50", "--methods", "backprop",
        "--set", "epochs=1", "--first", "0,1", "--second", "2,3",
    )  # fmt: skip
    assert code == 0, stderr
    code, listing, _ = run_main("runs", "list")
    # the refused overlap recorded nothing: its parameters are checked before the run starts
    rows = [line for line in listing.splitlines() if " continual " in line]
    assert len(rows) == 2 and all("finished" in row for row in rows), listing
    code, _, stderr = run_main("run", "continual", "--quick", "--classes", "1,2")
    assert code == 2 and "continual does not take --classes" in stderr
