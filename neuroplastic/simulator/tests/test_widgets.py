"""Widgets generated from parameter models: kinds, bounds, log scale, units, tooltips."""

from __future__ import annotations

from neuroplastic.simulator.tests.conftest import ToyParams
from neuroplastic.simulator.widgets import widget_specs


def test_every_field_gets_the_widget_its_declaration_asks_for() -> None:
    specs = {s.key: s for s in widget_specs("params", ToyParams)}
    assert specs["params.rate"].kind == "slider"
    assert (specs["params.rate"].start, specs["params.rate"].end) == (0.0, 1.0)
    assert specs["params.rate"].label == "rate [1/step]"
    assert specs["params.rate"].tooltip == "decay per step"
    assert specs["params.lr"].kind == "slider" and specs["params.lr"].log
    assert specs["params.lr"].start is not None and specs["params.lr"].start > 0
    assert specs["params.size"].kind == "slider" and specs["params.size"].integer
    assert specs["params.free"].kind == "number"
    assert specs["params.on"].kind == "checkbox"
    assert specs["params.fire"].kind == "button"
    assert specs["params.mode"].kind == "radio" and specs["params.mode"].options == ("a", "b")
    assert specs["params.colour"].kind == "select" and len(specs["params.colour"].options) == 5
    assert specs["params.weights"].kind == "dict"
    assert specs["params.label"].kind == "text"


def test_hints_declare_widgets_for_fields_a_simulation_does_not_own() -> None:
    hints = {
        "params.rate": {"scale": "log", "soft_min": 1e-3},
        "params.colour": {"widget": "radio"},
    }
    specs = {s.key: s for s in widget_specs("params", ToyParams, hints)}
    assert specs["params.rate"].log and specs["params.rate"].start == 1e-3
    assert specs["params.colour"].kind == "radio"


def test_method_models_generate_widgets() -> None:
    from neuroplastic.methods import get_method

    model = get_method("structural").params_model
    specs = widget_specs("method", model)
    assert len(specs) == len(model.model_fields)
    kinds = {s.key: s.kind for s in specs}
    assert kinds["method.readout"] == "radio"  # 4 choices
    assert kinds["method.competition"] == "select"  # 5 choices (rank since issue 20)
    assert kinds["method.homeostasis"] == "checkbox"
