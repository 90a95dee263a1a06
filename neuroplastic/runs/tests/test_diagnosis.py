"""The training objective is logged with each evaluation; a run whose objective or weights become
non-finite ends ``diverged``; a run at chance says so (live and in its record)."""

from __future__ import annotations

import io
import math

import pytest
import torch
from rich.console import Console

from neuroplastic.data import DataSplits
from neuroplastic.data.mnist import Split
from neuroplastic.errors import DivergedError
from neuroplastic.methods.backprop import BackpropLearner
from neuroplastic.runs import run_method
from neuroplastic.train import at_chance

SETTINGS = {"epochs": 3, "batch_size": 20}


@pytest.fixture
def toy_exp(toy_exp):
    toy_exp.eval_every = 40
    return toy_exp


def metric_series(store, run_id: int, name: str) -> list[tuple[int, float]]:
    return [(m.samples_seen, m.value) for m in store.get_metrics(run_id) if m.name == name]


@pytest.mark.parametrize(
    ("method", "rate", "objective"),
    [
        ("backprop", {"lr": 0.05}, "train_loss"),
        ("random-projection", {"eta": 0.1}, "readout_sq_error"),
    ],
)
def test_the_training_objective_is_logged_at_each_evaluation(
    method, rate, objective, toy_exp, toy_data, store
):
    record = run_method(method, {**SETTINGS, **rate}, toy_exp, store, data=toy_data)
    losses = metric_series(store, record.run_id or 0, objective)
    evals = metric_series(store, record.run_id or 0, "val_accuracy")
    assert [s for s, _ in losses] == [s for s, _ in evals] == list(range(40, 361, 40))
    assert all(math.isfinite(v) and v >= 0 for _, v in losses)
    assert losses[-1][1] < losses[0][1]  # it learns: the objective falls
    assert record.warnings == []


def break_after(monkeypatch: pytest.MonkeyPatch, batches: int, how: str) -> None:
    """Make backprop's objective (or a weight, written around the door) non-finite in the
    ``batches``-th batch (a later update would itself be refused at the door)."""
    original = BackpropLearner.train_step
    calls = [0]

    def train_step(self: BackpropLearner, x: torch.Tensor, y: torch.Tensor) -> None:
        original(self, x, y)
        calls[0] += 1
        if calls[0] == batches:
            if how == "objective":
                self.report_objective(torch.tensor(float("nan")))
            else:
                self.synapses()[0].w.data[0, 0] = float("inf")

    monkeypatch.setattr(BackpropLearner, "train_step", train_step)


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("objective", "the training objective train_loss became nan by 80 samples"),
        ("weights", "weights of fc1.weight became NaN or infinite by 80 samples"),
    ],
)
def test_a_non_finite_objective_or_weight_ends_the_run_diverged(
    how, expected, toy_exp, toy_data, store, monkeypatch
):
    break_after(monkeypatch, 4, how)  # the 4th batch ends at 80 samples, where it is evaluated
    with pytest.raises(DivergedError, match=expected):
        run_method("backprop", SETTINGS, toy_exp, store, data=toy_data)
    run = store.get_run(1)
    assert run.status == "diverged" and expected in (run.error or "")
    assert store.get_result(1) is None
    if how == "objective":  # the non-finite value itself is kept in the metric rows
        assert [s for s, v in metric_series(store, 1, "train_loss") if math.isnan(v)] == [80]


def test_a_run_at_chance_warns_live_and_in_its_record(toy_exp, store):
    gen = torch.Generator().manual_seed(0)

    def noise(n: int) -> Split:  # labels unrelated to the inputs: nothing can be learned
        return Split(torch.randn(n, 8, generator=gen), torch.randint(0, 3, (n,), generator=gen))

    data = DataSplits(noise(120), noise(300), noise(300), [0, 1, 2], dataset="noise")
    out = io.StringIO()
    console = Console(file=out, width=200)
    record = run_method("backprop", SETTINGS, toy_exp, store, data=data, console=console)
    assert record.run_id == 1
    (warning,) = record.warnings
    assert warning.startswith("test accuracy") and "is at chance" in warning
    printed = " ".join(out.getvalue().split())
    assert "warning: backprop run 1: validation accuracy" in printed  # while it trained
    assert f"warning: backprop run 1: {warning}" in printed  # and at the end
    stored = store.get_result(1)
    assert stored is not None and stored["warnings"] == [warning]


def test_at_chance_bound():
    y = torch.tensor([0] * 60 + [1] * 20 + [2] * 20)  # chance (most frequent) = 60 %
    bound = 0.6 + 3 * math.sqrt(0.6 * 0.4 / 100)  # 74.7 %
    assert at_chance(0.6, y) is not None and at_chance(bound - 1e-9, y) is not None
    assert at_chance(bound + 1e-9, y) is None and at_chance(0.99, y) is None
    assert "60.00% of 100 samples" in (at_chance(0.5, y) or "")


@pytest.mark.mnist
def test_cli_backprop_at_lr_10_warns_instead_of_finishing_silently(run_main):
    args = ["run", "backprop", "--quick", "--hidden", "100", "--no-progress"]
    code, stdout, stderr = run_main(*args, "--set", "lr=10", "--set", "optimizer=sgd")
    assert code == 0, stderr
    assert "run 1: backprop" in stdout
    assert "warning:" in stdout and "at chance" in stdout
    code, shown, _ = run_main("runs", "show", "1")
    assert "warning:" in shown and "at chance" in shown and "train_loss" in shown
    assert '"provenance"' in shown and '"torch"' in shown  # runs show prints the provenance
    code, listing, _ = run_main("runs", "list")
    assert "finished (warning)" in listing
