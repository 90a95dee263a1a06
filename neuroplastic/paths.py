"""Where neuroplastic keeps data, runs and checkpoints.

- datasets: ``$NEUROPLASTIC_DATA``, default the per-user cache dir (``~/.cache/neuroplastic``)
- run store: ``$NEUROPLASTIC_STORE`` (a path or an SQLAlchemy URL), default
  ``<home>/runs.sqlite``
- checkpoints: ``<home>/checkpoints/<store key>/run-<id>.pt`` (one folder per store)
- home (store, checkpoints): ``$NEUROPLASTIC_HOME``, default the per-user data dir
  (``~/.local/share/neuroplastic``)
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import platformdirs

APP_NAME = "neuroplastic"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Directory holding dataset files (``$NEUROPLASTIC_DATA`` or the user cache dir)."""
    if override is not None:
        return Path(override).expanduser()
    env = os.environ.get("NEUROPLASTIC_DATA")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir(APP_NAME))


def check_data_dir(override: str | os.PathLike[str] | None = None) -> None:
    """A data directory the user named (``--data-dir`` or ``$NEUROPLASTIC_DATA``) must exist.

    Training commands never create one: a mistyped path would otherwise start a silent
    download into a new folder. ``neuroplastic data fetch mnist --data-dir PATH`` creates it
    (and says so). Raises :class:`~neuroplastic.errors.DataError` naming the option.
    """
    from neuroplastic.errors import DataError

    named = "--data-dir" if override is not None else "$NEUROPLASTIC_DATA"
    given = override if override is not None else os.environ.get("NEUROPLASTIC_DATA") or None
    if given is None:
        return
    path = Path(given).expanduser()
    if path.is_dir():
        return
    if path.exists():
        raise DataError(f"{named} {path} is not a directory")
    raise DataError(
        f"{named} {path} does not exist; to download MNIST into it, run "
        f"`neuroplastic data fetch mnist --data-dir {path}` (creates it), or fix the path"
    )


def home_dir() -> Path:
    """Directory for the run store and checkpoints (``$NEUROPLASTIC_HOME`` or user data dir)."""
    env = os.environ.get("NEUROPLASTIC_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME))


def store_url(override: str | os.PathLike[str] | None = None) -> str:
    """SQLAlchemy URL of the run store: the one conversion every caller (CLI, library) uses.

    ``override`` or ``$NEUROPLASTIC_STORE`` may be a URL (``postgresql+psycopg://...``,
    ``sqlite:///...``) or a plain file path (relative to the working directory, ``~``
    expanded, new or existing), which is taken as an SQLite file.
    """
    value = (os.fspath(override) if override is not None else "") or os.environ.get(
        "NEUROPLASTIC_STORE"
    )
    if not value:
        return f"sqlite:///{home_dir() / 'runs.sqlite'}"
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def checkpoint_dir() -> Path:
    """Directory where training checkpoints are written."""
    return home_dir() / "checkpoints"


def store_key(url: str) -> str:
    """A short file-name-safe key of a store URL: ``<database name>-<12 hex of SHA-256(url)>``.

    Two stores never share a key (up to a 48-bit hash collision), so run 1 of one store and
    run 1 of another get different checkpoint files.
    """
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(url.rsplit("/", 1)[-1]).stem)[:40] or "store"
    return f"{stem}-{digest}"


def checkpoint_path(url: str, run_id: int) -> Path:
    """Checkpoint file of run ``run_id`` of the store at ``url``.

    ``<home>/checkpoints/<store key>/run-<id>.pt``: keyed by store and run, so no run ever
    overwrites another's checkpoint.
    """
    return checkpoint_dir() / store_key(url) / f"run-{run_id}.pt"
