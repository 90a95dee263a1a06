"""Output destinations (``--json``, ``--plot``): checked before any training, written after.

:func:`check_output_file` runs before a command trains anything, so a destination that can
never be written (an existing directory, a folder without write permission, a parent that is
a file, a device or other non-regular file, a plot format matplotlib cannot write) fails at
once in one line instead of after hours of training. A missing parent folder is not an error:
it is created when the file is written (its nearest existing ancestor must be writable).

:func:`export_records` writes the records and the plot at the end (atomically, see
:mod:`neuroplastic.atomic`); if writing still fails (the disk filled up, a permission changed
meanwhile), it raises one :class:`~neuroplastic.errors.OutputError` that says where the results
are kept: the run store, with the run ids.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from neuroplastic.errors import OutputError

__all__ = ["Destination", "check_output_file", "export_records", "kept_in_store"]


def _why_unwritable(directory: Path) -> str | None:
    """Why no file can be created in ``directory`` (None: one can, as a probe showed)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".neuroplastic-probe-", dir=directory)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    os.close(fd)
    os.unlink(probe)
    return None


def _plot_formats() -> set[str]:
    from matplotlib.backend_bases import FigureCanvasBase

    return set(FigureCanvasBase.get_supported_filetypes())


def check_output_file(path: Path, option: str, *, plot: bool = False) -> None:
    """Raise OutputError (one line naming ``option`` and ``path``) if ``path`` cannot be written.

    With ``plot``, the suffix must also be a format matplotlib writes (``.png``, ``.pdf``, ...).
    Nothing is created: the probe file used to test the folder is removed at once.
    """
    path = Path(path).expanduser()
    if path.exists() or path.is_symlink():
        mode = path.stat().st_mode if path.exists() else 0
        if stat.S_ISDIR(mode):
            raise OutputError(
                f"{option} {path} is a directory; give a file name, e.g. {path / 'results.json'}"
                if not plot
                else f"{option} {path} is a directory; give a file name, e.g. {path / 'plot.png'}"
            )
        if not stat.S_ISREG(mode):
            raise OutputError(f"{option} {path} exists and is not a regular file")
    if plot:
        suffix = path.suffix.lstrip(".").lower()
        formats = _plot_formats()
        if suffix not in formats:
            raise OutputError(
                f"{option} {path}: cannot write a plot as {suffix or 'a file without suffix'!r}; "
                f"use one of .{', .'.join(sorted(formats))}"
            )
    parent = path.parent
    while not parent.exists():  # a missing folder is created on writing: check what exists
        if parent == parent.parent:
            break
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"{option} {path}: {parent} is not a directory")
    why = _why_unwritable(parent)
    if why is not None:
        raise OutputError(f"{option} {path}: cannot write in {parent} ({why})")


def kept_in_store(store_url: str, run_ids: Sequence[int | None]) -> str:
    """Where results are kept, for an error message: the store and the run ids."""
    ids = [str(i) for i in run_ids if i is not None]
    if not ids:
        return f"the store {store_url}"
    runs = "run " + ids[0] if len(ids) == 1 else "runs " + ", ".join(ids)
    return f"the store {store_url} as {runs} (`neuroplastic runs show {ids[0]}`)"


@dataclass(frozen=True)
class Destination:
    """One output: the option that named it, its path, what it holds and how to write it."""

    option: str
    path: Path
    what: str
    write: Callable[[Path], None]


def export_records(
    destinations: Sequence[Destination], kept_in: str, say: Callable[[str], None]
) -> None:
    """Write every destination; report each one written with ``say``.

    Every destination is tried; if any fails, one OutputError names them and says where the
    results are kept (``kept_in``, e.g. :func:`kept_in_store`).
    """
    failed = []
    for dest in destinations:
        try:
            dest.write(dest.path)
        except OSError as exc:
            failed.append(f"{dest.option} {dest.path} ({exc.strerror or exc})")
        else:
            say(f"{dest.what} written to {dest.path}")
    if failed:
        raise OutputError(f"cannot write {'; '.join(failed)}; the results are kept in {kept_in}")
