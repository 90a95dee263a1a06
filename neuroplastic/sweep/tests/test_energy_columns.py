"""Sweep exports and `runs compare` carry each run's joules, named with their method."""

from __future__ import annotations

from neuroplastic.sweep import tables


def _record(status: str, joules: float | None) -> dict:
    windows = {} if joules is None else {"train": {"seconds": 1.0, "joules": joules, "parts": {}}}
    return {
        "test_accuracy": 0.9,
        "energy": {
            "counted": {"m0": 10.0, "m1": 1.0, "inference": {}},
            "estimated": [
                {"model": "cmos45", "learning_j": 9e-12, "inference_j_per_sample": 1e-12},
                {"model": "loihi", "learning_j": 1.2e-9, "inference_j_per_sample": None},
            ],
            "measured": {"status": status, "method": "x", "windows": windows},
        },
    }


def test_energy_columns_name_their_method_and_never_invent_a_measurement():
    row: dict = {}
    tables._energy_columns(_record("unavailable", None), row)
    assert row["result.energy.learn_J_est.cmos45"] == 9e-12
    assert row["result.energy.learn_J_est.loihi"] == 1.2e-9
    assert row["result.energy.infer_J_per_sample_est.loihi"] is None
    assert row["result.energy.measured"] == "unavailable"
    assert tables.ENERGY_MEASURED not in row  # absent, not zero
    measured: dict = {}
    tables._energy_columns(_record("measured", 3.5), measured)
    assert measured[tables.ENERGY_MEASURED] == 3.5
    old: dict = {}
    tables._energy_columns({"test_accuracy": 0.5}, old)  # a record from before energy
    assert old == {}


def test_default_metrics_include_the_energy_columns_present():
    rows = [{"result.test_accuracy": 0.9}]
    tables._energy_columns(_record("unavailable", None), rows[0])
    metrics = tables.default_metrics(rows)
    assert metrics[0] == "result.test_accuracy"
    assert "result.energy.learn_J_est.cmos45" in metrics
    assert tables.ENERGY_MEASURED not in metrics  # no run was measured
    tables._energy_columns(_record("measured", 2.0), rows[0])
    assert tables.ENERGY_MEASURED in tables.default_metrics(rows)
