"""The equal-budget contest: cell settings, mean ± sd and verdicts by hand, and a tiny contest
end to end (table, plots, budgets respected, finished cells reused with --resume)."""

import json
import math
import statistics

import pytest

from neuroplastic.errors import ParameterError
from neuroplastic.experiments.equal_budget import (
    EqualBudgetParams,
    cell_settings,
    summarise,
    verdicts,
)
from neuroplastic.params import build_params


def test_cell_settings_at_the_tabled_budgets():
    s = cell_settings("structural", 10_000)
    assert (s.method, s.hidden, s.overrides["budget"]) == ("structural", 700, 4)
    assert s.overrides == {"budget": 4}  # the rule's ten-class defaults otherwise
    # structural synapses h (k + 11) + 10 land near each budget
    for budget in (10_000, 25_000, 80_000):
        c = cell_settings("structural", budget)
        assert abs(c.hidden * (c.overrides["budget"] + 11) + 10 - budget) / budget < 0.06
    n = cell_settings("narrow-backprop", 25_000)
    assert (n.method, n.hidden, n.overrides) == ("backprop", 31, {})  # 795·31 + 10 = 24,655
    p = cell_settings("pruned-backprop", 80_000)
    assert (p.method, p.hidden, p.overrides) == (
        "pruned-backprop",
        1000,
        {"epochs": 10, "budget": 80_000},
    )
    t = cell_settings("set", 10_000)
    assert (t.method, t.hidden, t.overrides) == ("set-sparse", 1000, {"budget": 10_000})


def test_cell_settings_elsewhere_and_in_quick_mode():
    # 2,000: nearest tabled budget 10k gives k = 4, so h = round(1990 / 15) = 133
    s = cell_settings("structural", 2000)
    assert (s.hidden, s.overrides["budget"]) == (133, 4)
    assert cell_settings("narrow-backprop", 300).hidden == 1  # never zero units
    q = cell_settings("structural", 10_000, quick=True)
    assert "epochs" not in q.overrides and "prune_epoch" not in q.overrides
    assert "epochs" not in cell_settings("pruned-backprop", 10_000, quick=True).overrides
    with pytest.raises(ParameterError, match="families"):
        cell_settings("dropout", 10_000)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("budgets", "10000,abc", "budgets"),
        ("budgets", "50", "budgets"),
        ("seeds", "0,0", "seeds"),
        ("families", "structural,magic", "families"),
    ],
)
def test_bad_lists_are_refused_in_one_line(key, value, message):
    with pytest.raises(ParameterError, match=message):
        build_params(EqualBudgetParams, {key: value}, "equal-budget")


def _row(family, budget, seed, acc, syn=1000, m1=10.0):
    return {
        "family": family,
        "budget": budget,
        "seed": seed,
        "test_accuracy": acc,
        "synapses_nonsilent": syn,
        "m1": m1,
    }


def test_summary_and_verdicts_by_hand():
    cells = [
        _row("structural", 10_000, 0, 0.95),
        _row("structural", 10_000, 1, 0.96),
        _row("structural", 10_000, 2, 0.97),
        _row("set", 10_000, 0, 0.90),
        _row("set", 10_000, 1, 0.90),
        _row("set", 10_000, 2, 0.93),
        _row("narrow-backprop", 10_000, 0, 0.955),
        _row("narrow-backprop", 10_000, 1, 0.965),
        _row("narrow-backprop", 10_000, 2, 0.975),
    ]
    summary = {s["family"]: s for s in summarise(cells)}
    rule = summary["structural"]
    assert math.isclose(rule["test_accuracy_mean"], 0.96)
    assert math.isclose(rule["test_accuracy_sd"], 0.01)  # sample sd (n − 1)
    assert math.isclose(summary["set"]["test_accuracy_sd"], statistics.stdev([0.9, 0.9, 0.93]))
    assert rule["seeds"] == [0, 1, 2]
    v = {r["baseline"]: r for r in verdicts(list(summary.values()))}
    # vs SET: d = 96 − 91 = 5 points > max sd (1.73 points): the rule wins
    assert math.isclose(v["set"]["difference_points"], 5.0)
    assert math.isclose(v["set"]["max_sd_points"], 100 * statistics.stdev([0.9, 0.9, 0.93]))
    assert v["set"]["rule_wins"] is True and v["set"]["shortfall_points"] == 0
    # vs narrow backprop: d = −0.5 points: no win, short by 0.5
    assert math.isclose(v["narrow-backprop"]["difference_points"], -0.5)
    assert v["narrow-backprop"]["rule_wins"] is False
    assert math.isclose(v["narrow-backprop"]["shortfall_points"], 0.5)


def test_one_seed_decides_nothing():
    summary = summarise([_row("structural", 10_000, 0, 0.99), _row("set", 10_000, 0, 0.5)])
    (v,) = verdicts(summary)
    assert v["max_sd_points"] is None and v["rule_wins"] is None


