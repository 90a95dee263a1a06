"""The run store: every training run, its metrics and its result, in one database.

One code path serves SQLite and PostgreSQL (SQLAlchemy Core). The only SQLite-specific
code is the connection listener that turns on WAL mode, a busy timeout and foreign keys.

A run is ``running`` while its process lives. A run whose process died without calling
:meth:`RunStore.finish_run` or :meth:`RunStore.fail_run` (``kill -9``, out of memory, a
power cut) is found by :meth:`RunStore.mark_crashed`, which the listing and lookup
methods call first, so such a run is shown as ``crashed`` rather than forever
``running``. Only runs started on this host can be checked; runs of other hosts are
left as they are.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import socket
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from neuroplastic import paths
from neuroplastic.errors import ParameterError, StoreError
from neuroplastic.store.migrate import upgrade_store
from neuroplastic.store.schema import RUN_STATUSES, results, runs
from neuroplastic.store.schema import metrics as metrics_table
from neuroplastic.version import code_version

__all__ = [
    "RUN_STATUSES",
    "MetricRow",
    "RunInfo",
    "RunStore",
    "neuroplastic_version",
    "params_hash",
]

_Store = TypeVar("_Store", bound="RunStore")

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long an SQLite connection waits for another writer before giving up."""

FAIL_STATUSES: tuple[str, ...] = ("failed", "interrupted", "diverged")
"""Statuses :meth:`RunStore.fail_run` accepts."""

RESUMABLE_STATUSES: tuple[str, ...] = ("failed", "interrupted", "crashed")
"""Statuses of runs that :meth:`RunStore.find_resumable` offers and ``resume_run`` accepts."""


# --------------------------------------------------------------------------- helpers


def _json_default(value: Any) -> Any:
    """Make the few non-JSON types that turn up in parameters and records serializable."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    item = getattr(value, "item", None)  # numpy / torch scalars
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    raise TypeError(f"object of type {type(value).__name__} is not JSON serializable")


def _dumps(value: Any) -> str:
    """JSON text used for the database columns."""
    return json.dumps(value, default=_json_default)


def _canonical_json(value: Any) -> str:
    """Deterministic JSON text: sorted keys, no whitespace, non-ASCII kept as is."""
    return json.dumps(
        value, default=_json_default, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def _check_json(value: Any, what: str) -> None:
    """Raise ParameterError if ``value`` cannot be stored as JSON."""
    try:
        _dumps(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{what} cannot be stored as JSON: {exc}") from exc


def params_hash(method: str, dataset: str, params: Mapping[str, Any], seed: int) -> str:
    """SHA-256 (hex) of the canonical JSON of a run's identity.

    Two runs have the same hash exactly when they have the same method, dataset, seed
    and parameters (key order does not matter), so the hash finds an earlier attempt
    of the same run to resume.
    """
    identity = {"method": method, "dataset": dataset, "params": dict(params), "seed": seed}
    try:
        text = _canonical_json(identity)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"parameters cannot be hashed as JSON: {exc}") from exc
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def neuroplastic_version() -> str:
    """The code version label (``0.1.0+1a2b3c4``, ``+dirty`` when tracked files changed).

    See :func:`neuroplastic.version.code_version`; kept here for the store's callers.
    """
    return code_version().label


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (unknown counts as alive)."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - os.kill(pid, 0) would terminate it
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # ERROR_ACCESS_DENIED: exists
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return True
    return True


_PASSWORD_RE = re.compile(r"(://[^:/@]*:)[^@]*@")


def _mask_url(url: str | URL) -> str:
    """The URL with any password replaced by ``***``."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return _PASSWORD_RE.sub(r"\1***@", url)


