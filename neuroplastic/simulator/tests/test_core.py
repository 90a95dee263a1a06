"""The simulation abstraction: validation, sync/async updates, is_modified, data."""

from __future__ import annotations

import pytest

from neuroplastic.errors import ParameterError
from neuroplastic.simulator.tests.conftest import AsyncToy, Toy


def test_step_updates_data_and_version(toy: Toy) -> None:
    toy.do_step()  # initialises first
    toy.do_step()
    version, data = toy.snapshot()
    assert toy.steps == 2 and version > 0
    assert data["img"].shape == (4, 4)
    assert data["img"][0, 0] == pytest.approx(0.25)
    assert data["curve"]["t"] == [0.0, 1.0]
    assert data["txt"] == "mean 0.250"


def test_out_of_range_value_is_refused_and_last_valid_kept(toy: Toy) -> None:
    toy.set_value("rate", 0.2)
    with pytest.raises(ParameterError, match=r"'rate'.*less than or equal to 1"):
        toy.set_value("params.rate", 7)
    with pytest.raises(ParameterError, match="'size'"):
        toy.set_value("size", "abc")
    with pytest.raises(ParameterError, match="unknown parameter"):
        toy.set_value("nonsense", 1)
    assert toy.value("rate") == 0.2
    toy.do_step()
    assert toy.p.rate == 0.2


def test_cross_field_check_runs_on_single_values(toy: Toy) -> None:
    with pytest.raises(ParameterError, match="low must not exceed high"):
        toy.set_value("low", 6.0)
    assert toy.value("low") == 0.0


def test_sync_mode_applies_before_the_next_step_and_flags_modified(toy: Toy) -> None:
    toy.do_init()
    toy.set_value("rate", 0.1)
    assert toy.p.rate == 0.5  # waiting
    assert toy.value("rate") == 0.1  # but shown
    toy.do_step()
    toy.do_step()
    assert toy.p.rate == 0.1
    assert toy.seen_modified == [True, False]


def test_async_mode_writes_at_once() -> None:
    sim = AsyncToy()
    sim.do_init()
    sim.set_value("rate", 0.1)
    assert sim.p.rate == 0.1
    assert sim.is_modified("rate") and sim.is_modified("params.rate")
    sim.do_step()
    assert sim.seen_modified == [True] and not sim.is_modified("rate")


def test_button_is_reset_after_the_next_step(toy: Toy) -> None:
    toy.do_init()
    toy.set_value("fire", True)
    toy.do_step()
    toy.do_step()
    assert toy.seen_fire == [True, False]
    assert toy.p.fire is False


def test_load_values_is_all_or_nothing(toy: Toy) -> None:
    good = toy.parameter_values()
    bad = {"params": {**good["params"], "rate": 0.3, "size": 999}}
    with pytest.raises(ParameterError, match="'size'"):
        toy.load_values(bad)
    assert toy.p.rate == 0.5
    with pytest.raises(ParameterError, match="unknown parameter group"):
        toy.load_values({"bogus": {}})
    toy.load_values({"params": {**good["params"], "rate": 0.3}, "run": {"steps_per_frame": 7}})
    assert toy.p.rate == 0.3 and toy.group("run").steps_per_frame == 7


def test_parameter_values_round_trip(toy: Toy) -> None:
    toy.set_value("weights", {"x": 0.5, "y": 0.2})
    values = toy.parameter_values()
    other = Toy(values)
    assert other.p.weights == {"x": 0.5, "y": 0.2}
    assert set(values) == {"params", "run"}
