"""What a user sees at the command line, without MNIST: errors, listings, messages."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "backprop", "--set", "lr=nan"], "parameter 'lr' is not a number"),
        (["run", "backprop", "--p", "nan", "--restrict", "top"], "'p' is not a number"),
        (["compare", "--target-accuracy", "nan"], "target accuracy is not a number"),
    ],
)
def test_nan_is_named_not_a_number_in_one_line(cli, args, expected):
    code, out = cli(*args)
    assert code == 2
    assert expected in out
    assert "Traceback" not in out and len(out.strip().splitlines()) == 1


def test_methods_lists_the_allowed_values_of_choice_parameters(cli):
    code, out = cli("methods")
    assert code == 0
    assert "sgd | adam" in out  # backprop's optimizer
    assert "willshaw | covariance | bayes | bcpnn" in out  # memory-capacity's rule


def test_interrupted_message_gives_the_exact_resume_command():
    from neuroplastic.cli import interrupted_message

    line = interrupted_message(["run", "backprop", "--quick", "--set", "lr=0.1"], "SIGTERM")
    assert line == (
        "interrupted (SIGTERM); the run is marked 'interrupted'; resume it with: "
        "neuroplastic run backprop --quick --set lr=0.1 --resume"
    )
    assert interrupted_message(["compare", "--resume"], "").endswith(
        "resume it with: neuroplastic compare --resume"
    )  # --resume not doubled
    assert "Ctrl-C" in interrupted_message(["run", "backprop"], "")
    assert interrupted_message(["data", "fetch", "mnist"], "") == (
        "interrupted (Ctrl-C); rerun with: neuroplastic data fetch mnist"
    )  # a command without --resume
    # a named experiment that does not take --resume (energy) is rerun, one that does resumed
    assert interrupted_message(["run", "energy", "--quick"], "").endswith(
        "rerun with: neuroplastic run energy --quick"
    )
    assert interrupted_message(["run", "spiking-reproduce"], "").endswith(
        "resume it with: neuroplastic run spiking-reproduce --resume"
    )


def test_ctrl_c_prints_one_line_with_the_resume_command(cli, monkeypatch):
    import neuroplastic.runs

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # what Python raises on Ctrl-C

    monkeypatch.setattr(neuroplastic.runs, "run_method", interrupted)
    code, out = cli("run", "backprop", "--quick", "--seed", "3")
    assert code == 130
    lines = out.strip().splitlines()
    assert lines[-1] == (
        "interrupted (Ctrl-C); the run is marked 'interrupted'; resume it with: "
        "neuroplastic run backprop --quick --seed 3 --resume"
    )


@pytest.mark.mnist
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_run_prints_how_to_resume_and_that_command_resumes(env, tmp_path, sig):
    args = ["run", "backprop", "--quick", "--set", "epochs=15", "--eval-every", "500"]
    args += ["--no-progress", "--hidden", "100"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "neuroplastic.cli", *args],
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a child inherits an ignored SIGINT from a shell that started the tests in the
        # background (Python then installs no KeyboardInterrupt handler): restore the default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # the run exists once its id is printed
        if line.startswith("run 1"):
            break
    # interrupt once the first checkpoint exists (a fixed sleep raced a slow start-up)
    checkpoints = Path(env["NEUROPLASTIC_HOME"]) / "checkpoints"
    deadline = time.monotonic() + 300
    while not list(checkpoints.glob("*/run-1.pt")) and time.monotonic() < deadline:
        assert proc.poll() is None, "run finished before it could be interrupted"
        time.sleep(0.05)
    assert proc.poll() is None, "run finished before it could be interrupted"
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130
    name = "SIGTERM" if sig == signal.SIGTERM else "Ctrl-C"
    command = "neuroplastic " + " ".join(args) + " --resume"
    assert stderr.strip().splitlines()[-1] == (
        f"interrupted ({name}); the run is marked 'interrupted'; resume it with: {command}"
    )
    if sig == signal.SIGINT:
        return  # the resume itself is checked once, after SIGTERM
    resumed = subprocess.run(
        [sys.executable, "-m", "neuroplastic.cli", *command.split()[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed run 1" in resumed.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["run", "backprop", "--quick"],
        ["compare", "--quick"],
        ["continual", "--quick"],
        ["run", "energy", "--quick"],
    ],
)
def test_missing_data_dir_is_refused_not_created(cli, tmp_path, command):
    missing = tmp_path / "typo" / "mnist"
    code, out = cli(*command, "--data-dir", str(missing))
    assert code == 2
    assert f"--data-dir {missing} does not exist" in out
    assert f"neuroplastic data fetch mnist --data-dir {missing}" in out
    assert len(out.strip().splitlines()) == 1
    assert not (tmp_path / "typo").exists()  # nothing created, nothing downloaded


def test_missing_data_env_dir_is_refused(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROPLASTIC_DATA", str(tmp_path / "nowhere"))
    code, out = cli("run", "backprop", "--quick")
    assert code == 2 and "$NEUROPLASTIC_DATA" in out and "does not exist" in out
