"""Sweeps in the run store: a sweep's configurations, their status, attempts and runs.

A sweep (``sweeps``) has an id and the spec it came from; each of its configurations is one
``sweep_runs`` row keyed by ``config_key`` = SHA-256 of the configuration and the code version,
unique per sweep, so re-running a sweep adds nothing twice and skips what is ``finished``.
A row goes ``pending`` → ``running`` (claimed by a worker, ``attempts`` + 1) → ``finished``
(written in the same transaction as the run's result, so a configuration is never finished
without its result, nor a result left without its configuration marked) or ``failed`` (with
the error; retried while attempts remain, and on the next run of the sweep).

One driver runs a given sweep at a time: :meth:`SweepStore.release_stale` puts rows left
``running`` by an earlier driver that died (or was stopped) back to ``pending``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from neuroplastic.errors import StoreError
from neuroplastic.store.run_store import RunStore, _now
from neuroplastic.store.schema import results, runs, sweep_runs, sweeps

__all__ = ["SweepEntry", "SweepStore"]


@dataclass(frozen=True)
class SweepEntry:
    """One configuration of a sweep, with its run's result when it has one."""

    id: int
    sweep_id: str
    config_key: str
    config: dict[str, Any]
    code_version: str
    status: str
    attempts: int
    run_id: int | None
    error: str | None
    updated_at: datetime
    record: dict[str, Any] | None = None


