"""Eight writer processes on one new PostgreSQL database at once: no lost row, no lock error.

Each worker opens the store by URL (the first ones race to create the schema by migration),
starts a run, logs ``ROWS_PER_WORKER`` metric rows in 25 transactions and finishes. The
benchmark ``benchmarks/store_concurrency.py --postgres`` runs more rounds and writes JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from neuroplastic.store.tests.test_concurrent_open import race_round

LOCK_WORDS = ("lock", "deadlock", "could not serialize")


@dataclass
class WriterCounts:
    """Outcome of racing writer processes on new stores given by URL."""

    workers: int
    rounds: int
    failed_workers: int
    lock_errors: int
    lost_runs: int
    lost_rows: int
    first_error: str | None


def race_writers(new_url: Callable[[], str], workers: int, rounds: int) -> WriterCounts:
    """``rounds`` times: ``workers`` processes write to a new store at once; count the damage."""
    failed = lock_errors = lost_runs = lost_rows = 0
    first_error: str | None = None
    for _ in range(rounds):
        errors, runs_lost, rows_lost = race_round(new_url(), workers)
        failed += len(errors)
        lock_errors += sum(any(word in e.lower() for word in LOCK_WORDS) for e in errors)
        first_error = first_error or next(iter(errors), None)
        lost_runs += runs_lost
        lost_rows += rows_lost
    return WriterCounts(workers, rounds, failed, lock_errors, lost_runs, lost_rows, first_error)


def test_eight_writers_on_a_new_postgresql_store(new_postgres_db):
    counts = race_writers(new_postgres_db, workers=8, rounds=1)
    assert counts.failed_workers == 0, counts.first_error
    assert counts.lock_errors == 0
    assert counts.lost_runs == 0
    assert counts.lost_rows == 0
