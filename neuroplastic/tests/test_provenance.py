"""The provenance part of a record and the code version label."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

import neuroplastic.version as version_module
from neuroplastic.provenance import Provenance, collect_provenance
from neuroplastic.version import code_version


def test_code_version_label_commit_and_dirty_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    label = code_version().label
    assert isinstance(label, str) and label
    try:
        code_version.cache_clear()
        monkeypatch.setattr(version_module, "_git", lambda args, cwd: None)
        info = code_version()
        assert "+" not in info.label and info.commit is None and info.dirty is None

        code_version.cache_clear()
        answers = {"rev-parse": "abc1234\n", "status": ""}
        monkeypatch.setattr(version_module, "_git", lambda args, cwd: answers[args[0]])
        info = code_version()
        assert info.label.endswith("+abc1234") and info.commit == "abc1234"
        assert info.dirty is False

        code_version.cache_clear()
        answers["status"] = " M neuroplastic/x.py\n"
        info = code_version()
        assert info.label.endswith("+abc1234+dirty") and info.dirty is True
    finally:
        code_version.cache_clear()


def test_git_helper_never_raises(tmp_path: Path) -> None:
    assert version_module._git(["rev-parse", "--short", "HEAD"], tmp_path / "missing") is None


def test_version_needs_no_torch() -> None:
    """``neuroplastic --version`` reads the label from a module that imports nothing heavy."""
    code = (
        "import sys; from neuroplastic.version import code_version; "
        "print(code_version().label); print(sorted({'torch', 'pydantic', 'sqlalchemy'} "
        "& set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    assert out == [code_version().label, "[]"]


def test_cli_version(cli) -> None:
    code, out = cli("--version")
    assert code == 0 and out.strip() == f"neuroplastic {code_version().label}"


def test_times_are_utc_with_the_zone_shown() -> None:
    local = timezone(timedelta(hours=2))
    prov = collect_provenance(
        device="cpu", seed=3, started_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=local)
    ).finished(datetime(2026, 1, 2, 2, 0, 0, tzinfo=timezone.utc))
    dumped = json.loads(prov.model_dump_json())
    assert dumped["started_at"] == "2026-01-02T01:04:05+00:00"
    assert dumped["ended_at"] == "2026-01-02T02:00:00+00:00"
    assert prov.model_dump()["started_at"] == dumped["started_at"]  # python dumps too
    assert Provenance.model_validate(dumped) == prov
    assert dumped["seed"] == 3 and dumped["device"] == "cpu" and dumped["threads"] >= 1


def test_naive_times_are_refused() -> None:
    fields = json.loads(collect_provenance(device="cpu", seed=0).model_dump_json())
    fields["started_at"] = "2026-01-02T01:04:05"
    with pytest.raises(ValidationError, match="timezone"):
        Provenance.model_validate(fields)


def test_cli_version_imports_no_torch() -> None:
    code = (
        "import sys; sys.argv = ['neuroplastic', '--version']\n"
        "import neuroplastic.cli as cli\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules, 'sqlalchemy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    assert out == [f"neuroplastic {code_version().label}", "False False"]
