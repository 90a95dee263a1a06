"""Provenance: which code, on which software and machine, from which command, and when.

Every result record (and so every ``--json`` file and every stored result) carries a
:class:`Provenance`, so a number found months later says how it was made:

- ``code_version`` (``0.1.0+1a2b3c4``), ``code_commit`` and ``code_dirty`` (tracked files
  changed since that commit; ``None`` when the code does not run from a git checkout);
- ``python``, ``torch``, ``numpy`` versions and the ``platform``;
- ``device`` (``cpu``, ``cuda:0``; ``device_name`` for a GPU) and ``threads``
  (``torch.get_num_threads()``: intra-op CPU threads);
- ``host`` name, ``command`` (the process's ``sys.argv``), ``seed``;
- ``started_at`` / ``ended_at``: timezone-aware UTC, written as ISO 8601 with the zone shown
  (``2026-12-02T01:26:44.123456+00:00``); ``resumed_at`` when this attempt continued an earlier
  one from its checkpoint (``started_at`` is then the first attempt's start).

This module imports neither torch nor numpy at import time (``neuroplastic --version`` stays
fast); :func:`collect_provenance` reads their versions from the modules already loaded by the
run, or imports them then.
"""

from __future__ import annotations

import platform
import socket
import sys
from datetime import datetime, timezone

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer

from neuroplastic.version import code_version

__all__ = ["Provenance", "collect_provenance", "utc_now"]


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


def _utc(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat()


class Provenance(BaseModel):
    """How and where a result was made (see the module docstring for each field)."""

    model_config = ConfigDict(extra="forbid")

    code_version: str = Field(description="package version + git commit (+dirty)")
    code_commit: str | None = Field(None, description="short git commit; None if not a checkout")
    code_dirty: bool | None = Field(
        None, description="tracked files changed since the commit; None if unknown"
    )
    python: str = Field(description="Python version")
    torch: str = Field(description="torch version")
    numpy: str | None = Field(None, description="numpy version (None if not installed)")
    platform: str = Field("", description="operating system and machine")
    device: str = Field(description="torch device the run computed on")
    device_name: str | None = Field(None, description="GPU model, for a CUDA device")
    threads: int = Field(description="torch intra-op CPU threads")
    host: str = Field(description="host name")
    command: list[str] = Field(description="the command line (sys.argv)")
    seed: int | None = Field(description="seed of weights and data order")
    started_at: AwareDatetime = Field(description="start of the run, UTC")
    resumed_at: AwareDatetime | None = Field(
        None, description="start of this attempt, when it resumed an earlier one, UTC"
    )
    ended_at: AwareDatetime | None = Field(None, description="end of the run, UTC")

    @field_serializer("started_at", "resumed_at", "ended_at")
    def _iso_utc(self, value: datetime | None) -> str | None:
        """ISO 8601 in UTC with the zone shown (``+00:00``), in Python and JSON dumps alike."""
        return _utc(value)

    def finished(self, at: datetime | None = None) -> Provenance:
        """A copy with ``ended_at`` set (default: now)."""
        return self.model_copy(update={"ended_at": at or utc_now()})


def collect_provenance(
    *,
    device: str,
    seed: int | None,
    started_at: datetime | None = None,
    resumed_at: datetime | None = None,
) -> Provenance:
    """The provenance of a run starting (or resumed) now in this process, on ``device``."""
    import torch

    try:
        import numpy

        numpy_version: str | None = numpy.__version__
    except ImportError:  # pragma: no cover - numpy comes with the toolkit's dependencies
        numpy_version = None
    device_name = None
    if str(device).startswith("cuda") and torch.cuda.is_available():
        try:
            device_name = torch.cuda.get_device_name(torch.device(device))
        except Exception:  # pragma: no cover - a name must never break a run
            device_name = None
    code = code_version()
    return Provenance(
        code_version=code.label,
        code_commit=code.commit,
        code_dirty=code.dirty,
        python=platform.python_version(),
        torch=str(torch.__version__),
        numpy=numpy_version,
        platform=platform.platform(),
        device=str(device),
        device_name=device_name,
        threads=torch.get_num_threads(),
        host=socket.gethostname(),
        command=list(sys.argv),
        seed=seed,
        started_at=started_at or utc_now(),
        resumed_at=resumed_at,
    )
