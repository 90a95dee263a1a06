"""Where neuroplastic keeps data, runs and checkpoints.

- datasets: ``$NEUROPLASTIC_DATA``, default the per-user cache dir (``~/.cache/neuroplastic``)
- run store: ``$NEUROPLASTIC_STORE`` (a path or an SQLAlchemy URL), default
  ``<home>/runs.sqlite``
- home (store, checkpoints): ``$NEUROPLASTIC_HOME``, default the per-user data dir
  (``~/.local/share/neuroplastic``)
"""

from __future__ import annotations

import os
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


def home_dir() -> Path:
    """Directory for the run store and checkpoints (``$NEUROPLASTIC_HOME`` or user data dir)."""
    env = os.environ.get("NEUROPLASTIC_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME))


def store_url(override: str | None = None) -> str:
    """SQLAlchemy URL of the run store.

    ``override`` or ``$NEUROPLASTIC_STORE`` may be a URL (``postgresql+psycopg://...``,
    ``sqlite:///...``) or a plain file path, which is taken as an SQLite file.
    """
    value = override or os.environ.get("NEUROPLASTIC_STORE")
    if not value:
        return f"sqlite:///{home_dir() / 'runs.sqlite'}"
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def checkpoint_dir() -> Path:
    """Directory where training checkpoints are written."""
    return home_dir() / "checkpoints"
