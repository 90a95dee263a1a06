"""The version of the running code: package version, git commit and a dirty flag.

Imports nothing heavy (no torch, no pydantic), so ``neuroplastic --version`` answers at once.
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CodeVersion", "code_version"]


def _git(args: list[str], cwd: Path) -> str | None:
    """Output of a git command, or None if git is missing or the command fails."""
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


@dataclass(frozen=True)
class CodeVersion:
    """The running code: package version label, git commit and whether tracked files changed."""

    label: str
    commit: str | None
    dirty: bool | None


@functools.lru_cache(maxsize=1)
def code_version() -> CodeVersion:
    """The code this process runs, computed once (the code that runs is the code that was loaded).

    ``label`` is ``0.1.0`` for an installed package, ``0.1.0+1a2b3c4`` in a clean git checkout
    and ``0.1.0+1a2b3c4+dirty`` when tracked files have uncommitted changes (untracked files
    do not count). ``commit`` and ``dirty`` are None outside a git checkout. Never raises.
    """
    try:
        from importlib.metadata import PackageNotFoundError, version

        try:
            base = version("neuroplastic")
        except PackageNotFoundError:
            base = "0+unknown"
        package_dir = Path(__file__).resolve().parent.parent
        commit = (_git(["rev-parse", "--short", "HEAD"], package_dir) or "").strip()
        if not commit:
            return CodeVersion(base, None, None)
        status = _git(["status", "--porcelain", "--untracked-files=no"], package_dir)
        dirty = None if status is None else bool(status.strip())
        label = f"{base}+{commit}" + ("+dirty" if dirty else "")
        return CodeVersion(label, commit, dirty)
    except Exception:  # pragma: no cover - a version label must never break a run
        return CodeVersion("0+unknown", None, None)
