"""End-to-end CLI behaviour on real MNIST (quick mode): records, errors, kill -9 and resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from neuroplastic.methods import default_comparison
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
    "ledger",
    "synops_per_sample",
    "wall_s",
    "samples_seen",
]


def cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a separate process (needed where the process gets killed)."""
    return subprocess.run(
        [sys.executable, "-m", "neuroplastic.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_compare_quick_prints_table_and_writes_records(run_main, tmp_path):
    out = tmp_path / "out.json"
    plot = tmp_path / "plot.png"
    code, stdout, stderr = run_main("compare", "--quick", "--json", str(out), "--plot", str(plot))
    assert code == 0, stderr
    assert "backprop" in stdout and "random-projection" in stdout
    assert "run 1: backprop" in stdout  # the id of each run it created
    records = json.loads(out.read_text())
    assert [r["method"] for r in records] == default_comparison()
    for r in records:
        assert all(field in r for field in REQUIRED_FIELDS)
        ResultRecord.model_validate(r)
        assert r["architecture"] == "784-1000-10" and r["quick"]
        assert r["synapses_dense"] == 784 * 1000 + 1000 + 1000 * 10 + 10
        assert r["synapses_total"] <= r["synapses_dense"]
        assert 0.0 <= r["test_accuracy"] <= 1.0
        cost = r["ledger"]
        assert cost["m0"] >= cost["m0_min"] > 0 and cost["m1"] >= cost["m1_min"] > 0
    by_method = {r["method"]: r for r in records}
    bp, rp = by_method["backprop"], by_method["random-projection"]
    assert bp["test_accuracy"] > 0.8 and rp["test_accuracy"] > 0.5  # well above chance (10 %)
    # the local baseline only trains its readout: far fewer writes than backprop
    assert rp["ledger"]["m0"] < bp["ledger"]["m0"] / 5
    assert plot.stat().st_size > 1000
    code, listing, _ = run_main("runs", "list")
    assert listing.count("finished") == len(records)
    code, shown, _ = run_main("runs", "show", "1")
    assert code == 0 and '"method": "backprop"' in shown and "val_accuracy" in shown


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "backprop", "--set", "lr=-1"], ["'lr'", "greater than 0", "-1"]),
        (["run", "backprop", "--set", "optimizer=rmsprop"], ["'optimizer'", "rmsprop"]),
        (["run", "nosuch"], ["unknown method 'nosuch'", "backprop"]),
        (["run", "backprop", "--classes", "1,x"], ["'x'"]),
        (["run", "backprop", "--classes", "3"], ["at least 2"]),
        (["run", "backprop", "--hidden", "0"], ["--hidden"]),
        (["run", "backprop", "--target-accuracy", "1.5"], ["target accuracy", "1.5"]),
        (["compare", "--methods", "backprop", "--set", "eta=1"], ["eta"]),
        (
            ["run", "backprop", "--set", "restrict.policy=top", "--set", "restrict.p=2"],
            ["--restrict", "'p'", "2"],
        ),
        (["run", "backprop", "--p", "0.5"], ["need --restrict POLICY"]),
        (["compare", "--methods", "backprop", "--n", "7"], ["unknown option", "--n"]),
        (["run", "energy", "--set", "restrict.p=2"], ["energy", "'p'", "2"]),
        (["run", "energy", "--hidden", "100"], ["energy does not take --hidden"]),
        (["run", "memory-capacity", "--store", "x.sqlite", "--resume"], ["--resume"]),
        (["runs", "show", "999"], ["no run with id 999"]),
    ],
)
def test_bad_input_fails_in_one_line(run_main, args, expected):
    code, _, stderr = run_main(*args, "--quick") if args[0] != "runs" else run_main(*args)
    assert code == 2, stderr
    assert stderr.startswith("error:") and stderr.count("\n") == 1, stderr
    for text in expected:
        assert text in stderr


def test_corrupt_data_file_is_named(run_main, tmp_path, mnist_path):
    data = tmp_path / "data"
    shutil.copytree(mnist_path, data)
    target = data / "train-labels-idx1-ubyte"
    target.write_bytes(target.read_bytes()[:-100])  # truncated
    code, _, stderr = run_main("run", "backprop", "--quick", "--data-dir", str(data))
    assert code == 2
    assert "train-labels-idx1-ubyte" in stderr and "checksum" in stderr


def test_kill_9_mid_run_is_marked_crashed_and_resumes_with_ledger(env, tmp_path):
    args = ["run", "backprop", "--quick", "--set", "epochs=15", "--eval-every", "500"]
    args += ["--no-progress", "--hidden", "100"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "neuroplastic.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    checkpoints = tmp_path / "home" / "checkpoints"  # one folder per store
    deadline = time.monotonic() + 90
    while (
        not list(checkpoints.glob("*/run-1.pt"))
        and time.monotonic() < deadline
        and proc.poll() is None
    ):
        time.sleep(0.05)
    time.sleep(0.3)
    assert proc.poll() is None, "run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    listing = cli(env, "runs", "list")
    assert "crashed" in listing.stdout

    out = tmp_path / "resumed.json"
    resumed = cli(env, *args, "--resume", "--json", str(out), timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed run 1 at" in resumed.stdout
    (record,) = json.loads(out.read_text())
    assert record["run_id"] == 1
    assert record["samples_seen"] == 15 * 2000
    assert record["epochs_done"] == 15
    assert record["ledger"]["m0"] >= record["ledger"]["m0_min"] > 0
    show = cli(env, "runs", "show", "1")
    assert '"status": "finished"' in show.stdout
    assert not list(checkpoints.rglob("*.pt"))  # a finished run's checkpoint is deleted
