"""End-to-end CLI behaviour on real MNIST (quick mode): records, errors, kill -9 and resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neuroplastic.data import MNIST_FILES, mnist_dir
from neuroplastic.results import ResultRecord

pytestmark = pytest.mark.mnist

REQUIRED_FIELDS = [
    "method",
    "dataset",
    "classes",
    "architecture",
    "seed",
    "device",
    "test_accuracy",
    "synapses_total",
    "synapses_nonsilent",
    "m0",
    "m1",
    "m1_min",
    "created",
    "pruned",
    "synops_per_sample",
    "wall_s",
    "samples_seen",
]


@pytest.fixture(scope="module")
def mnist_path() -> Path:
    path = mnist_dir()
    if not all((path / name).is_file() for name in MNIST_FILES):
        pytest.skip("MNIST not fetched; run `neuroplastic data fetch mnist`")
    return path


@pytest.fixture
def env(tmp_path: Path, mnist_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "NEUROPLASTIC_HOME": str(tmp_path / "home"),
        "NEUROPLASTIC_STORE": str(tmp_path / "home" / "runs.sqlite"),
        "NEUROPLASTIC_DATA": str(mnist_path),
    }


def cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "neuroplastic.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_compare_quick_prints_table_and_writes_records(env, tmp_path):
    out = tmp_path / "out.json"
    plot = tmp_path / "plot.png"
    proc = cli(env, "compare", "--quick", "--json", str(out), "--plot", str(plot))
    assert proc.returncode == 0, proc.stderr
    assert "backprop" in proc.stdout and "random-projection" in proc.stdout
    records = json.loads(out.read_text())
    assert [r["method"] for r in records] == ["backprop", "random-projection"]
    for r in records:
        assert all(field in r for field in REQUIRED_FIELDS)
        ResultRecord.model_validate(r)
        assert r["architecture"] == "784-1000-10" and r["quick"]
        assert r["synapses_total"] == 784 * 1000 + 1000 + 1000 * 10 + 10
        assert r["test_accuracy"] > 0.5  # well above chance after a quick run
        assert r["m0"] >= r["m0_min"] > 0 and r["m1"] >= r["m1_min"] > 0
    bp, rp = records
    # the local baseline only trains its readout: far fewer writes than backprop
    assert rp["m0"] < bp["m0"] / 5
    assert plot.stat().st_size > 1000
    listing = cli(env, "runs", "list")
    assert listing.stdout.count("finished") == 2


def test_bad_parameter_fails_with_name_bound_and_value(env):
    proc = cli(env, "run", "backprop", "--quick", "--set", "lr=-1")
    assert proc.returncode == 2
    assert "'lr'" in proc.stderr and "greater than 0" in proc.stderr and "-1" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_corrupt_data_file_is_named(env, tmp_path, mnist_path):
    data = tmp_path / "data"
    shutil.copytree(mnist_path, data)
    target = data / "train-labels-idx1-ubyte"
    target.write_bytes(target.read_bytes()[:-100])  # truncated
    proc = cli(env, "run", "backprop", "--quick", "--data-dir", str(data))
    assert proc.returncode == 2
    assert "train-labels-idx1-ubyte" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_kill_9_mid_run_is_marked_crashed_and_resumes_with_ledger(env, tmp_path):
    args = ["run", "backprop", "--quick", "--set", "epochs=25", "--eval-every", "500"]
    args += ["--no-progress", "--hidden", "200"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "neuroplastic.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ckpt = tmp_path / "home" / "checkpoints" / "run-1.pt"
    deadline = time.monotonic() + 90
    while not ckpt.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)
    assert proc.poll() is None, "run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    listing = cli(env, "runs", "list")
    assert "crashed" in listing.stdout

    out = tmp_path / "resumed.json"
    resumed = cli(env, *args, "--resume", "--json", str(out))
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed run 1 at" in resumed.stdout
    (record,) = json.loads(out.read_text())
    assert record["run_id"] == 1
    assert record["samples_seen"] == 25 * 2000
    assert record["epochs_done"] == 25
    assert record["m0"] >= record["m0_min"] > 0
    show = cli(env, "runs", "show", "1")
    assert '"status": "finished"' in show.stdout
