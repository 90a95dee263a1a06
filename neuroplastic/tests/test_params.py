import pytest

from neuroplastic.errors import ParameterError
from neuroplastic.methods.backprop import BackpropParams
from neuroplastic.methods.random_projection import RandomProjectionParams
from neuroplastic.params import (
    build_params,
    describe_model,
    parse_assignments,
    split_overrides,
    validate_settings,
)


def test_values_are_coerced_and_validated():
    p = build_params(BackpropParams, {"lr": "0.5", "optimizer": "sgd", "init_std": "none"}, "bp")
    assert p.lr == 0.5 and p.optimizer == "sgd" and p.init_std is None


def test_out_of_range_names_parameter_bound_and_value():
    with pytest.raises(ParameterError) as info:
        build_params(BackpropParams, {"lr": "-1"}, "backprop")
    msg = str(info.value)
    assert "backprop" in msg and "'lr'" in msg and "greater than 0" in msg and "-1" in msg


def test_unknown_parameter_lists_known_ones():
    with pytest.raises(ParameterError, match=r"unknown parameter 'lrr'.*known: .*lr"):
        build_params(BackpropParams, {"lrr": "1"}, "backprop")


def test_bad_type_and_choice():
    with pytest.raises(ParameterError, match="'epochs'"):
        build_params(BackpropParams, {"epochs": "many"}, "backprop")
    with pytest.raises(ParameterError, match="'optimizer'"):
        build_params(BackpropParams, {"optimizer": "rmsprop"}, "backprop")


def test_parse_assignments():
    assert parse_assignments(["a=1", " b = x "]) == {"a": "1", "b": "x"}
    with pytest.raises(ParameterError, match="key=value"):
        parse_assignments(["novalue"])


def test_split_overrides_routes_by_field_and_prefix():
    models = {"backprop": BackpropParams, "random-projection": RandomProjectionParams}
    routed = split_overrides({"epochs": "2", "backprop.lr": "0.1", "eta": "0.5"}, models)
    assert routed["backprop"] == {"epochs": "2", "lr": "0.1"}
    assert routed["random-projection"] == {"epochs": "2", "eta": "0.5"}
    with pytest.raises(ParameterError, match="no selected method has a parameter 'zzz'"):
        split_overrides({"zzz": "1"}, models)
    with pytest.raises(ParameterError, match="not one of the selected methods"):
        split_overrides({"other.lr": "1"}, models)


def test_describe_model_shows_bounds():
    rows = {r[0]: r for r in describe_model(BackpropParams)}
    assert "> 0" in rows["lr"][3]


def test_nan_is_named_not_a_number():
    for value in ("nan", "NaN", "-nan", float("nan")):
        with pytest.raises(ParameterError, match="'lr' is not a number"):
            build_params(BackpropParams, {"lr": value}, "backprop")


def test_describe_model_lists_the_values_of_choice_parameters():
    import enum
    from typing import Literal

    from pydantic import BaseModel

    class Colour(enum.Enum):
        RED = "red"
        BLUE = "blue"

    class Choices(BaseModel):
        optimizer: Literal["sgd", "adam"] = "sgd"
        colour: Colour = Colour.RED
        mode: Literal["a", "b"] | None = None
        width: int | None = None

    rows = {r[0]: r for r in describe_model(Choices)}
    assert rows["optimizer"][1] == "sgd | adam"
    assert rows["colour"][1] == "red | blue"
    assert rows["mode"][1] == "a | b | none"
    assert rows["width"][1] == "int | None"
    assert {r[0]: r for r in describe_model(BackpropParams)}["optimizer"][1] == "sgd | adam"


def test_validate_settings_fails_in_one_line_naming_owner_and_field():
    from pydantic import BaseModel, Field

    class Settings(BaseModel):
        shots: list[int] = Field(default_factory=lambda: [1])
        draws: int = Field(1, ge=1)

    assert validate_settings(Settings, {"draws": 3}, "few-shot").draws == 3
    with pytest.raises(ParameterError) as info:
        validate_settings(Settings, {"draws": 0, "shots": [2]}, "few-shot")
    msg = str(info.value)
    assert msg.startswith("few-shot: draws: ") and "greater than or equal to 1" in msg
    assert "\n" not in msg
