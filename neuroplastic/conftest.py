"""Fixtures shared by the end-to-end tests that run the CLI (on real MNIST, or without data)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from neuroplastic.data import MNIST_FILES, mnist_dir


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    """Directory of the verified MNIST files; skips the test when they are not fetched."""
    path = mnist_dir()
    if not all((path / name).is_file() for name in MNIST_FILES):
        pytest.skip("MNIST not fetched; run `neuroplastic data fetch mnist`")
    return path


@pytest.fixture
def env(tmp_path: Path, mnist_path: Path) -> dict[str, str]:
    """Environment of a CLI run with its own store and checkpoints under ``tmp_path``."""
    return {
        **os.environ,
        "NEUROPLASTIC_HOME": str(tmp_path / "home"),
        "NEUROPLASTIC_STORE": str(tmp_path / "home" / "runs.sqlite"),
        "NEUROPLASTIC_DATA": str(mnist_path),
    }


def _in_process_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """A caller of ``neuroplastic.cli.main`` in this process: (exit code, stdout, stderr)."""
    from neuroplastic import cli as cli_module

    def call(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["neuroplastic", *args])
        code = 0
        try:
            cli_module.main()
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return code, out.out, out.err

    return call


@pytest.fixture
def run_main(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """Run ``neuroplastic.cli.main`` in this process on MNIST; returns (code, stdout, stderr)."""
    for key in ("NEUROPLASTIC_HOME", "NEUROPLASTIC_STORE", "NEUROPLASTIC_DATA"):
        monkeypatch.setenv(key, env[key])
    return _in_process_cli(monkeypatch, capsys)


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Callable[..., tuple[int, str]]:
    """Run the CLI in this process without MNIST (named experiments, listings, errors);
    returns (exit code, stdout + stderr)."""
    monkeypatch.setenv("NEUROPLASTIC_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NEUROPLASTIC_STORE", str(tmp_path / "home" / "runs.sqlite"))
    call = _in_process_cli(monkeypatch, capsys)

    def joined(*args: str) -> tuple[int, str]:
        code, out, err = call(*args)
        return code, out + err

    return joined
