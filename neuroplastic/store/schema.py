"""Tables of the run store (SQLAlchemy Core, portable between SQLite and PostgreSQL).

``runs`` holds one row per training run, ``metrics`` the time series logged while it
trains (one row per metric name and logging step) and ``results`` the final result
record of a finished run. ``sweeps`` holds a sweep's spec and ``sweep_runs`` one row per
configuration of a sweep (its status, attempts and run). ``parameter_sets`` holds the
simulator's named parameter sets (:mod:`neuroplastic.simulator.paramsets`).

Every change here needs a migration in ``migrations/versions/`` (see
:mod:`neuroplastic.store.migrations`); a test fails while the two disagree.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "RUN_STATUSES",
    "SWEEP_RUN_STATUSES",
    "UTCDateTime",
    "metadata",
    "metrics",
    "parameter_sets",
    "results",
    "runs",
    "sweep_runs",
    "sweeps",
]

RUN_STATUSES: tuple[str, ...] = (
    "running",
    "finished",
    "failed",
    "interrupted",
    "crashed",
    "diverged",
)
"""Every value the ``runs.status`` column may hold."""

SWEEP_RUN_STATUSES: tuple[str, ...] = ("pending", "running", "finished", "failed")
"""Every value the ``sweep_runs.status`` column may hold."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    Values are converted to UTC before they are written. SQLite keeps no zone, so the
    naive value read back is tagged as UTC; PostgreSQL returns an aware value in the
    session's zone, which is converted to UTC. Naive values given to the store are
    taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an outgoing datetime to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        """Return an incoming datetime as an aware UTC datetime."""
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - defensive
            value = datetime.fromisoformat(str(value))
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


metadata = MetaData()
"""The run store's tables; ``metadata.create_all(engine)`` creates any that are missing."""

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("method", String(128), nullable=False),
    Column("dataset", String(128), nullable=False),
    Column("params", JSON, nullable=False),
    Column("code_version", String(128), nullable=False),
    Column("seed", Integer, nullable=False),
    Column("device", String(64), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime(), nullable=True),
    Column("status", String(16), nullable=False),
    Column("error", Text, nullable=True),
    Column("checkpoint", String(1024), nullable=True),
    Column("params_hash", String(64), nullable=False),
    Index("ix_runs_params_hash", "params_hash"),
    Index("ix_runs_status_host", "status", "host"),
)

metrics = Table(
    "metrics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("samples_seen", BigInteger, nullable=False),
    Column("name", String(128), nullable=False),
    # Nullable because SQLite stores NaN as NULL; the store reads NULL back as NaN.
    Column("value", Float, nullable=True),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Index("ix_metrics_run_id", "run_id"),
)

results = Table(
    "results",
    metadata,
    Column(
        "run_id",
        Integer,
        ForeignKey("runs.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("record", JSON, nullable=False),
)

sweeps = Table(
    "sweeps",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("spec", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

sweep_runs = Table(
    "sweep_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sweep_id", String(128), ForeignKey("sweeps.id", ondelete="CASCADE"), nullable=False),
    # SHA-256 of the configuration and the code version: the key of idempotent re-runs
    Column("config_key", String(64), nullable=False),
    Column("config", JSON, nullable=False),
    Column("code_version", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="SET NULL"), nullable=True),
    Column("error", Text, nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("sweep_id", "config_key", name="uq_sweep_runs_key"),
    Index("ix_sweep_runs_sweep_id", "sweep_id"),
)

parameter_sets = Table(
    "parameter_sets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("simulation", String(128), nullable=False),
    Column("name", String(255), nullable=False),
    Column("comment", Text, nullable=False),
    Column("grade", Integer, nullable=True),
    Column("params", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("modified_at", UTCDateTime(), nullable=False),
    Column("source_run_id", Integer, nullable=True),
    UniqueConstraint("simulation", "name", name="uq_parameter_sets_simulation_name"),
)
"""Named parameter sets of the simulator: one row per (simulation, name)."""
