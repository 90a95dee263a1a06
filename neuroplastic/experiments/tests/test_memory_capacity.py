"""The memory-capacity named experiments through the CLI (small sizes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neuroplastic.errors import ParameterError
from neuroplastic.experiments.memory_capacity import CurveParams, parse_rules, parse_sizes
from neuroplastic.experiments.registry import available_experiments


def test_registered() -> None:
    names = available_experiments()
    assert "memory-capacity" in names and "memory-capacity-curve" in names


def test_cli_one_point(cli, tmp_path: Path) -> None:
    out = tmp_path / "point.json"
    code, text = cli(
        "run",
        "memory-capacity",
        "--rule",
        "willshaw",
        "--n",
        "128",
        "--k",
        "6",
        "--queries",
        "50",
        "--device",
        "cpu",
        "--seed",
        "1",
        "--json",
        str(out),
    )
    assert code == 0, text
    body = json.loads(out.read_text())
    row = body["result"]
    assert body["run_id"] == 1 and body["code_version"] == body["provenance"]["code_version"]
    assert row["rule"] == "willshaw" and row["n"] == 128 and row["k"] == 6 and row["seed"] == 1
    assert row["capacity_patterns"] > 0 and row["eps"] <= 0.01
    assert row["capacity_bits_per_nonsilent_synapse"] > row["capacity_bits_per_synapse"]
    assert "M_eps" in text


def test_cli_curve_writes_json_and_plot(cli, tmp_path: Path) -> None:
    out = tmp_path / "curve" / "run.json"
    code, text = cli(
        "run",
        "memory-capacity-curve",
        "--ns",
        "64,128",
        "--rules",
        "willshaw,bcpnn",
        "--ane",
        "both",
        "--queries",
        "40",
        "--repeats",
        "2",
        "--iterations",
        "2",
        "--json",
        str(out),
    )
    assert code == 0, text
    body = json.loads(out.read_text())
    assert len(body["rows"]) == 2 * 2 * 2 * 2 and len(body["summary"]) == 8
    assert all(s["seeds"] == 2 for s in body["summary"])
    assert {(r["n"], r["rule"], r["ane"]) for r in body["rows"]} == {
        (n, r, a) for n in (64, 128) for r in ("willshaw", "bcpnn") for a in (False, True)
    }
    assert (tmp_path / "curve" / "memory_capacity_curve.png").stat().st_size > 1000
    beside = json.loads((tmp_path / "curve" / "memory_capacity_curve.json").read_text())
    assert beside["code_version"] == body["code_version"] == body["provenance"]["code_version"]


def test_cli_bad_parameters(cli) -> None:
    code, text = cli("run", "memory-capacity", "--rule", "hebb")
    assert code == 2 and "rule" in text
    code, text = cli("run", "memory-capacity", "--auto", "false", "--iterations", "3")
    assert code == 2 and "iterative" in text
    code, text = cli("run", "memory-capacity-curve", "--ns", "64,x")
    assert code == 2 and "ns" in text


def test_parsers() -> None:
    assert parse_sizes("64, 128") == [64, 128]
    assert parse_rules("bayes,willshaw") == ["bayes", "willshaw"]
    with pytest.raises(ParameterError, match="rules"):
        parse_rules("bayes,hebb")
    with pytest.raises(ParameterError, match="ns"):
        parse_sizes("4")
    with pytest.raises(ValueError):
        CurveParams(ns="")


def test_curve_plot_gives_every_series_its_own_marker(tmp_path: Path, monkeypatch) -> None:
    from neuroplastic.experiments import memory_capacity

    figures = []
    monkeypatch.setattr(
        memory_capacity, "save_figure_atomic", lambda fig, path, dpi: figures.append(fig)
    )
    rows = [
        {
            "rule": rule,
            "ane": ane,
            "activity": activity,
            "n": n,
            "capacity_bits_per_synapse": 0.1 * (i + 1),
            "capacity_bits_per_nonsilent_synapse": 0.2 if rule == "willshaw" else None,
        }
        for i, rule in enumerate(("willshaw", "covariance", "bayes", "bcpnn"))
        for ane in (False, True)
        for activity in ("constant", "binomial")
        for n in (64, 128)
    ]
    memory_capacity.plot_curve(rows, tmp_path / "curve.png", "test")
    (fig,) = figures
    for ax in fig.axes:
        handles, labels = ax.get_legend_handles_labels()
        markers = [getattr(h, "lines", [h])[0].get_marker() for h in handles]
        assert len(handles) == len(labels) > 1
        assert len(set(markers)) == len(markers), list(zip(labels, markers, strict=True))
