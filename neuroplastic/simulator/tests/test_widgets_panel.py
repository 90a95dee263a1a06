"""The Panel widgets of every kind, driven as the page drives them (no browser needed)."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("panel")

from neuroplastic.simulator.tests.conftest import Toy
from neuroplastic.simulator.widgets import widget_specs
from neuroplastic.simulator.widgets_panel import ParameterWidget


@pytest.fixture
def widgets() -> tuple[Toy, dict[str, ParameterWidget], list[str]]:
    sim = Toy()
    errors: list[str] = []
    made = {
        spec.key.split(".")[1]: ParameterWidget(spec, sim, errors.append, lambda k, v: None)
        for spec in widget_specs("params", Toy.Params)  # type: ignore[arg-type]
    }
    return sim, made, errors


def test_each_kind_writes_a_checked_value(widgets) -> None:
    sim, w, errors = widgets
    w["rate"].widget.value = 0.3
    w["lr"].widget.value = math.log10(0.2)  # the log slider moves in decades
    w["on"].widget.value = False
    w["mode"].widget.value = "b"
    w["colour"].widget.value = "m"
    w["label"].widget.value = "bye"
    w["free"].widget.value = 9
    w["weights"].key_select.value = "y"
    w["weights"].dict_slider.value = 0.7
    w["fire"].widget.clicks += 1
    assert errors == []
    assert sim.value("rate") == 0.3 and sim.value("lr") == pytest.approx(0.2)
    assert sim.value("on") is False and sim.value("mode") == "b" and sim.value("colour") == "m"
    assert sim.value("label") == "bye" and sim.value("free") == 9
    assert sim.value("weights") == {"x": 0.1, "y": 0.7}
    assert sim.value("fire") is True


def test_a_refused_value_puts_the_widget_back(widgets) -> None:
    sim, w, errors = widgets
    w["free"].widget.value = 0  # below its bound ge=1
    assert len(errors) == 1 and "'free'" in errors[0]
    assert w["free"].widget.value == 3 and sim.value("free") == 3
    w["high"].widget.value = 5.0
    w["low"].widget.value = 8.0  # violates low <= high: a check across fields
    assert "low must not exceed high" in errors[-1]
    assert w["low"].widget.value == 0.0


def test_widgets_follow_values_loaded_elsewhere(widgets) -> None:
    sim, w, _ = widgets
    values = sim.parameter_values()
    values["params"].update(rate=0.9, lr=0.001, weights={"x": 0.4, "y": 0.2})
    sim.load_values(values)
    for widget in w.values():
        widget.refresh()
    assert w["rate"].widget.value == 0.9
    assert w["lr"].widget.value == pytest.approx(-3.0)
    assert w["weights"].dict_slider.value == 0.4