# (fixtures `env` and `run_main` come from neuroplastic/conftest.py)
def test_a_tiny_contest_end_to_end(run_main, tmp_path, monkeypatch):
    from neuroplastic.runs import data as run_data

    # a few hundred samples: the machinery, not the contest
    monkeypatch.setattr(run_data, "QUICK_TRAIN", 300)
    monkeypatch.setattr(run_data, "QUICK_VAL", 100)
    monkeypatch.setattr(run_data, "QUICK_TEST", 200)
    out = tmp_path / "contest" / "eb.json"
    args = ["run", "equal-budget", "--quick", "--budgets", "2000,5000", "--seeds", "0,1"]
    code, stdout, stderr = run_main(*args, "--json", str(out), "--no-progress")
    assert code == 0, stderr
    doc = json.loads(out.read_text())
    cells = doc["cells"]
    assert len(cells) == 2 * 2 * 4  # budgets × seeds × families
    for c in cells:
        syn, budget = c["synapses_nonsilent"], c["budget"]
        if c["family"] in ("pruned-backprop", "set"):
            assert syn == budget + 1010  # the weight budget exactly, plus 1,010 biases
        elif c["family"] == "narrow-backprop":
            assert abs(syn - budget) <= 795 // 2 + 10
        else:  # structural: at most h (k + 11) + 10, near the budget
            h = cell_settings("structural", budget).hidden
            assert syn <= h * (10 + 11) + 10
    table = json.loads((out.parent / "equal_budget_table.json").read_text())
    assert {(s["family"], s["budget"]) for s in table["summary"]} == {
        (f, b)
        for f in ("structural", "narrow-backprop", "pruned-backprop", "set")
        for b in (2000, 5000)
    }
    assert all(s["seeds"] == [0, 1] and s["test_accuracy_sd"] is not None for s in table["summary"])
    assert len(table["verdicts"]) == 2 * 3  # budgets × baselines
    markdown = (out.parent / "equal_budget_table.md").read_text()
    assert markdown.count("| ~2,000 |") == 1 + 3 and markdown.count("| ~5,000 |") == 1 + 3
    for name in ("synapses", "energy"):
        png = out.parent / f"equal_budget_{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "structural wins" in doc["headline"]
    # --resume: every cell is finished in the store, so nothing is trained again
    code, listing, _ = run_main("runs", "list", "--limit", "200")
    trained = listing.count("finished")
    code, stdout, stderr = run_main(*args, "--json", str(out), "--no-progress", "--resume")
    assert code == 0, stderr
    assert stdout.count("already finished") == 16
    again = json.loads(out.read_text())
    assert [c["run_id"] for c in again["cells"]] == [c["run_id"] for c in cells]
    code, listing, _ = run_main("runs", "list", "--limit", "200")
    assert listing.count("finished") == trained + 1  # only the contest run itself is new
    # --collect trains nothing: the finished cells are gathered, the others listed as missing
    code, stdout, stderr = run_main(
        "run",
        "equal-budget",
        "--quick",
        "--budgets",
        "2000",
        "--seeds",
        "1,7",
        "--collect",
        "true",
        "--json",
        str(out),
        "--no-progress",
    )
    assert code == 0, stderr
    partial = json.loads(out.read_text())
    assert {(c["seed"], c["budget"]) for c in partial["cells"]} == {(1, 2000)}
    assert len(partial["cells"]) == 4
    assert sorted(m["family"] for m in partial["missing"]) == sorted(
        ["structural", "narrow-backprop", "pruned-backprop", "set"]
    )
    assert {m["seed"] for m in partial["missing"]} == {7}
    assert "4 cells missing" in partial["headline"]
    code, listing, _ = run_main("runs", "list", "--limit", "200")
    assert listing.count("finished") == trained + 2  # the collecting run only


def test_a_cell_killed_before_its_first_checkpoint_starts_anew(monkeypatch):
    """--resume: a cell whose unfinished run has no checkpoint is trained anew (with a warning)
    instead of stopping the whole contest; a finished cell is reused without training."""
    from types import SimpleNamespace

    from rich.console import Console

    from neuroplastic.errors import CheckpointError
    from neuroplastic.experiments import equal_budget as eb

    calls: list[bool] = []

    def fake_run_method(name, overrides, exp, store, data=None, resume=False, console=None):
        calls.append(resume)
        if resume:
            raise CheckpointError("cannot resume structural run 38 (crashed): no checkpoint")
        return "record"

    finished: list[object] = [None]
    monkeypatch.setattr(eb, "run_method", fake_run_method)
    monkeypatch.setattr(eb, "find_finished", lambda *a: finished[0])
    console = Console(record=True, width=200)
    ctx = SimpleNamespace(store=object(), resume=True, console=console)
    cell = eb.cell_settings("structural", 10_000)
    assert eb._train_cell(cell, None, ctx, None) == "record"
    assert calls == [True, False]
    assert "no checkpoint; this cell starts anew" in console.export_text()
    finished[0] = stored = SimpleNamespace(run_id=5)  # now finished: reused, nothing trained
    assert eb._train_cell(cell, None, ctx, None) is stored and calls == [True, False]
    ctx.resume = False  # without --resume a refused checkpoint cannot occur; errors propagate
    monkeypatch.setattr(
        eb, "run_method", lambda *a, **k: (_ for _ in ()).throw(CheckpointError("x"))
    )
    with pytest.raises(CheckpointError):
        eb._train_cell(cell, None, ctx, None)
