"""The run store: runs, their metrics and results in SQLite or PostgreSQL.

>>> with RunStore("sqlite:///runs.sqlite") as store:  # doctest: +SKIP
...     run_id = store.start_run(method="hebb", dataset="mnist", params={}, seed=0, device="cpu")
...     store.log_metrics(run_id, 1000, {"accuracy": 0.9})
...     store.finish_run(run_id, {"accuracy": 0.9})
"""

from __future__ import annotations

from neuroplastic.store.run_store import (
    RUN_STATUSES,
    MetricRow,
    RunInfo,
    RunStore,
    neuroplastic_version,
    params_hash,
)

__all__ = [
    "RUN_STATUSES",
    "MetricRow",
    "RunInfo",
    "RunStore",
    "neuroplastic_version",
    "params_hash",
]
