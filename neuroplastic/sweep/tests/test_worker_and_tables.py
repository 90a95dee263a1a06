"""A sweep run by its worker in this process (no Ray): store rows, idempotence, exports, aggregates."""

from __future__ import annotations

import csv
import statistics
import struct
from pathlib import Path

import pytest

from neuroplastic.errors import ParameterError, StoreError
from neuroplastic.store.sweeps import SweepStore
from neuroplastic.sweep import tables
from neuroplastic.sweep import worker as worker_module
from neuroplastic.sweep.driver import prepare_entries
from neuroplastic.sweep.spec import grid_sweep
from neuroplastic.sweep.worker import SweepWorker


def small_sweep():
    return grid_sweep("memory-capacity", ["n=64,128", "rule=willshaw"], 2, ["queries=20"], name="t")


def run_all(url: str, sweep) -> SweepWorker:
    worker = SweepWorker(url)
    with SweepStore(url) as store:
        todo, _ = prepare_entries(sweep, store)
    for entry in todo:
        outcome = worker.run(entry.id, entry.config)
        assert outcome["status"] == "finished", outcome
        assert outcome["run_seconds"] <= outcome["seconds"]
    return worker


@pytest.fixture
def done_store(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    run_all(url, small_sweep()).close()
    return url


def test_each_configuration_is_run_once_and_linked_to_its_run(done_store):
    with SweepStore(done_store) as store:
        entries = store.entries("t")
        assert len(entries) == 4
        assert {e.status for e in entries} == {"finished"}
        assert len({e.run_id for e in entries}) == 4
        for e in entries:
            assert store.get_run(e.run_id).status == "finished"
            assert e.record is not None and e.record["experiment"] == "memory-capacity"
            assert e.record["result"]["n"] == e.config["params"]["n"]
        todo, already = prepare_entries(small_sweep(), store)
        assert (todo, already) == ([], 4)
        assert store.count_runs() == 4


def test_a_failure_is_recorded_and_a_claimed_row_is_released_on_the_next_run(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'f.sqlite'}"
    sweep = small_sweep()

    def boom(config, store, output_dir=None):
        raise RuntimeError("disk full\nmore detail")

    worker = SweepWorker(url)
    with SweepStore(url) as store:
        todo, _ = prepare_entries(sweep, store)
        monkeypatch.setattr(worker_module, "execute", boom)
        outcome = worker.run(todo[0].id, todo[0].config)
        assert (outcome["status"], outcome["error"]) == ("failed", "RuntimeError: disk full")
        assert outcome["attempt"] == 1
        failed = store.entries("t")[0]
        assert (failed.status, failed.attempts, failed.error) == (
            "failed",
            1,
            "RuntimeError: disk full",
        )
        store.claim(todo[1].id)  # a driver that died with this row running
        todo_again, already = prepare_entries(sweep, store)
        assert already == 0 and len(todo_again) == 4
        assert {e.status for e in store.entries("t")} == {"pending", "failed"}
    monkeypatch.undo()
    worker.close()
    run_all(url, sweep).close()
    with SweepStore(url) as store:
        entries = store.entries("t")
        assert [e.status for e in entries] == ["finished"] * 4
        assert entries[0].attempts == 2


def test_csv_and_parquet_have_one_row_per_configuration(done_store, tmp_path):
    with SweepStore(done_store) as store:
        rows = tables.sweep_rows(store, "t")
        with pytest.raises(StoreError, match=r"no sweep 'nope'.*sweeps: t"):
            tables.sweep_rows(store, "nope")
    tables.write_csv(rows, tmp_path / "t.csv")
    with (tmp_path / "t.csv").open() as handle:
        read = list(csv.DictReader(handle))
    assert len(read) == 4
    assert {r["param.n"] for r in read} == {"64", "128"}
    assert all(float(r["result.result.capacity_bits_per_synapse"]) > 0 for r in read)
    import pyarrow.parquet as pq

    tables.write_parquet(rows, tmp_path / "t.parquet")
    table = pq.read_table(tmp_path / "t.parquet")
    assert table.num_rows == 4
    assert sorted(table.column("param.n").to_pylist()) == [64, 64, 128, 128]
    assert table.column("result.result.capacity_patterns").to_pylist() == [
        r["result.result.capacity_patterns"] for r in rows
    ]


def read_events(directory: Path) -> list[tuple[str, int, float]]:
    """(tag, step, value) of every scalar in the TFRecord event files of a directory."""
    from tensorboardX.proto.event_pb2 import Event

    out = []
    for path in sorted(directory.glob("events.out.tfevents.*")):
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos : pos + 8])
            event = Event.FromString(data[pos + 12 : pos + 12 + length])
            pos += 12 + length + 4
            for value in event.summary.value:
                out.append((value.tag, event.step, value.simple_value))
    return out


def test_tensorboard_event_files_hold_each_runs_metrics(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    with SweepStore(url) as store:
        todo, _ = prepare_entries(small_sweep(), store)
        for entry in todo:  # a run with metrics over training, as a method logs them
            store.claim(entry.id)
            store.entry_id = entry.id
            run_id = store.start_run(method="x", dataset="d", params={}, seed=0, device="cpu")
            for step in (100, 200, 300):
                store.log_metrics(run_id, step, {"val_accuracy": step / 1000, "m1": step * 2.0})
            store.finish_run(run_id, {"test_accuracy": 0.5, "curve": [{"samples": 7, "acc": 1}]})
        dirs = tables.write_tensorboard(store, "t", tmp_path / "tb")
    assert len(dirs) == 4
    events = read_events(dirs[0])
    assert [(s, v) for t, s, v in events if t == "val_accuracy"] == [
        (100, pytest.approx(0.1)),
        (200, pytest.approx(0.2)),
        (300, pytest.approx(0.3)),
    ]
    assert [(s, v) for t, s, v in events if t == "m1"] == [(100, 200.0), (200, 400.0), (300, 600.0)]
    assert ("result.test_accuracy", 0, 0.5) in events
    assert ("curve/acc", 7, 1.0) in events


def test_compare_gives_mean_sd_and_n_over_seeds(done_store, tmp_path):
    with SweepStore(done_store) as store:
        rows = tables.sweep_rows(store, "t")
    metric = "result.result.capacity_patterns"
    aggs = tables.aggregate(rows, "n", [metric])
    assert [dict(a.group)["param.n"] for a in aggs] == [64, 128]
    for a in aggs:
        values = [r[metric] for r in rows if r["param.n"] == dict(a.group)["param.n"]]
        assert a.n == 2
        assert a.mean == pytest.approx(statistics.fmean(values))
        assert a.sd == pytest.approx(statistics.stdev(values))
    header, body = tables.wide_table(aggs)
    assert header == ["n", "result.capacity_patterns", "seeds"]
    assert [cells[0] for cells in body] == ["64", "128"]
    assert tables.plot_aggregate(aggs, "n", tmp_path / "c.png").stat().st_size > 1000
    with pytest.raises(ParameterError, match="--by 'lr' is not a key"):
        tables.aggregate(rows, "lr", [metric])
    with pytest.raises(ParameterError, match=r"metric 'result\.nope'"):
        tables.aggregate(rows, "n", ["result.nope"])
