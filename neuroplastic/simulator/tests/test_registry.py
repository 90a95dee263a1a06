"""Built-in simulations are registered; a user file adds its simulations (the README example)."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuroplastic.errors import ParameterError
from neuroplastic.simulator import available_simulations, get_simulation, load_simulation_file

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "lif_simulation.py"


def test_builtins_cover_the_issue() -> None:
    names = available_simulations()
    for name in ("structural", "restricted-backprop", "memory", "spiking"):
        assert name in names
    assert any(n.startswith("method-") for n in names)  # every other method, no UI code


def test_example_file_loads_and_runs() -> None:
    names = load_simulation_file(EXAMPLE)
    assert names == ["lif"]
    assert load_simulation_file(EXAMPLE) == ["lif"]  # loading twice is harmless
    sim = get_simulation("lif")()
    sim.set_value("current", 2.0)
    for _ in range(200):
        sim.do_step()
    _, data = sim.snapshot()
    assert len(data["v"]["t"]) == 200
    assert int(data["spikes"].split()[0]) > 0


def test_bad_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="not found"):
        load_simulation_file(tmp_path / "missing.py")
    broken = tmp_path / "broken.py"
    broken.write_text("raise ValueError('nope')\n")
    with pytest.raises(ParameterError, match="failed to import: nope"):
        load_simulation_file(broken)
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(ParameterError, match="defines no Simulation"):
        load_simulation_file(empty)


def test_stored_runs_open_in_the_simulation_that_shows_them() -> None:
    from neuroplastic.experiments.capacity_measurement import CapacityConfig
    from neuroplastic.simulator.registry import simulation_for_run

    plain = {"method": {"lr": 0.05}, "experiment": {"hidden": [64], "classes": [1, 2]}}
    assert simulation_for_run("backprop", plain, 3)[0] == "method-backprop"
    restricted = {**plain, "experiment": {**plain["experiment"], "restrict": {"policy": "top"}}}
    name, values = simulation_for_run("backprop", restricted, 3)
    assert name == "restricted-backprop" and values["restrict"]["policy"] == "top"
    assert simulation_for_run("structural", plain, 0)[0] == "structural"

    config = CapacityConfig(rule="bayes", n=256, p10=0.3, iterations=4).model_dump(mode="json")
    name, values = simulation_for_run("memory-capacity", {"experiment": config}, 5)
    assert name == "memory"
    sim = get_simulation("memory")(values)
    assert sim.value("memory.side") == 16 and sim.value("memory.k") == 8  # round(log2 256)
    assert sim.value("rule.rule") == "bayes" and sim.value("retrieval.iterations") == 4
    assert sim.value("memory.query_p10") == 0.3 and sim.value("memory.seed") == 5

    with pytest.raises(ParameterError, match="no simulation shows runs of 'energy'"):
        simulation_for_run("energy", {"experiment": {}}, 0)
    with pytest.raises(ParameterError, match="hidden layers"):
        simulation_for_run("backprop", {"experiment": {"hidden": [10, 10]}}, 0)
