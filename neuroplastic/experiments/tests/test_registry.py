"""The named-experiment registry and its ``neuroplastic run NAME --key value`` dispatch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field
from rich.table import Table

from neuroplastic.errors import ParameterError
from neuroplastic.experiments import registry
from neuroplastic.experiments.registry import (
    ExperimentContext,
    ExperimentOutput,
    available_experiments,
    find_experiment,
    register_experiment,
)
from neuroplastic.params import options_to_assignments


class EchoParams(BaseModel):
    """Parameters of a test experiment."""

    model_config = ConfigDict(extra="forbid")
    n: int = Field(10, ge=1, description="a size")
    rule: str = Field("willshaw", description="a name")
    clamp: bool = Field(False, description="a flag")
    k: int = Field(1, ge=1, description="spelled like the restriction's --k")
    hidden: str = Field("none", description="spelled like the methods' --hidden")
    fail: bool = Field(False, description="raise instead of returning")


@pytest.fixture
def echo_experiment() -> Iterator[str]:
    name = "test-echo"

    @register_experiment(name, EchoParams, "echoes its parameters")
    def run_echo(params: EchoParams, ctx: ExperimentContext) -> ExperimentOutput:
        if params.fail:
            raise RuntimeError("asked to fail")
        table = Table(title="echo")
        table.add_column("n")
        table.add_row(str(params.n))
        return ExperimentOutput(
            payload={**params.model_dump(), "seed": ctx.seed},
            tables=[table],
            headline=f"n={params.n}",
        )

    yield name
    registry.EXPERIMENTS._entries.pop(name)


def test_options_become_assignments() -> None:
    args = ["--n", "4096", "--rule=bayes", "--self-connections", "--k", "12"]
    assert options_to_assignments(args) == {
        "n": "4096",
        "rule": "bayes",
        "self_connections": "true",
        "k": "12",
    }
    with pytest.raises(ParameterError, match="unexpected argument"):
        options_to_assignments(["4096"])


def test_registry_lookup(echo_experiment: str) -> None:
    assert echo_experiment in available_experiments()
    found = find_experiment(echo_experiment)
    assert found is not None and found.params_model is EchoParams
    assert find_experiment("no-such-experiment") is None
    with pytest.raises(ParameterError, match="already registered"):
        register_experiment(echo_experiment, EchoParams, "again")(lambda p, c: ExperimentOutput({}))


def test_cli_runs_named_experiment(echo_experiment: str, cli, tmp_path: Path) -> None:
    out = tmp_path / "echo.json"
    code, text = cli(
        "run",
        echo_experiment,
        "--n",
        "7",
        "--set",
        "rule=bcpnn",
        "--clamp",
        "--seed",
        "3",
        "--json",
        str(out),
    )
    assert code == 0, text
    body = json.loads(out.read_text())
    assert {k: body[k] for k in ("n", "rule", "clamp", "seed")} == {
        "n": 7,
        "rule": "bcpnn",
        "clamp": True,
        "seed": 3,
    }
    # recorded like a method run, and its JSON says which code made it
    assert body["run_id"] == 1 and body["code_version"] == body["provenance"]["code_version"]
    assert body["provenance"]["seed"] == 3 and "run" in body["provenance"]["command"]
    code, listing = cli("runs", "list")
    assert code == 0 and "test-echo" in listing and "finished" in listing and "n=7" in listing
    code, shown = cli("runs", "show", "1")
    assert code == 0 and '"experiment"' in shown and '"rule": "bcpnn"' in shown


def test_named_experiment_refuses_shared_options_it_does_not_take(
    echo_experiment: str, cli
) -> None:
    code, text = cli(
        "run", echo_experiment, "--classes", "1,2", "--resume", "--target-accuracy", "0.5"
    )
    assert code == 2
    assert "test-echo does not take --classes, --target-accuracy, --resume" in text
    code, text = cli("run", echo_experiment, "--restrict", "top")
    assert code == 2 and "does not take --restrict" in text
    code, listing = cli("runs", "list")
    assert "test-echo" not in listing  # refused before anything was recorded


def test_experiment_parameters_are_not_shadowed_by_shared_options(
    echo_experiment: str, cli, tmp_path: Path
) -> None:
    """``--k`` is the experiment's own k (not the restriction's), ``--hidden`` its own hidden."""
    out = tmp_path / "echo.json"
    code, text = cli("run", echo_experiment, "--k", "5", "--hidden", "20", "--json", str(out))
    assert code == 0, text
    body = json.loads(out.read_text())
    assert body["k"] == 5 and body["hidden"] == "20"


def test_a_failing_experiment_is_recorded_as_failed(echo_experiment: str, cli) -> None:
    with pytest.raises(RuntimeError, match="asked to fail"):
        cli("run", echo_experiment, "--fail")
    _, listing = cli("runs", "list")
    assert "test-echo" in listing and "failed" in listing


def test_cli_named_experiment_bad_parameter(echo_experiment: str, cli) -> None:
    code, text = cli("run", echo_experiment, "--n", "0")
    assert code == 2 and "greater than or equal to 1" in text
    code, text = cli("run", echo_experiment, "--colour", "red")
    assert code == 2 and "unknown parameter 'colour'" in text


def test_cli_method_rejects_unknown_option(cli) -> None:
    code, text = cli("run", "backprop", "--n", "7")
    assert code == 2 and "unknown option" in text


def test_methods_lists_experiments(echo_experiment: str, cli) -> None:
    code, text = cli("methods")
    assert code == 0 and "experiment test-echo" in text and "method backprop" in text
