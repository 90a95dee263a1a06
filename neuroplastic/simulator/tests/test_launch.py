"""Launching a simulation's parameters as a full `neuroplastic run` from the page."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("panel")

from neuroplastic.simulator.app import SimulatorPage
from neuroplastic.store import RunStore


@pytest.mark.mnist
def test_launch_records_a_run_with_the_pages_parameters(tmp_path: Path) -> None:
    store = str(tmp_path / "store.sqlite")
    page = SimulatorPage(store, "restricted-backprop")
    page.sim.set_value("method.lr", 0.05)
    page.sim.set_value("restrict.policy", "top")
    page.sim.set_value("restrict.p", 0.1)
    page.sim.set_value("session.hidden", 32)
    page.sim.set_value("session.classes", "1,2")
    process = page.launch_run(quick=True)
    assert process is not None
    assert process.wait(timeout=300) == 0
    with RunStore(store) as s:
        (run,) = s.list_runs()
        assert run.method == "backprop" and run.status == "finished"
        assert run.params["method"]["lr"] == 0.05
        assert run.params["experiment"]["hidden"] == [32]
        assert run.params["experiment"]["classes"] == [1, 2]
        assert run.params["experiment"]["restrict"]["policy"] == "top"
        assert run.params["experiment"]["restrict"]["p"] == 0.1
    # and the stored run opens in the simulation it came from, with the same values
    page.open_run(run.id)
    assert page.sim.name == "restricted-backprop"
    assert page.sim.value("method.lr") == 0.05 and page.sim.value("restrict.p") == 0.1
    assert page.sim.value("session.hidden") == 32
