"""The spiking reproduction driver: registered, reachable by its old module name, and keyed as
before the move (a run started by the old driver resumes under the new one)."""

from __future__ import annotations

import hashlib
import json
import runpy

import pytest

from neuroplastic.experiments.registry import find_experiment
from neuroplastic.experiments.spiking_reproduce import (
    METHOD,
    SpikingReproduceParams,
    main,
    reproduction_signature,
)
from neuroplastic.runs import method_params


def test_registered_as_named_experiment() -> None:
    named = find_experiment("spiking-reproduce")
    assert named is not None
    assert named.params_model is SpikingReproduceParams


def test_signature_matches_the_formula_of_the_old_driver() -> None:
    params = method_params(METHOD, {"epochs": 100}, quick=False)
    old = hashlib.sha256(
        json.dumps(
            {"params": params.model_dump(mode="json"), "seed": 0, "quick": False},
            sort_keys=True,
        ).encode()
    ).hexdigest()[:16]
    assert reproduction_signature(params, 0, False) == old
    assert reproduction_signature(params, 1, False) != old


def test_old_module_name_forwards_to_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    import neuroplastic.experiments.spiking_reproduce as driver

    seen: list[object] = []
    monkeypatch.setattr(driver, "run", lambda args: seen.append(args) or {"record": {}})
    monkeypatch.setattr("sys.argv", ["reproduce", "--epochs", "2", "--resume"])
    with pytest.raises(KeyError):  # the stubbed payload has no accuracy to print
        runpy.run_module("neuroplastic.spiking.reproduce", run_name="__main__")
    assert len(seen) == 1 and seen[0].epochs == 2 and seen[0].resume  # type: ignore[attr-defined]
    assert main is driver.main


@pytest.mark.mnist
def test_quick_reproduction_writes_the_trend_and_its_figure(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neuroplastic.experiments.spiking_reproduce import main

    monkeypatch.setenv("NEUROPLASTIC_HOME", str(tmp_path / "home"))
    out = tmp_path / "r.json"
    main(["--quick", "--epochs", "1", "--threads", "1", "--out", str(out)])
    payload = json.loads(out.read_text())
    assert [t["epoch"] for t in payload["trend"]] == [1]
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
