"""Processes opening one new run store at once: failures and lost rows (issue 13, item 4).

Starts ``--workers`` processes (default 8 and 32) on a new SQLite store with no start barrier,
``--rounds`` times (default 20), each writing one run and 200 metric rows, and writes the
counts of failed workers, lost runs and lost rows as JSON. Not a test; the fast test is
``neuroplastic/store/tests/test_concurrent_open.py``.

    python benchmarks/store_concurrency.py --json results/store_concurrency.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from neuroplastic.store.run_store import neuroplastic_version
from neuroplastic.store.tests.test_concurrent_open import ROWS_PER_WORKER, race_new_store


def main() -> None:
    """Run the races and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--json", type=Path, default=Path("results/store_concurrency.json"))
    args = ap.parse_args()
    out: dict[str, object] = {
        "code_version": neuroplastic_version(),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "rows_per_worker": ROWS_PER_WORKER,
        "races": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for workers in args.workers:
            t0 = time.perf_counter()
            counts = race_new_store(Path(tmp), workers, args.rounds)
            entry = {**asdict(counts), "seconds": round(time.perf_counter() - t0, 1)}
            out["races"].append(entry)  # type: ignore[attr-defined]
            print(json.dumps(entry), flush=True)
    out["load_after"] = os.getloadavg()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
