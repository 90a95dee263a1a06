"""The one atomic-write helper: a failed or interrupted write leaves the old file and no temp file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from neuroplastic.atomic import atomic_write, write_json_atomic, write_text_atomic
from neuroplastic.checkpoint import load_checkpoint, save_checkpoint
from neuroplastic.results import write_records


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_writes_and_replaces_creating_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "new" / "out.json"
    write_json_atomic(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}
    write_text_atomic(target, "second\n")
    assert target.read_text() == "second\n"
    assert _leftovers(target.parent) == []
    # same permissions as a plain open(): not mkstemp's 0600
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("crash", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_crash_mid_write_keeps_the_old_file_and_leaves_no_temp(
    tmp_path: Path, crash: BaseException
) -> None:
    target = tmp_path / "records.json"
    target.write_text("old content\n")
    with pytest.raises(type(crash)), atomic_write(target) as handle:
        handle.write("half of the new cont")
        raise crash
    assert target.read_text() == "old content\n"
    assert _leftovers(tmp_path) == []


def test_unencodable_json_touches_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("[]\n")
    with pytest.raises(TypeError):
        write_json_atomic(target, {"x": object()})
    assert target.read_text() == "[]\n"
    assert _leftovers(tmp_path) == []


def test_checkpoints_go_through_the_helper(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "run-1.pt"
    save_checkpoint(path, {"signature": "a", "step": 1})

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("no space left on device")

    monkeypatch.setattr("neuroplastic.checkpoint.torch.save", fail)
    with pytest.raises(OSError):
        save_checkpoint(path, {"signature": "a", "step": 2})
    assert load_checkpoint(path, "a")["step"] == 1
    assert _leftovers(tmp_path) == []


def test_records_go_through_the_helper(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "records.json"
    path.write_text("[]\n")

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError):
        write_records(path, [])
    assert path.read_text() == "[]\n"
    assert _leftovers(tmp_path) == []


def test_no_other_module_renames_files_itself() -> None:
    """Every atomic write of the package goes through neuroplastic.atomic (one helper)."""
    package = Path(__file__).resolve().parents[1]
    allowed = {"atomic.py", "fetch.py", "packed_native.py"}  # dataset install, compiled library
    offenders = [
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if "tests" not in p.parts
        and p.name not in allowed
        and ("os.replace(" in p.read_text() or ".replace(path)" in p.read_text())
    ]
    assert offenders == []