class SweepStore(RunStore):
    """A :class:`RunStore` that also keeps sweeps.

    A worker sets :attr:`entry_id` before running a configuration: the run it starts is then
    linked to the entry, and finishing the run finishes the entry in the same transaction.
    """

    entry_id: int | None = None

    # ------------------------------------------------------------------ driver side

    def ensure_sweep(self, sweep_id: str, spec: Mapping[str, Any]) -> bool:
        """Create the sweep if it is new (True), else keep it as it is (False)."""
        with self._errors(f"cannot create sweep {sweep_id!r}"), self._engine.begin() as conn:
            found = conn.execute(select(sweeps.c.id).where(sweeps.c.id == sweep_id)).first()
            if found is not None:
                return False
            conn.execute(insert(sweeps).values(id=sweep_id, spec=dict(spec), created_at=_now()))
            return True

    def sweep_exists(self, sweep_id: str) -> bool:
        """Whether a sweep with this id is in the store."""
        with self._errors(f"cannot read sweep {sweep_id!r}"), self._engine.connect() as conn:
            return (
                conn.execute(select(sweeps.c.id).where(sweeps.c.id == sweep_id)).first() is not None
            )

    def add_entries(
        self, sweep_id: str, configs: Iterable[tuple[str, Mapping[str, Any]]], code_version: str
    ) -> int:
        """Add the ``(config_key, config)`` rows not yet in the sweep as ``pending``; count them."""
        wanted = dict(configs)
        action = f"cannot add configurations to sweep {sweep_id!r}"
        with self._errors(action), self._engine.begin() as conn:
            have = set(
                conn.execute(
                    select(sweep_runs.c.config_key).where(sweep_runs.c.sweep_id == sweep_id)
                ).scalars()
            )
            rows = [
                {
                    "sweep_id": sweep_id,
                    "config_key": key,
                    "config": dict(config),
                    "code_version": code_version,
                    "status": "pending",
                    "attempts": 0,
                    "run_id": None,
                    "error": None,
                    "updated_at": _now(),
                }
                for key, config in wanted.items()
                if key not in have
            ]
            if rows:
                conn.execute(insert(sweep_runs), rows)
        return len(rows)

    def release_stale(self, sweep_id: str) -> int:
        """Put the sweep's ``running`` rows (left by a driver that stopped) back to ``pending``."""
        with self._errors(f"cannot release sweep {sweep_id!r}"), self._engine.begin() as conn:
            done = conn.execute(
                update(sweep_runs)
                .where(sweep_runs.c.sweep_id == sweep_id, sweep_runs.c.status == "running")
                .values(status="pending", updated_at=_now())
            )
            return int(done.rowcount)

    def entries(self, sweep_id: str, keys: Iterable[str] | None = None) -> list[SweepEntry]:
        """The sweep's rows (only ``keys`` if given), oldest first, with finished runs' records."""
        query = (
            select(sweep_runs, results.c.record)
            .select_from(sweep_runs.outerjoin(results, results.c.run_id == sweep_runs.c.run_id))
            .where(sweep_runs.c.sweep_id == sweep_id)
            .order_by(sweep_runs.c.id)
        )
        wanted = None if keys is None else set(keys)
        with self._errors(f"cannot read sweep {sweep_id!r}"), self._engine.connect() as conn:
            rows = conn.execute(query).all()
        out = []
        for row in rows:
            data = dict(row._mapping)
            if wanted is not None and data["config_key"] not in wanted:
                continue
            record = data.pop("record")
            out.append(SweepEntry(**data, record=None if record is None else dict(record)))
        return out

    def sweep_ids(self) -> list[str]:
        """Every sweep in the store, oldest first."""
        with self._errors("cannot list sweeps"), self._engine.connect() as conn:
            return list(conn.execute(select(sweeps.c.id).order_by(sweeps.c.created_at)).scalars())

    # ------------------------------------------------------------------ worker side

    def claim(self, entry_id: int) -> int:
        """Mark the entry ``running`` (attempts + 1) and return its attempt number."""
        with self._errors(f"cannot claim sweep entry {entry_id}"), self._engine.begin() as conn:
            attempts = conn.execute(
                select(sweep_runs.c.attempts).where(sweep_runs.c.id == entry_id)
            ).scalar_one_or_none()
            if attempts is None:
                raise StoreError(f"no sweep entry {entry_id} in {self._safe_url}")
            conn.execute(
                update(sweep_runs)
                .where(sweep_runs.c.id == entry_id)
                .values(status="running", attempts=attempts + 1, error=None, updated_at=_now())
            )
        return int(attempts) + 1

    def fail_entry(self, entry_id: int, error: str) -> None:
        """Mark the entry ``failed`` with its error (one line)."""
        with self._errors(f"cannot mark sweep entry {entry_id}"), self._engine.begin() as conn:
            conn.execute(
                update(sweep_runs)
                .where(sweep_runs.c.id == entry_id)
                .values(status="failed", error=error, updated_at=_now())
            )

    def start_run(self, **kwargs: Any) -> int:
        """:meth:`RunStore.start_run`, linking the run to :attr:`entry_id` when one is set."""
        run_id = super().start_run(**kwargs)
        if self.entry_id is not None:
            with self._errors("cannot link run to sweep entry"), self._engine.begin() as conn:
                conn.execute(
                    update(sweep_runs)
                    .where(sweep_runs.c.id == self.entry_id)
                    .values(run_id=run_id, updated_at=_now())
                )
        return run_id

    def finish_run(
        self, run_id: int, record: Mapping[str, Any], ended_at: datetime | None = None
    ) -> None:
        """:meth:`RunStore.finish_run`, finishing :attr:`entry_id` in the same transaction."""
        with self._errors(f"cannot finish run {run_id}"), self._engine.begin() as conn:
            self._write_result(conn, run_id, record, ended_at)
            if self.entry_id is not None:
                conn.execute(
                    update(sweep_runs)
                    .where(sweep_runs.c.id == self.entry_id)
                    .values(status="finished", run_id=run_id, error=None, updated_at=_now())
                )

    def run_status(self, run_id: int) -> str | None:
        """The status of a run, or None if there is no such run."""
        with self._errors(f"cannot read run {run_id}"), self._engine.connect() as conn:
            return conn.execute(select(runs.c.status).where(runs.c.id == run_id)).scalar()
