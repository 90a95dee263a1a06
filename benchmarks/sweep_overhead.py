"""Sweep overhead per run on a local Ray with warm workers, and PostgreSQL writer concurrency.

Overhead: a sweep of ``--runs`` trivial configurations (``memory-capacity`` at n = 16, one
query: milliseconds each) on ``--workers`` warm workers of a local Ray; per run,
``(wall × workers − Σ run time) / runs``, where each run's own time is measured inside its
worker and the wall time starts at the first submission (workers already started). The same
process also times what a sweep without long-lived workers would pay per run: a new Python
process importing torch and the training code (``--baseline-starts`` times). Target: ≤ 0.1 s.

Concurrency: ``--pg-rounds`` rounds of 8 writer processes on a new database of a real local
PostgreSQL server (Debian's, on a loopback port): failed workers, lock errors, lost runs and
rows. Not a test; the tests are ``neuroplastic/sweep/tests`` and ``neuroplastic/store/tests``.

    python benchmarks/sweep_overhead.py --json results/sweep_overhead.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from neuroplastic.store.run_store import neuroplastic_version


def overhead(runs: int, workers: int, tmp: Path) -> dict[str, Any]:
    """One sweep of trivial runs on a local Ray; overhead per run beyond the runs' own time."""
    from rich.console import Console

    from neuroplastic.sweep.driver import run_sweep
    from neuroplastic.sweep.spec import grid_sweep

    sweep = grid_sweep("memory-capacity", ["n=16"], runs, ["queries=1"], name="overhead")
    summary = run_sweep(
        sweep,
        f"sqlite:///{tmp / f'overhead-{workers}.sqlite'}",
        workers=workers,
        console=Console(stderr=True, quiet=True),
        progress=False,
    )
    assert summary.finished == runs and summary.failed == 0, summary
    run_s = summary.run_seconds
    return {
        "runs": runs,
        "workers": summary.workers,
        "wall_s": round(summary.seconds, 3),
        "startup_s": round(summary.startup_seconds, 2),
        "mean_run_s": round(sum(run_s) / len(run_s), 4),
        "overhead_per_run_s": round(summary.overhead_per_run or 0.0, 4),
        "target_s": 0.1,
    }


def process_start(n: int) -> dict[str, Any]:
    """Seconds for a new Python process that imports torch and the training code."""
    code = "import torch, neuroplastic.runs, neuroplastic.experiments.memory_capacity"
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - t0)
    return {"starts": n, "mean_s": round(sum(times) / n, 3), "min_s": round(min(times), 3)}


def postgres(rounds: int) -> dict[str, Any]:
    """8 writer processes on a new database, ``rounds`` times, on a real local server."""
    from sqlalchemy import create_engine, text

    from neuroplastic.store.pg_server import LocalPostgres
    from neuroplastic.store.tests.test_postgres_concurrency import race_writers

    with LocalPostgres() as pg:
        admin = create_engine(pg.url, isolation_level="AUTOCOMMIT")
        made = iter(range(10_000))

        def new_db() -> str:
            name = f"bench_{next(made)}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            return pg.url.rsplit("/", 1)[0] + f"/{name}"

        t0 = time.perf_counter()
        counts = race_writers(new_db, workers=8, rounds=rounds)
        admin.dispose()
    return {**asdict(counts), "seconds": round(time.perf_counter() - t0, 1)}


def main() -> None:
    """Measure and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=60)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--baseline-starts", type=int, default=3)
    ap.add_argument("--pg-rounds", type=int, default=5)
    ap.add_argument("--json", type=Path, default=Path("results/sweep_overhead.json"))
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    out: dict[str, Any] = {
        "code_version": neuroplastic_version(),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "overhead": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("NEUROPLASTIC_HOME", tmp)
        for workers in args.workers:
            entry = overhead(args.runs, workers, Path(tmp))
            out["overhead"].append(entry)
            print(json.dumps(entry), flush=True)
    out["process_start_with_torch"] = process_start(args.baseline_starts)
    print(json.dumps(out["process_start_with_torch"]), flush=True)
    if args.pg_rounds > 0:
        out["postgres_8_writers"] = postgres(args.pg_rounds)
        print(json.dumps(out["postgres_8_writers"]), flush=True)
    out["load_after"] = os.getloadavg()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
