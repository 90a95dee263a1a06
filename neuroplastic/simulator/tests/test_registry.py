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
