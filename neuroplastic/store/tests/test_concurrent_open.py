"""Many processes opening one new SQLite store at once (no start barrier).

Each worker opens the store by its plain path (creating it if it is the first), starts a run,
logs ``ROWS_PER_WORKER`` metric rows and finishes. A round passes when every worker exits 0
and the store holds every run and every row. The fast default is 8 workers x 2 rounds; the
issue's full sizes (8 and 32 workers, 20 rounds each) are
``benchmarks/store_concurrency.py``, which writes the counts as JSON.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from neuroplastic.store import RunStore
from neuroplastic.store.schema import metrics, runs

ROWS_PER_WORKER = 200
"""Metric rows each worker writes (25 logging steps x 8 names)."""

_WORKER = textwrap.dedent(
    """
    import sys
    from neuroplastic.store import RunStore
    with RunStore(sys.argv[1]) as store:
        run_id = store.start_run(method="race", dataset="none", params={}, seed=0, device="cpu")
        for step in range(25):
            store.log_metrics(run_id, step, {f"m{i}": float(i) for i in range(8)})
        store.finish_run(run_id, {"ok": True})
    """
)


@dataclass
class RaceCounts:
    """Outcome of racing workers on new stores."""

    workers: int
    rounds: int
    failed_workers: int
    lost_runs: int
    lost_rows: int
    first_error: str | None


def race_round(target: str, workers: int) -> tuple[list[str], int, int]:
    """``workers`` processes write to the store ``target`` (a path or URL) at once, with no
    start barrier. Returns the last stderr line of each failed worker, the runs lost and the
    metric rows lost."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, target],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    errors = []
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            errors.append((err.strip().splitlines() or ["?"])[-1])
    with RunStore(target) as store, store.engine.connect() as conn:
        n_runs = conn.execute(
            select(func.count()).select_from(runs).where(runs.c.status == "finished")
        ).scalar_one()
        n_rows = conn.execute(select(func.count()).select_from(metrics)).scalar_one()
    return errors, workers - int(n_runs), workers * ROWS_PER_WORKER - int(n_rows)


def race_new_store(tmp_dir: Path, workers: int, rounds: int) -> RaceCounts:
    """Start ``workers`` processes on a new store ``rounds`` times; count failures and losses."""
    failed = lost_runs = lost_rows = 0
    first_error: str | None = None
    for r in range(rounds):
        errors, runs_lost, rows_lost = race_round(
            str(tmp_dir / f"race-{workers}-{r}.sqlite"), workers
        )
        failed += len(errors)
        first_error = first_error or next(iter(errors), None)
        lost_runs += runs_lost
        lost_rows += rows_lost
    return RaceCounts(workers, rounds, failed, lost_runs, lost_rows, first_error)


def test_eight_processes_open_a_new_store_at_once(tmp_path: Path) -> None:
    counts = race_new_store(tmp_path, workers=8, rounds=2)
    assert counts.failed_workers == 0, counts.first_error
    assert counts.lost_runs == 0
    assert counts.lost_rows == 0
