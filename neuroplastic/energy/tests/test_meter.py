"""The meter path: known joules from a fake meter, unavailable with a reason, errors kept."""

from __future__ import annotations

import pytest

from neuroplastic.energy import meter as meter_module
from neuroplastic.energy.meter import (
    EnergyMeter,
    MeterSession,
    WindowEnergy,
    open_meter,
    window_from_parts,
)


class FakeMeter:
    """Reports known joules per window (``joules[name]``), optionally failing at one call."""

    method = "fake meter (test)"

    def __init__(self, joules: dict[str, float], fail_at: str | None = None) -> None:
        self.joules = joules
        self.fail_at = fail_at
        self.calls: list[str] = []

    def begin_window(self, name: str) -> None:
        self.calls.append(f"begin {name}")
        if self.fail_at == f"begin {name}":
            raise OSError("counter vanished")

    def end_window(self, name: str) -> WindowEnergy:
        self.calls.append(f"end {name}")
        if self.fail_at == f"end {name}":
            raise RuntimeError("NVML: GPU is lost")
        return window_from_parts(1.5, {"gpu:0": self.joules[name], "cpu:0": 1.0})


def test_fake_meter_is_an_energy_meter():
    assert isinstance(FakeMeter({}), EnergyMeter)


def test_windows_report_the_meter_joules():
    session = MeterSession(FakeMeter({"train": 40.0, "evaluate": 2.0}))
    with session.window("train"):
        pass
    with session.window("evaluate"):
        pass
    result = session.result()
    assert result.status == "measured" and result.method == "fake meter (test)"
    assert result.joules("train") == 41.0  # gpu 40 + cpu 1
    assert result.windows["evaluate"].parts == {"gpu:0": 2.0, "cpu:0": 1.0}
    assert result.reason is None and "whole device" in (result.scope or "")


def test_no_meter_is_unavailable_with_the_reason_never_zero():
    session = MeterSession(None, "no RAPL here")
    with session.window("train"):
        x = 1
    assert x == 1
    result = session.result()
    assert result.status == "unavailable" and result.reason == "no RAPL here"
    assert result.joules("train") is None and result.windows == {}


@pytest.mark.parametrize("fail_at", ["begin train", "end train", "end evaluate"])
def test_a_meter_error_leaves_the_work_going_and_says_unavailable(fail_at):
    fake = FakeMeter({"train": 40.0, "evaluate": 2.0}, fail_at=fail_at)
    session = MeterSession(fake)
    done = []
    with session.window("train"):
        done.append("train")
    with session.window("evaluate"):
        done.append("evaluate")
    assert done == ["train", "evaluate"]
    result = session.result()
    assert result.status == "unavailable"
    assert result.reason is not None and fail_at.split()[1] in result.reason
    assert ("vanished" in result.reason) or ("GPU is lost" in result.reason)
    assert result.joules("train") is None  # no figure once the meter failed
    if fail_at == "begin train":  # nothing read after the error
        assert fake.calls == ["begin train"]


def test_errors_of_the_work_pass_through():
    session = MeterSession(FakeMeter({"train": 1.0}))
    with pytest.raises(ZeroDivisionError), session.window("train"):
        1 / 0  # noqa: B018
    assert session.result().status == "measured"  # the window was still closed


def test_empty_reading_is_an_error_not_zero():
    with pytest.raises(RuntimeError, match="no energy counter"):
        window_from_parts(1.0, {})


def test_cpu_run_without_rapl_is_refused_before_zeus(monkeypatch, tmp_path):
    monkeypatch.setattr(meter_module, "RAPL_DIR", tmp_path / "intel-rapl")
    session = MeterSession.open("auto", "cpu")
    result = session.result()
    assert result.status == "unavailable" and "RAPL" in (result.reason or "")
    assert "absent" in (result.reason or "")
    off = MeterSession.open("off", "cpu").result()
    assert off.status == "unavailable" and "--meter off" in (off.reason or "")


def test_rapl_present_but_unreadable_is_said(monkeypatch, tmp_path):
    rapl = tmp_path / "intel-rapl"
    (rapl / "intel-rapl:0").mkdir(parents=True)
    counter = rapl / "intel-rapl:0" / "energy_uj"
    counter.write_text("123\n")
    monkeypatch.setattr(meter_module, "RAPL_DIR", rapl)
    assert meter_module.rapl_reason() is None
    counter.chmod(0)
    if meter_module.os.access(counter, meter_module.os.R_OK):  # root reads anything
        pytest.skip("running as root: every file is readable")
    assert "not readable" in (meter_module.rapl_reason() or "")


def test_a_meter_that_fails_to_start_gives_unavailable(monkeypatch):
    def broken(kind: str, device: str) -> EnergyMeter:
        raise RuntimeError("driver mismatch")

    monkeypatch.setattr(meter_module, "open_meter", broken)
    result = MeterSession.open("auto", "cuda:0").result()
    assert result.status == "unavailable" and "driver mismatch" in (result.reason or "")


def test_zeus_on_this_machine_says_why_it_cannot_measure():
    pytest.importorskip("zeus")
    if meter_module.rapl_reason() is None:
        pytest.skip("this machine has RAPL")
    with pytest.raises(meter_module.MeterUnavailable, match="RAPL"):
        meter_module.ZeusMeter([])
    with pytest.raises(meter_module.MeterUnavailable):
        open_meter("auto", "cpu")


class _NoWraparound:
    def get_num_wraparounds(self) -> int:
        return 0


def test_zeus_reads_known_joules_from_a_fake_rapl_tree(tmp_path, monkeypatch):
    """The real Zeus code path (ZeusMonitor, RAPL files) on a counter tree we advance."""
    zeus_rapl = pytest.importorskip("zeus.device.cpu.rapl")
    import zeus.device.cpu as zeus_cpu

    tree = tmp_path / "intel-rapl"
    package = tree / "intel-rapl:0"
    dram = package / "intel-rapl:0:0"
    dram.mkdir(parents=True)
    for zone, name, start in ((package, "package-0", 1_000_000), (dram, "dram", 0)):
        (zone / "name").write_text(f"{name}\n")
        (zone / "energy_uj").write_text(f"{start}\n")
        (zone / "max_energy_range_uj").write_text("262143328850\n")
    monkeypatch.setattr(zeus_rapl, "RAPL_DIR", str(tree))
    monkeypatch.setattr(meter_module, "RAPL_DIR", tree)
    monkeypatch.setattr(zeus_cpu, "_cpus", None)  # Zeus keeps its CPUs in a singleton
    # no polling process for counter wrap-arounds (none happen here)
    monkeypatch.setattr(
        zeus_rapl.RAPLFile, "wraparound_tracker", property(lambda self: _NoWraparound())
    )
    zeus_rapl.rapl_is_available.cache_clear()  # cached: it would remember the real answer
    try:
        session = MeterSession.open("auto", "cpu")
        assert session.meter is not None, session.reason
        with session.window("train"):
            (package / "energy_uj").write_text("13500000\n")  # + 12.5 J
            (dram / "energy_uj").write_text("2000000\n")  # + 2 J
        result = session.result()
    finally:
        zeus_rapl.rapl_is_available.cache_clear()
    assert result.status == "measured"
    assert "zeus" in result.method and "RAPL CPU package 0" in result.method
    assert result.windows["train"].parts == pytest.approx({"cpu:0": 12.5, "dram:0": 2.0})
    assert result.joules("train") == pytest.approx(14.5)
