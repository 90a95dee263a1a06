"""Run lifecycle: --resume skips finished runs and never stores a metric row twice."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch

from neuroplastic.data import DataSplits, Split
from neuroplastic.runs import Experiment, compare, run_method
from neuroplastic.store import RunStore

N_FEATURES, N_CLASSES = 10, 4


def _split(n: int, seed: int) -> Split:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, N_CLASSES, (n,), generator=g)
    centers = torch.rand(N_CLASSES, N_FEATURES, generator=torch.Generator().manual_seed(99))
    x = centers[y] + 0.1 * torch.randn(n, N_FEATURES, generator=g)
    return Split(x, y)


def _data() -> DataSplits:
    return DataSplits(_split(120, 0), _split(40, 1), _split(40, 2), list(range(N_CLASSES)))


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunStore:
    monkeypatch.setenv("NEUROPLASTIC_HOME", str(tmp_path))
    with RunStore(tmp_path / "runs.sqlite") as opened:
        yield opened


def _exp(eval_every: int = 0) -> Experiment:
    return Experiment(hidden=[8], device="cpu", progress=False, eval_every=eval_every)


FAST = {"epochs": 2, "batch_size": 20}


def test_compare_resume_does_not_retrain_finished_methods(store: RunStore) -> None:
    methods = ["backprop", "random-projection"]
    overrides = {name: dict(FAST) for name in methods}
    first = compare(methods, overrides, _exp(), store, data=_data())
    assert store.count_runs() == 2
    again = compare(methods, overrides, _exp(), store, data=_data(), resume=True)
    assert store.count_runs() == 2  # nothing trained again, no duplicate records
    assert [r.run_id for r in again] == [r.run_id for r in first]
    assert [r.test_accuracy for r in again] == [r.test_accuracy for r in first]
    # a method added to the comparison is trained; the finished ones still are not
    overrides["nonneg-backprop"] = dict(FAST)
    compare([*methods, "nonneg-backprop"], overrides, _exp(), store, data=_data(), resume=True)
    assert store.count_runs() == 3


def test_a_resumed_run_stores_each_metric_row_once(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attempt dies after logging an evaluation but before its checkpoint is written (as
    kill -9 can); the resumed attempt evaluates that point again: it must be stored once."""
    logged = 0
    original = RunStore.log_metrics

    def log_then_die(self: RunStore, run_id: int, samples: int, metrics: dict) -> None:
        nonlocal logged
        original(self, run_id, samples, metrics)
        logged += 1
        if logged == 3:
            raise KeyboardInterrupt("killed")

    monkeypatch.setattr(RunStore, "log_metrics", log_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_method("backprop", dict(FAST), _exp(eval_every=40), store, data=_data())
    monkeypatch.setattr(RunStore, "log_metrics", original)
    record = run_method(
        "backprop", dict(FAST), _exp(eval_every=40), store, data=_data(), resume=True
    )
    assert record.run_id == 1 and store.count_runs() == 1
    rows = Counter((m.samples_seen, m.name) for m in store.get_metrics(1))
    assert rows and max(rows.values()) == 1, rows
    assert sorted({s for s, _ in rows}) == [40, 80, 120, 160, 200, 240]
