"""Tests of the run store on temporary SQLite files.

Set ``NEUROPLASTIC_TEST_POSTGRES_URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5433/np``,
a database the tests may wipe) to run every test that uses the ``store`` fixture against
PostgreSQL as well.
"""

from __future__ import annotations

import math
import os
import select
import signal
import socket
import subprocess
import sys
import textwrap
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from neuroplastic.errors import ParameterError, StoreError
from neuroplastic.store import (
    RUN_STATUSES,
    MetricRow,
    RunInfo,
    RunStore,
    neuroplastic_version,
    params_hash,
)
from neuroplastic.store import run_store as run_store_module
from neuroplastic.store.schema import runs

PARAMS = {"lr": 0.01, "layers": [784, 100, 10], "rule": {"name": "oja", "decay": None}}


def _url(tmp_path: Path, name: str = "runs.sqlite") -> str:
    return f"sqlite:///{tmp_path / name}"


POSTGRES_URL = os.environ.get("NEUROPLASTIC_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        with RunStore(_url(tmp_path)) as s:
            yield s
        return
    from neuroplastic.store.schema import metadata

    with RunStore(POSTGRES_URL) as s:
        metadata.drop_all(s.engine)  # a clean database for every test
        metadata.create_all(s.engine)
        yield s


def _start(store: RunStore, **overrides: Any) -> int:
    kwargs: dict[str, Any] = {
        "method": "hebb",
        "dataset": "mnist",
        "params": PARAMS,
        "seed": 1,
        "device": "cpu",
    }
    kwargs.update(overrides)
    return store.start_run(**kwargs)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --------------------------------------------------------------------------- basics


def test_exports() -> None:
    assert RUN_STATUSES == ("running", "finished", "failed", "interrupted", "crashed", "diverged")
    assert RunInfo.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert MetricRow.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_start_get_finish_round_trip(store: RunStore) -> None:
    run_id = _start(store, code_version="test-1", checkpoint="/tmp/ck.pt")
    info = store.get_run(run_id)
    assert info.id == run_id
    assert (info.method, info.dataset, info.seed, info.device) == ("hebb", "mnist", 1, "cpu")
    assert info.params == PARAMS
    assert info.code_version == "test-1"
    assert info.checkpoint == "/tmp/ck.pt"
    assert info.status == "running"
    assert info.host == socket.gethostname()
    assert info.pid == os.getpid()
    assert info.started_at.tzinfo is not None
    assert info.started_at.utcoffset() == timedelta(0)
    assert info.ended_at is None
    assert info.error is None
    assert info.params_hash == params_hash("hebb", "mnist", PARAMS, 1)

    record = {
        "accuracy": 0.9731,
        "energy": {"updates": 123456789012, "joules": 1.5e-3},
        "curve": [0.1, 0.5, 0.25, -1e300],
        "notes": None,
        "flags": [True, False],
        "name": "réseau ünïcode",
        "nested": {"a": [{"b": [1, 2.5, None]}]},
    }
    store.finish_run(run_id, record)
    done = store.get_run(run_id)
    assert done.status == "finished"
    assert done.ended_at is not None and done.ended_at >= done.started_at
    assert done.ended_at.tzinfo is not None
    assert store.get_result(run_id) == record

    # Finishing again replaces the result rather than failing.
    store.finish_run(run_id, {"accuracy": 0.5})
    assert store.get_result(run_id) == {"accuracy": 0.5}


def test_default_code_version_and_result_none(store: RunStore) -> None:
    run_id = _start(store)
    assert store.get_run(run_id).code_version == neuroplastic_version()
    assert store.get_result(run_id) is None


def test_list_runs_newest_first_and_filters(store: RunStore) -> None:
    a = _start(store, method="hebb")
    b = _start(store, method="backprop")
    c = _start(store, method="hebb")
    store.finish_run(b, {"ok": 1})
    assert [r.id for r in store.list_runs()] == [c, b, a]
    assert [r.id for r in store.list_runs(limit=2)] == [c, b]
    assert [r.id for r in store.list_runs(method="hebb")] == [c, a]
    assert [r.id for r in store.list_runs(status="finished")] == [b]
    assert store.list_runs(method="nope") == []
    assert store.count_runs() == 3
    with pytest.raises(ParameterError):
        store.list_runs(status="exploded")
    with pytest.raises(ParameterError):
        store.list_runs(limit=0)


def test_metrics(store: RunStore) -> None:
    run_id = _start(store)
    other = _start(store)
    store.log_metrics(run_id, 1000, {"accuracy": 0.5, "loss": 1.25})
    store.log_metrics(run_id, 2000, {"accuracy": 0.75, "loss": math.nan, "grad": math.inf})
    store.log_metrics(other, 10, {"accuracy": 0.1})
    store.log_metrics(run_id, 3000, {})  # nothing to log is fine
    rows = store.get_metrics(run_id)
    assert [(r.samples_seen, r.name) for r in rows] == [
        (1000, "accuracy"),
        (1000, "loss"),
        (2000, "accuracy"),
        (2000, "loss"),
        (2000, "grad"),
    ]
    assert all(r.run_id == run_id for r in rows)
    assert rows[0].value == 0.5 and rows[2].value == 0.75
    assert math.isnan(rows[3].value)
    assert rows[4].value == math.inf
    assert all(r.recorded_at.tzinfo is not None for r in rows)
    assert len(store.get_metrics(other)) == 1


def test_sqlite_pragmas(store: RunStore) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 1000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_fail_and_interrupted(store: RunStore) -> None:
    a = _start(store)
    b = _start(store)
    store.fail_run(a, "ValueError: boom")
    store.fail_run(b, "KeyboardInterrupt", status="interrupted")
    ra, rb = store.get_run(a), store.get_run(b)
    assert (ra.status, ra.error) == ("failed", "ValueError: boom")
    assert (rb.status, rb.error) == ("interrupted", "KeyboardInterrupt")
    assert ra.ended_at is not None and rb.ended_at is not None


@pytest.mark.parametrize("status", ["finished", "running", "crashed", "bogus", ""])
def test_fail_run_rejects_invalid_status(store: RunStore, status: str) -> None:
    run_id = _start(store)
    with pytest.raises(ParameterError, match="status"):
        store.fail_run(run_id, "x", status=status)
    assert store.get_run(run_id).status == "running"


def test_unknown_run_id(store: RunStore) -> None:
    with pytest.raises(StoreError, match=r"no run with id 999 in (sqlite|postgresql)"):
        store.get_run(999)
    for call in (
        lambda: store.log_metrics(999, 1, {"a": 1.0}),
        lambda: store.finish_run(999, {}),
        lambda: store.fail_run(999, "x"),
        lambda: store.resume_run(999),
        lambda: store.set_checkpoint(999, "x.pt"),
        lambda: store.get_metrics(999),
        lambda: store.get_result(999),
    ):
        with pytest.raises(StoreError, match="no run with id 999"):
            call()


def test_set_checkpoint(store: RunStore, tmp_path: Path) -> None:
    run_id = _start(store)
    store.set_checkpoint(run_id, tmp_path / "ck.pt")
    assert store.get_run(run_id).checkpoint == str(tmp_path / "ck.pt")
    store.set_checkpoint(run_id, None)
    assert store.get_run(run_id).checkpoint is None


def test_non_json_params_are_rejected_or_converted(store: RunStore, tmp_path: Path) -> None:
    run_id = _start(store, params={"out": tmp_path, "tags": {"b", "a"}})
    assert store.get_run(run_id).params == {"out": str(tmp_path), "tags": ["a", "b"]}
    with pytest.raises(ParameterError):
        _start(store, params={"bad": object()})
    with pytest.raises(ParameterError):
        store.finish_run(run_id, {"bad": object()})


# --------------------------------------------------------------------------- hashing


def test_params_hash() -> None:
    h = params_hash("hebb", "mnist", {"a": 1, "b": [1, 2]}, 0)
    assert len(h) == 64 and int(h, 16) >= 0
    assert h == params_hash("hebb", "mnist", {"b": [1, 2], "a": 1}, 0)
    assert h != params_hash("hebb", "mnist", {"a": 1, "b": [1, 2]}, 1)
    assert h != params_hash("oja", "mnist", {"a": 1, "b": [1, 2]}, 0)
    assert h != params_hash("hebb", "fashion", {"a": 1, "b": [1, 2]}, 0)
    assert h != params_hash("hebb", "mnist", {"a": 2, "b": [1, 2]}, 0)


# --------------------------------------------------------------------------- crashes

CHILD = textwrap.dedent(
    """
    import sys, time
    from neuroplastic.store import RunStore
    store = RunStore(sys.argv[1])
    run_id = store.start_run(method="hebb", dataset="mnist", params={"lr": 0.1},
                             seed=7, device="cpu")
    store.log_metrics(run_id, 100, {"accuracy": 0.25})
    store.log_metrics(run_id, 200, {"accuracy": 0.5})
    print(run_id, flush=True)
    time.sleep(60)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_killed_child_run_is_reported_crashed(store: RunStore, tmp_path: Path) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "child did not start a run"
        line = proc.stdout.readline().decode().strip()
        assert line, proc.stderr.read().decode() if proc.stderr else ""
        run_id = int(line)

        # While the child lives, its run is running and not offered for resuming.
        info = store.get_run(run_id)
        assert info.status == "running" and info.pid == proc.pid
        assert store.find_resumable(info.params_hash) is None
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()

    listed = {r.id: r for r in store.list_runs()}
    crashed = listed[run_id]
    assert crashed.status == "crashed"
    assert crashed.ended_at is not None
    assert crashed.error == (
        f"process {proc.pid} on {socket.gethostname()} ended without finishing (killed or crashed)"
    )
    assert [(m.samples_seen, m.value) for m in store.get_metrics(run_id)] == [
        (100, 0.25),
        (200, 0.5),
    ]
    assert store.mark_crashed() == 0  # already marked

    found = store.find_resumable(params_hash("hebb", "mnist", {"lr": 0.1}, 7))
    assert found is not None and found.id == run_id


def test_mark_crashed_only_this_host_and_dead_pids(store: RunStore) -> None:
    dead = _dead_pid()
    mine = _start(store)  # this process: alive
    gone = _start(store)
    elsewhere = _start(store)
    with store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == gone).values(pid=dead))
        conn.execute(
            update(runs).where(runs.c.id == elsewhere).values(pid=dead, host="elsewhere.invalid")
        )
    assert store.mark_crashed() == 1
    assert store.get_run(mine).status == "running"
    assert store.get_run(gone).status == "crashed"
    assert store.get_run(elsewhere).status == "running"


def test_pid_alive() -> None:
    assert run_store_module._pid_alive(os.getpid())
    assert not run_store_module._pid_alive(_dead_pid())
    if sys.platform != "win32":
        assert run_store_module._pid_alive(1)  # init: exists, maybe not ours


def test_find_resumable_and_resume(store: RunStore) -> None:
    digest = params_hash("hebb", "mnist", PARAMS, 1)
    assert store.find_resumable(digest) is None

    finished = _start(store)
    store.finish_run(finished, {"accuracy": 1.0})
    assert store.find_resumable(digest) is None  # finished runs are not resumable

    crashed = _start(store)
    with store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == crashed).values(pid=_dead_pid()))
    found = store.find_resumable(digest)
    assert found is not None and found.id == crashed and found.status == "crashed"
    assert store.find_resumable(params_hash("hebb", "mnist", PARAMS, 2)) is None

    interrupted = _start(store)
    store.fail_run(interrupted, "KeyboardInterrupt", status="interrupted")
    found = store.find_resumable(digest)
    assert found is not None and found.id == interrupted  # the newest one

    store.resume_run(crashed)
    again = store.get_run(crashed)
    assert again.status == "running" and again.pid == os.getpid()
    assert again.host == socket.gethostname()
    assert again.ended_at is None and again.error is None
    store.resume_run(crashed)  # resuming our own running run again is harmless

    with pytest.raises(StoreError, match="finished"):
        store.resume_run(finished)


def test_resume_refuses_run_alive_elsewhere(store: RunStore) -> None:
    run_id = _start(store)
    with store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(host="elsewhere.invalid"))
    with pytest.raises(StoreError, match="still running"):
        store.resume_run(run_id)


# --------------------------------------------------------------------------- sharing


def test_two_stores_share_one_file(tmp_path: Path) -> None:
    url = _url(tmp_path)
    with RunStore(url) as a, RunStore(url) as b:
        run_id = _start(a)
        assert b.get_run(run_id).status == "running"
        b.log_metrics(run_id, 5, {"x": 2.0})
        assert [m.value for m in a.get_metrics(run_id)] == [2.0]
        b.finish_run(run_id, {"done": True})
        assert a.get_run(run_id).status == "finished"
        assert a.get_result(run_id) == {"done": True}
        other = _start(b)
        assert {r.id for r in a.list_runs()} == {run_id, other}


def test_reopen_keeps_data(tmp_path: Path) -> None:
    url = _url(tmp_path)
    with RunStore(url) as a:
        run_id = _start(a)
        a.finish_run(run_id, {"v": [1, 2]})
    with RunStore(url) as b:
        assert b.get_result(run_id) == {"v": [1, 2]}


def test_default_url_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "deep" / "er" / "store.sqlite"
    monkeypatch.setenv("NEUROPLASTIC_STORE", str(target))
    with RunStore() as s:
        _start(s)
        assert str(target) in s.url
    assert target.is_file()


def test_in_memory_store() -> None:
    with RunStore("sqlite://") as s:
        run_id = _start(s)
        s.finish_run(run_id, {"a": 1})
        assert s.get_result(run_id) == {"a": 1}


# --------------------------------------------------------------------------- failures


def test_unopenable_path_raises_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("I am a file")
    url = f"sqlite:///{blocker / 'runs.sqlite'}"
    with pytest.raises(StoreError, match="cannot open run store") as info:
        RunStore(url)
    assert str(blocker) in str(info.value)


def test_unopenable_file_raises_store_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not an sqlite database" * 100)
    with pytest.raises(StoreError, match="cannot open run store"):
        RunStore(f"sqlite:///{garbage}")


def test_password_is_masked(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        RunStore("postgresql://alice:s3cret@127.0.0.1:1/runs")
    message = str(info.value)
    assert "s3cret" not in message
    assert "alice" in message and "127.0.0.1" in message


def test_bad_url_raises_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open run store"):
        RunStore("nosuchdialect://x/y")
    (tmp_path / "a-file").write_text("")
    with pytest.raises(StoreError, match="cannot open run store"):  # a path under a file
        RunStore(str(tmp_path / "a-file" / "runs.sqlite"))


def test_mask_url_fallback() -> None:
    assert "pw" not in run_store_module._mask_url("weird://user:pw@host/db")


def test_timestamps_are_utc(store: RunStore) -> None:
    run_id = _start(store)
    info = store.get_run(run_id)
    assert info.started_at.tzinfo is not None
    assert info.started_at.astimezone(timezone.utc) == info.started_at


def test_schema_compiles_for_postgresql() -> None:
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex, CreateTable

    from neuroplastic.store.schema import metadata

    dialect = postgresql.dialect()
    for table in metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=dialect))
        assert "CREATE TABLE" in ddl
        for index in table.indexes:
            str(CreateIndex(index).compile(dialect=dialect))
    assert "TIMESTAMP WITH TIME ZONE" in str(
        CreateTable(metadata.tables["runs"]).compile(dialect=dialect)
    )


# --------------------------------------------------------------------------- issue 13


def test_plain_relative_and_absolute_paths_open_a_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEUROPLASTIC_STORE", raising=False)
    with RunStore("study.sqlite") as s:  # relative, new
        s.start_run(method="m", dataset="d", params={}, seed=0, device="cpu")
    with RunStore(str(tmp_path / "study.sqlite")) as s:  # absolute, existing
        assert s.count_runs() == 1
    with RunStore(tmp_path / "other.sqlite") as s:  # a Path
        assert s.count_runs() == 0
    assert (tmp_path / "other.sqlite").is_file()


def test_checkpoints_are_keyed_by_store_and_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEUROPLASTIC_HOME", str(tmp_path / "home"))
    paths_seen = set()
    for name in ("a.sqlite", "b.sqlite", "sub/a.sqlite"):
        with RunStore(str(tmp_path / name)) as s:
            run_id = s.start_run(method="m", dataset="d", params={}, seed=0, device="cpu")
            assert run_id == 1
            path = s.checkpoint_path(run_id)
            assert path.name == "run-1.pt"
            assert str(tmp_path / "home" / "checkpoints") in str(path)
            paths_seen.add(path)
    assert len(paths_seen) == 3


def test_drop_metrics_after_keeps_rows_up_to_the_checkpoint(store: RunStore) -> None:
    run_id = store.start_run(method="m", dataset="d", params={}, seed=0, device="cpu")
    for step in (100, 200, 300):
        store.log_metrics(run_id, step, {"acc": step / 1000})
    assert store.drop_metrics_after(run_id, 200) == 1
    assert [row.samples_seen for row in store.get_metrics(run_id)] == [100, 200]
