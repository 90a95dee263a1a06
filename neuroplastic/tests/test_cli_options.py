"""Shared CLI options: declared once, generated from the parameter models, dotted assignments."""

from __future__ import annotations

import inspect

import pytest
from pydantic import BaseModel

from neuroplastic.cli_options import (
    PLASTICITY,
    TRAINING,
    experiment_assignments,
    method_extra_assignments,
    plasticity_assignments,
    with_options,
)
from neuroplastic.errors import ParameterError
from neuroplastic.experiments.energy_protocol import EnergyParams
from neuroplastic.params import build_params
from neuroplastic.restrict import CacheParams, RestrictParams


def _opts(**given: object) -> dict[str, object]:
    opts: dict[str, object] = {p.name: p.default for p in PLASTICITY}
    opts.update(given)
    return opts


def test_every_restriction_and_cache_field_is_an_option() -> None:
    names = {p.name for p in PLASTICITY}
    assert {f"restrict_{f}" for f in RestrictParams.model_fields} <= names
    assert {f"cache_{f}" for f in CacheParams.model_fields} - names == {"cache_samples_per_apply"}


def test_options_become_dotted_assignments() -> None:
    out = plasticity_assignments(
        _opts(restrict_policy="top", restrict_p="0.1", cache=True, cache_tau="0")
    )
    assert out == {
        "restrict.policy": "top",
        "restrict.p": "0.1",
        "cache.tau": "none",
        "cache.enabled": "true",
    }
    with pytest.raises(ParameterError, match="need --cache"):
        plasticity_assignments(_opts(cache_theta="0.1"))


def test_method_shorthands_and_unknown_extra_options() -> None:
    assert method_extra_assignments(["--p", "0.1", "--k=5"], "compare") == {
        "restrict.p": "0.1",
        "restrict.k": "5",
    }
    with pytest.raises(ParameterError, match="unknown option"):
        method_extra_assignments(["--n", "7"], "method 'backprop'")


class _Outer(BaseModel):
    restrict: RestrictParams = RestrictParams()
    cache: CacheParams | None = None
    lr: float = 0.1


def test_dotted_keys_reach_nested_models_and_flat_experiment_fields() -> None:
    outer = build_params(
        _Outer, {"restrict.p": "0.25", "cache.theta": "0.01", "lr": "0.5"}, "outer"
    )
    assert outer.restrict.p == 0.25 and outer.cache is not None and outer.cache.theta == 0.01
    with pytest.raises(ParameterError, match="'p' must be less than or equal to 1"):
        build_params(_Outer, {"restrict.p": "2"}, "outer")
    with pytest.raises(ParameterError, match="'lr' is not a nested parameter set"):
        build_params(_Outer, {"lr.x": "1"}, "outer")
    energy = build_params(
        EnergyParams,
        {"restrict.policy": "top", "restrict.p": "0.2", "cache.enabled": "true"},
        "energy",
    )
    assert energy.restrict == "top" and energy.p == 0.2 and energy.cache


def test_experiment_assignments_route_refuse_and_let_own_options_win() -> None:
    opts = {**_opts(), "set_": ["n=3"], "hidden": "20", "classes": "1,2", "seed": 4}
    # a shared option the experiment has a parameter for is that parameter
    out = experiment_assignments("x", {"seed"}, {"n", "hidden"}, ["hidden", "seed"], opts, [])
    assert out == {"n": "3", "hidden": "20"}
    # its own --n wins over --set n=...
    out = experiment_assignments("x", {"seed"}, {"n"}, [], opts, ["--n", "9"])
    assert out == {"n": "9"}
    with pytest.raises(ParameterError, match="x does not take --classes"):
        experiment_assignments("x", {"seed"}, {"n"}, ["classes"], opts, [])
    # the energy protocol takes the restriction options, as dotted assignments
    energy = {**opts, "restrict_policy": "top", "restrict_p": "0.1"}
    out = experiment_assignments(
        "energy", {"plasticity"}, {"n"}, ["restrict_policy", "restrict_p"], energy, ["--p", "0.2"]
    )
    assert out == {"n": "3", "restrict.policy": "top", "restrict.p": "0.1", "p": "0.2"}


def test_with_options_adds_the_group_to_the_signature() -> None:
    @with_options(TRAINING)
    def command(name: str, opts: dict[str, object]) -> dict[str, object]:
        return {"name": name, **opts}

    params = inspect.signature(command).parameters
    assert "opts" not in params and "resume" in params and "info" in params
    given = {p.name: p.default for p in TRAINING}
    assert command("x", **given)["name"] == "x"
