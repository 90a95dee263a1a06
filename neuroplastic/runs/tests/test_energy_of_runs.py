"""A run's record carries counted, estimated and measured energy, each with its method."""

from __future__ import annotations

import dataclasses

import pytest

from neuroplastic.energy.meter import WindowEnergy, window_from_parts
from neuroplastic.energy.models import BUILTIN_TABLES
from neuroplastic.errors import ParameterError
from neuroplastic.results import ResultRecord
from neuroplastic.runs import run_method

SETTINGS = {"epochs": 2, "batch_size": 20}


class KnownJoules:
    """A fake meter: 12.5 J per training window, 0.75 J per evaluation."""

    method = "fake meter (known joules)"

    def __init__(self, fail_at: str | None = None) -> None:
        self.fail_at = fail_at
        self.open: list[str] = []

    def begin_window(self, name: str) -> None:
        self.open.append(name)

    def end_window(self, name: str) -> WindowEnergy:
        self.open.remove(name)
        if self.fail_at == name:
            raise RuntimeError("meter unplugged")
        return window_from_parts(2.0, {"gpu:0": 12.5 if name == "train" else 0.75})


def test_fake_meter_joules_reach_the_record_and_the_store(toy_data, toy_exp, store):
    fake = KnownJoules()
    record = run_method("backprop", SETTINGS, toy_exp, store, data=toy_data, meter=fake)
    assert fake.open == []
    energy = record.energy
    assert energy is not None
    assert energy.measured.status == "measured"
    assert energy.measured.method == "fake meter (known joules)"
    assert energy.measured.joules("train") == 12.5
    assert energy.measured.joules("evaluate") == 0.75
    # the estimate is the counts times the table's costs, labelled with the table
    est = energy.estimated[0]
    assert est.model == "cmos45-sram" and "Horowitz" in est.source
    assert energy.counted.m0 == record.ledger.m0 > 0
    assert est.learning_j == pytest.approx(record.ledger.m0 * 10.9e-12, rel=1e-12)
    ops = energy.counted.inference
    assert ops.effective_mac + ops.effective_ac == pytest.approx(record.synops_per_sample)
    assert ops.dense_mac + ops.dense_ac == pytest.approx(record.synops_dense_per_sample)
    # the stored record reads back with the same energy block
    stored = ResultRecord.model_validate(store.get_result(record.run_id))
    assert stored.energy == energy


def test_a_meter_error_mid_run_leaves_the_run_finished_and_unavailable(toy_data, toy_exp, store):
    record = run_method(
        "backprop", SETTINGS, toy_exp, store, data=toy_data, meter=KnownJoules(fail_at="train")
    )
    assert store.get_run(record.run_id).status == "finished"
    measured = record.energy.measured
    assert measured.status == "unavailable" and "meter unplugged" in (measured.reason or "")
    assert measured.joules("train") is None


def test_without_a_meter_the_record_says_unavailable_and_why(toy_data, toy_exp, store):
    exp = dataclasses.replace(toy_exp, meter="off")
    record = run_method("backprop", SETTINGS, exp, store, data=toy_data)
    assert record.energy.measured.status == "unavailable"
    assert record.energy.measured.reason == "switched off (--meter off)"


def test_several_tables_and_a_bad_name(toy_data, toy_exp, store):
    exp = dataclasses.replace(toy_exp, energy_model="cmos45,loihi", meter="off")
    record = run_method("backprop", SETTINGS, exp, store, data=toy_data)
    models = [e.model for e in record.energy.estimated]
    assert models == ["cmos45", "loihi"]
    loihi = record.energy.estimate_named("loihi")
    assert loihi.learning_j == pytest.approx(record.ledger.m0 * 120e-12, rel=1e-12)
    assert loihi.inference_j_per_sample is None  # real-valued inputs: no MAC on Loihi
    # a finished run asked for again with another table is re-estimated, not retrained
    again = dataclasses.replace(exp, energy_model="cmos45-dram")
    done = run_method("backprop", SETTINGS, again, store, data=toy_data, resume=True)
    assert done.run_id == record.run_id
    assert [e.model for e in done.energy.estimated] == ["cmos45-dram"]
    assert done.energy.estimated[0].learning_j == pytest.approx(
        record.ledger.m0 * BUILTIN_TABLES["cmos45-dram"].write_pj * 1e-12
    )
    with pytest.raises(ParameterError, match="unknown energy model 'nope'"):
        run_method(
            "backprop",
            SETTINGS,
            dataclasses.replace(exp, energy_model="nope"),
            store,
            data=toy_data,
        )


def test_a_record_without_energy_still_reads(toy_data, toy_exp, store):
    record = run_method("backprop", SETTINGS, toy_exp, store, data=toy_data)
    old = record.model_dump()
    del old["energy"]  # a record written before the energy part existed
    assert ResultRecord.model_validate(old).energy is None


def test_runs_show_prints_the_methods_and_re_estimates(toy_data, toy_exp, store, tmp_path, cli):
    record = run_method("backprop", SETTINGS, toy_exp, store, data=toy_data, meter=KnownJoules())
    where = str(tmp_path / "runs.sqlite")
    code, out = cli("runs", "show", str(record.run_id), "--store", where)
    assert code == 0, out
    assert "energy: estimated with cmos45-sram (pJ/op: mac 9.6, ac 5.9, write 10.9" in out
    assert "energy: measured by fake meter (known joules)" in out
    code, out = cli("runs", "show", str(record.run_id), "--store", where, "--energy-model", "loihi")
    assert code == 0, out
    assert "estimated with loihi (pJ/op: mac -, ac 23.6, write 120" in out
    assert "cmos45-sram" not in out.split("result")[-1]
    code, out = cli("runs", "show", str(record.run_id), "--store", where, "--energy-model", "x")
    assert code == 2 and "unknown energy model 'x'" in out