def _reason(exc: BaseException) -> str:
    """One line describing an exception (SQLAlchemy's statement dump left out)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip() or type(exc).__name__
    return text.splitlines()[0]


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class RunInfo:
    """One row of the ``runs`` table."""

    id: int
    method: str
    dataset: str
    params: dict[str, Any]
    code_version: str
    seed: int
    device: str
    host: str
    pid: int
    started_at: datetime
    ended_at: datetime | None
    status: str
    error: str | None
    checkpoint: str | None
    params_hash: str


@dataclass(frozen=True)
class MetricRow:
    """One logged metric value of a run."""

    id: int
    run_id: int
    samples_seen: int
    name: str
    value: float
    recorded_at: datetime


def _run_info(row: Any) -> RunInfo:
    return RunInfo(**dict(row._mapping))


def _metric_row(row: Any) -> MetricRow:
    data = dict(row._mapping)
    data["value"] = math.nan if data["value"] is None else float(data["value"])
    return MetricRow(**data)


# --------------------------------------------------------------------------- store


class RunStore:
    """Runs, metrics and results in an SQLite file or a PostgreSQL database.

    ``url`` is an SQLAlchemy URL or a plain file path (an SQLite file, relative paths taken
    from the working directory), converted by :func:`neuroplastic.paths.store_url`, the one
    conversion every caller shares; ``None`` means ``$NEUROPLASTIC_STORE`` or
    ``<user data dir>/runs.sqlite``. The tables are created if missing. Use as a context
    manager, or call :meth:`close`.
    """

    def __init__(self, url: str | os.PathLike[str] | None = None) -> None:
        raw = paths.store_url(url)
        self._safe_url = _mask_url(raw)
        self._host = socket.gethostname()
        try:
            parsed = make_url(raw)
        except Exception as exc:
            raise StoreError(f"cannot open run store {self._safe_url}: {_reason(exc)}") from exc
        self._safe_url = _mask_url(parsed)
        try:
            self._prepare_sqlite_dir(parsed)
            self._engine: Engine = create_engine(
                parsed,
                json_serializer=_dumps,
                pool_pre_ping=True,
            )
            if self._engine.dialect.name == "sqlite":
                event.listen(self._engine, "connect", _sqlite_on_connect)
            self._create_tables()
        except StoreError:
            raise
        except Exception as exc:
            engine = getattr(self, "_engine", None)
            if engine is not None:
                engine.dispose()
            raise StoreError(f"cannot open run store {self._safe_url}: {_reason(exc)}") from exc

    @staticmethod
    def _prepare_sqlite_dir(url: URL) -> None:
        """Create the parent directory of an SQLite database file."""
        if url.get_backend_name() != "sqlite":
            return
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            return
        Path(database).parent.mkdir(parents=True, exist_ok=True)

    def _create_tables(self) -> None:
        """Create or upgrade the schema by migrations (:mod:`neuroplastic.store.migrate`).

        Safe when many processes open a new store at once: the upgrade is serialised (SQLite
        write lock, PostgreSQL advisory lock) and the revision read again under the lock. A
        store written by a newer neuroplastic is refused before anything is written.
        """
        upgrade_store(self._engine, self._safe_url)

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """The store's URL, with any password masked (safe to print)."""
        return self._safe_url

    def checkpoint_path(self, run_id: int) -> Path:
        """Where run ``run_id`` of this store keeps its checkpoint (keyed by store and run)."""
        return paths.checkpoint_path(self._safe_url, run_id)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for ad-hoc queries and tests)."""
        return self._engine

    def close(self) -> None:
        """Release all database connections."""
        self._engine.dispose()

    def __enter__(self: _Store) -> _Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RunStore({self._safe_url!r})"

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn database errors into StoreError naming the action and the store."""
        try:
            yield
        except SQLAlchemyError as exc:
            raise StoreError(f"{action} in {self._safe_url}: {_reason(exc)}") from exc

    def _missing(self, run_id: int) -> StoreError:
        return StoreError(f"no run with id {run_id} in {self._safe_url}")

    def _require_run(self, conn: Connection, run_id: int) -> None:
        found = conn.execute(select(runs.c.id).where(runs.c.id == run_id)).first()
        if found is None:
            raise self._missing(run_id)

    # ------------------------------------------------------------------ writing

    def start_run(
        self,
        *,
        method: str,
        dataset: str,
        params: Mapping[str, Any],
        seed: int,
        device: str,
        code_version: str | None = None,
        checkpoint: str | None = None,
    ) -> int:
        """Record a new run as ``running`` in this process and return its id."""
        params = dict(params)
        digest = params_hash(method, dataset, params, seed)
        _check_json(params, "params")
        values = {
            "method": method,
            "dataset": dataset,
            "params": params,
            "code_version": code_version if code_version is not None else neuroplastic_version(),
            "seed": int(seed),
            "device": str(device),
            "host": self._host,
            "pid": os.getpid(),
            "started_at": _now(),
            "ended_at": None,
            "status": "running",
            "error": None,
            "checkpoint": None if checkpoint is None else os.fspath(checkpoint),
            "params_hash": digest,
        }
        with self._errors("cannot start run"), self._engine.begin() as conn:
            key = conn.execute(insert(runs).values(**values)).inserted_primary_key
            if key is None or key[0] is None:  # pragma: no cover - every backend reports it
                raise StoreError(f"cannot start run in {self._safe_url}: no id was assigned")
            return int(key[0])

    def log_metrics(self, run_id: int, samples_seen: int, metrics: Mapping[str, float]) -> None:
        """Record metric values at ``samples_seen`` (one row per name, one transaction).

        NaN and infinite values are kept.
        """
        now = _now()
        rows = [
            {
                "run_id": run_id,
                "samples_seen": int(samples_seen),
                "name": str(name),
                "value": float(value),
                "recorded_at": now,
            }
            for name, value in metrics.items()
        ]
        with self._errors(f"cannot log metrics of run {run_id}"), self._engine.begin() as conn:
            self._require_run(conn, run_id)
            if rows:
                conn.execute(insert(metrics_table), rows)

    def drop_metrics_after(self, run_id: int, samples_seen: int) -> int:
        """Delete the run's metric rows logged after ``samples_seen``; return how many.

        A resumed run continues from its checkpoint at ``samples_seen``; rows its previous
        attempt logged after that point (before it was killed) would otherwise be stored twice.
        """
        with self._errors(f"cannot trim metrics of run {run_id}"), self._engine.begin() as conn:
            self._require_run(conn, run_id)
            done = conn.execute(
                delete(metrics_table).where(
                    metrics_table.c.run_id == run_id,
                    metrics_table.c.samples_seen > int(samples_seen),
                )
            )
            return int(done.rowcount)

    def finish_run(
        self, run_id: int, record: Mapping[str, Any], ended_at: datetime | None = None
    ) -> None:
        """Store the run's result record and mark it ``finished`` (one transaction).

        ``ended_at`` (default now) is the end time the record's provenance states, so the run
        row and the record agree.
        """
        with self._errors(f"cannot finish run {run_id}"), self._engine.begin() as conn:
            self._write_result(conn, run_id, record, ended_at)

    def _write_result(
        self, conn: Connection, run_id: int, record: Mapping[str, Any], ended_at: datetime | None
    ) -> None:
        """The statements of :meth:`finish_run`, inside the caller's transaction."""
        record = dict(record)
        _check_json(record, "result record")
        self._require_run(conn, run_id)
        conn.execute(delete(results).where(results.c.run_id == run_id))
        conn.execute(insert(results).values(run_id=run_id, record=record))
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(status="finished", ended_at=ended_at or _now(), error=None)
        )

    def fail_run(self, run_id: int, error: str, status: str = "failed") -> None:
        """Mark a run ``failed`` (an exception) or ``interrupted`` (Ctrl-C, a signal)."""
        if status not in FAIL_STATUSES:
            raise ParameterError(
                f"fail_run status must be one of {', '.join(FAIL_STATUSES)}, not {status!r}"
            )
        with self._errors(f"cannot mark run {run_id} {status}"), self._engine.begin() as conn:
            done = conn.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(status=status, ended_at=_now(), error=str(error))
            )
            if done.rowcount == 0:
                raise self._missing(run_id)

    def resume_run(self, run_id: int) -> None:
        """Mark a failed, interrupted or crashed run ``running`` again, in this process.

        Raises StoreError if the run does not exist, is finished, or is still running in
        a live process.
        """
        self.mark_crashed()
        pid = os.getpid()
        with self._errors(f"cannot resume run {run_id}"), self._engine.begin() as conn:
            row = conn.execute(
                select(runs.c.status, runs.c.host, runs.c.pid).where(runs.c.id == run_id)
            ).first()
            if row is None:
                raise self._missing(run_id)
            status, host, old_pid = row
            ours = status == "running" and host == self._host and old_pid == pid
            if status not in RESUMABLE_STATUSES and not ours:
                if status == "running":
                    raise StoreError(
                        f"run {run_id} is still running (pid {old_pid} on {host}); "
                        "not resuming it twice"
                    )
                raise StoreError(
                    f"run {run_id} is {status}; only failed, interrupted or "
                    "crashed runs can be resumed"
                )
            done = conn.execute(
                update(runs)
                .where(runs.c.id == run_id, runs.c.status == status)
                .values(status="running", host=self._host, pid=pid, ended_at=None, error=None)
            )
            if done.rowcount == 0:  # pragma: no cover - changed under us
                raise StoreError(f"run {run_id} changed while resuming it; try again")

    def set_checkpoint(self, run_id: int, path: str | os.PathLike[str] | None) -> None:
        """Record the path of the run's latest checkpoint (``None`` clears it)."""
        value = None if path is None else os.fspath(path)
        with self._errors(f"cannot set checkpoint of run {run_id}"), self._engine.begin() as conn:
            done = conn.execute(update(runs).where(runs.c.id == run_id).values(checkpoint=value))
            if done.rowcount == 0:
                raise self._missing(run_id)

    def mark_crashed(self) -> int:
        """Mark ``running`` runs of this host whose process is gone as ``crashed``.

        Returns how many runs were marked. Runs started on other hosts are not touched:
        their processes cannot be checked from here.
        """
        with self._errors("cannot check for crashed runs"):
            with self._engine.connect() as conn:
                candidates = conn.execute(
                    select(runs.c.id, runs.c.pid).where(
                        runs.c.status == "running", runs.c.host == self._host
                    )
                ).all()
            dead = [(run_id, pid) for run_id, pid in candidates if not _pid_alive(pid)]
            if not dead:
                return 0
            marked = 0
            now = _now()
            with self._engine.begin() as conn:
                for run_id, pid in dead:
                    done = conn.execute(
                        update(runs)
                        .where(
                            runs.c.id == run_id,
                            runs.c.status == "running",
                            runs.c.pid == pid,
                            runs.c.host == self._host,
                        )
                        .values(
                            status="crashed",
                            ended_at=now,
                            error=(
                                f"process {pid} on {self._host} ended without finishing "
                                "(killed or crashed)"
                            ),
                        )
                    )
                    marked += done.rowcount
            return marked

    # ------------------------------------------------------------------ reading

    def get_run(self, run_id: int) -> RunInfo:
        """The run with this id; StoreError if there is none."""
        self.mark_crashed()
        with self._errors(f"cannot read run {run_id}"), self._engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
        if row is None:
            raise self._missing(run_id)
        return _run_info(row)

    def list_runs(
        self, limit: int = 50, method: str | None = None, status: str | None = None
    ) -> list[RunInfo]:
        """Up to ``limit`` runs, newest first, optionally only one method or status."""
        if limit < 1:
            raise ParameterError(f"limit must be at least 1, not {limit}")
        if status is not None and status not in RUN_STATUSES:
            raise ParameterError(f"status must be one of {', '.join(RUN_STATUSES)}, not {status!r}")
        self.mark_crashed()
        query = select(runs)
        if method is not None:
            query = query.where(runs.c.method == method)
        if status is not None:
            query = query.where(runs.c.status == status)
        query = query.order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(limit)
        with self._errors("cannot list runs"), self._engine.connect() as conn:
            return [_run_info(row) for row in conn.execute(query)]

    def find_resumable(self, params_hash: str) -> RunInfo | None:
        """The newest unfinished run with this parameter hash, or None.

        Runs still ``running`` in a live process (or on another host) are not offered;
        runs whose process died are marked ``crashed`` first and are offered.
        """
        self.mark_crashed()
        query = (
            select(runs)
            .where(runs.c.params_hash == params_hash, runs.c.status.in_(RESUMABLE_STATUSES))
            .order_by(runs.c.started_at.desc(), runs.c.id.desc())
            .limit(1)
        )
        with self._errors("cannot look up resumable runs"), self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _run_info(row)

    def find_finished(self, params_hash: str) -> RunInfo | None:
        """The newest ``finished`` run with this parameter hash, or None (``--resume`` uses it
        instead of training the same configuration again)."""
        query = (
            select(runs)
            .where(runs.c.params_hash == params_hash, runs.c.status == "finished")
            .order_by(runs.c.started_at.desc(), runs.c.id.desc())
            .limit(1)
        )
        with self._errors("cannot look up finished runs"), self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _run_info(row)

    def get_metrics(self, run_id: int) -> list[MetricRow]:
        """Every metric value logged for the run, in logging order."""
        query = (
            select(metrics_table)
            .where(metrics_table.c.run_id == run_id)
            .order_by(metrics_table.c.samples_seen, metrics_table.c.id)
        )
        with self._errors(f"cannot read metrics of run {run_id}"), self._engine.connect() as conn:
            self._require_run(conn, run_id)
            return [_metric_row(row) for row in conn.execute(query)]

    def get_result(self, run_id: int) -> dict[str, Any] | None:
        """The result record of a finished run, or None if it has none."""
        with self._errors(f"cannot read result of run {run_id}"), self._engine.connect() as conn:
            self._require_run(conn, run_id)
            record = conn.execute(
                select(results.c.record).where(results.c.run_id == run_id)
            ).scalar_one_or_none()
        return None if record is None else dict(record)

    def count_runs(self) -> int:
        """How many runs the store holds."""
        with self._errors("cannot count runs"), self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(runs)).scalar_one())


def _set_wal(cursor: Any) -> None:
    """Switch the file to WAL, retrying with backoff while another process holds the lock.

    Changing the journal mode needs an exclusive lock and SQLite does not always call the busy
    handler for it: on a brand-new file opened by many processes at once one of them got
    "database is locked" at once. Retried up to the busy timeout (a no-op once the file is WAL).
    """
    import sqlite3
    import time

    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    """Per-connection SQLite settings: busy timeout, WAL journal, foreign keys."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _set_wal(cursor)
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()
