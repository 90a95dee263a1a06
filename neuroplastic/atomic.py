"""Atomic file writes: nobody ever sees a half-written file under its final name.

Every file the toolkit writes for a user (JSON records and results, checkpoints, plots) goes
through :func:`atomic_write`: the content is written to a temporary file in the target's own
directory (same file system, so the rename is atomic), flushed and ``fsync``-ed, then renamed
over the target with :func:`os.replace` (atomic on POSIX and Windows). If writing fails or is
interrupted (an exception, Ctrl-C), the temporary file is removed and the previous file, if
any, is left exactly as it was. Only a hard kill mid-write can leave a ``.<name>.*.tmp`` behind,
never a truncated target.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "save_figure_atomic", "write_json_atomic", "write_text_atomic"]


@functools.lru_cache(maxsize=1)
def _file_mode() -> int:
    """Permissions a plain ``open(path, "w")`` would give (0666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``.

    ``mode`` is ``"w"`` (text, UTF-8) or ``"wb"`` (bytes). The parent directory is created.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', not {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _file_mode())  # mkstemp creates 0600
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write(path) as handle:
        handle.write(text)


def write_json_atomic(
    path: str | os.PathLike[str],
    value: Any,
    *,
    default: Callable[[Any], Any] | None = None,
) -> None:
    """Write ``value`` as indented JSON (with a final newline) to ``path`` atomically.

    The JSON text is built before the file is opened, so a value that cannot be encoded
    raises without touching the file system.
    """
    write_text_atomic(path, json.dumps(value, indent=2, default=default) + "\n")


def save_figure_atomic(figure: Any, path: str | os.PathLike[str], **savefig: Any) -> None:
    """Save a matplotlib ``figure`` to ``path`` atomically, in the format its suffix names."""
    fmt = Path(path).suffix.lstrip(".").lower() or None
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format=fmt, **savefig)
