"""Sweeps on a real local Ray cluster: a head and two worker nodes on 127.0.0.1.

The sweep runs through the command line (a separate driver process joining with --address).
A worker process is killed with SIGKILL in the middle of a run; with no retries that
configuration fails, and running the same sweep again completes it: every configuration is
then finished exactly once, none is missing, the killed attempt is left ``crashed``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from neuroplastic.store.schema import runs
from neuroplastic.store.sweeps import SweepStore

ray = pytest.importorskip("ray", reason="Ray is not installed (optional extra 'sweep')")

SEEDS = 6


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sweep-home")


@pytest.fixture(scope="module")
def cluster(home: Path) -> Iterator[str]:
    """Head (no CPUs: it only coordinates) + two worker nodes with one CPU each."""
    import ray._private.ray_constants as constants
    from ray.cluster_utils import Cluster

    patch = pytest.MonkeyPatch()
    # every node and driver on 127.0.0.1 (Ray's default is the network interface's address)
    patch.setattr(constants, "ENABLE_RAY_CLUSTER", False)
    patch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    patch.setenv("NEUROPLASTIC_HOME", str(home))  # inherited by the nodes' worker processes
    patch.setenv("OMP_NUM_THREADS", "1")
    patch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 0, "node_ip_address": "127.0.0.1", "include_dashboard": False},
    )
    try:
        for _ in range(2):
            cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
        cluster.wait_for_nodes()
        yield cluster.address
    finally:
        cluster.shutdown()
        patch.undo()


def cli(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "neuroplastic.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def test_a_killed_worker_fails_one_run_and_a_rerun_completes_the_sweep(cluster, home, tmp_path):
    store = tmp_path / "sweep.sqlite"
    spec = tmp_path / "kill.yaml"
    spec.write_text(
        textwrap.dedent(
            f"""
            name: kill-test
            retries: 0
            run: memory-capacity
            seeds: {SEEDS}
            set: {{n: 4096, queries: 100, rule: willshaw}}
            """
        )
    )
    env = {**os.environ, "NEUROPLASTIC_HOME": str(home), "NEUROPLASTIC_STORE": str(store)}
    args = ("sweep", str(spec), "--address", cluster, "--no-progress")
    driver = subprocess.Popen(
        [sys.executable, "-m", "neuroplastic.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    killed = None
    deadline = time.monotonic() + 240
    while killed is None and time.monotonic() < deadline and driver.poll() is None:
        if store.exists():
            with SweepStore(f"sqlite:///{store}") as s, s.engine.connect() as conn:
                row = conn.execute(
                    select(runs.c.id, runs.c.pid).where(runs.c.status == "running")
                ).first()
            if row is not None:
                os.kill(row.pid, signal.SIGKILL)  # the Ray worker process running this run
                killed = row.id
        time.sleep(0.2)
    try:
        out, err = driver.communicate(timeout=300)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert killed is not None, f"no run was seen running: {out}{err}"
    assert driver.returncode == 1, out + err
    assert "1 failed" in out and "worker died" in err

    again = cli(*args, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{SEEDS - 1} already finished, 1 finished now, 0 failed" in again.stdout

    with SweepStore(f"sqlite:///{store}") as s:
        entries = s.entries("kill-test")
        assert sorted(e.config["seed"] for e in entries) == list(range(SEEDS))  # none missing
        assert [e.status for e in entries] == ["finished"] * SEEDS
        assert len({e.run_id for e in entries}) == SEEDS  # no configuration twice
        assert s.get_run(killed).status == "crashed"  # the killed attempt, not finished
        with s.engine.connect() as conn:
            finished = conn.execute(
                select(func.count()).select_from(runs).where(runs.c.status == "finished")
            ).scalar_one()
        assert finished == SEEDS
    third = cli(*args, env=env)
    assert f"{SEEDS} already finished, 0 finished now" in third.stdout


def test_an_unreachable_ray_address_is_one_line_and_a_non_zero_exit(tmp_path):
    env = {**os.environ, "NEUROPLASTIC_HOME": str(tmp_path)}
    done = cli(
        "sweep",
        "--run",
        "memory-capacity",
        "--grid",
        "n=64",
        "--address",
        "127.0.0.1:9",
        "--store",
        str(tmp_path / "s.sqlite"),
        env=env,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "cannot reach Ray at 127.0.0.1:9" in done.stderr


def test_ctrl_c_stops_scheduling_leaves_nothing_half_written_and_a_rerun_resumes(
    cluster, home, tmp_path
):
    store = tmp_path / "stop.sqlite"
    env = {**os.environ, "NEUROPLASTIC_HOME": str(home), "NEUROPLASTIC_STORE": str(store)}
    args = (
        "sweep",
        "--run",
        "memory-capacity",
        "--grid",
        "n=4096",
        "--set",
        "queries=100",
        "--seeds",
        str(SEEDS),
        "--name",
        "stop-test",
        "--address",
        cluster,
        "--no-progress",
    )
    driver = subprocess.Popen(
        [sys.executable, "-m", "neuroplastic.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # a child inherits an ignored SIGINT from a shell that started the tests in the
        # background (Python then installs no KeyboardInterrupt handler): restore the default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    interrupted = False
    deadline = time.monotonic() + 240
    while not interrupted and time.monotonic() < deadline and driver.poll() is None:
        if store.exists():
            with SweepStore(f"sqlite:///{store}") as s, s.engine.connect() as conn:
                running = conn.execute(
                    select(func.count()).select_from(runs).where(runs.c.status == "running")
                ).scalar_one()
            if running:
                driver.send_signal(signal.SIGINT)  # Ctrl-C to the driver only
                interrupted = True
        time.sleep(0.2)
    try:
        out, err = driver.communicate(timeout=300)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert interrupted, out + err
    assert driver.returncode == 130, out + err
    assert "stopping: no new runs" in err
    with SweepStore(f"sqlite:///{store}") as s:
        entries = s.entries("stop-test")
        done = [e for e in entries if e.status == "finished"]
        assert 1 <= len(done) < SEEDS  # the runs in progress finished, the rest was not started
        assert all(e.record is not None for e in done)  # finished rows have their results
        assert {e.status for e in entries} <= {"finished", "pending"}
    again = cli(*args, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{len(done)} already finished, {SEEDS - len(done)} finished now" in again.stdout
