"""The long-lived sweep worker: one per Ray actor, torch and the methods imported once.

The driver wraps :class:`SweepWorker` with ``ray.remote`` (this module does not import Ray, so
it runs, and is tested, without it). Each :meth:`SweepWorker.run` claims a configuration's row
(``running``, attempts + 1), runs it into the shared store, and returns an outcome; a failure
is recorded with its error, never raised, so the actor survives it and the driver decides on a
retry. The run's own time (``run_seconds``) is measured here, around the run alone, so that the
driver can report the sweep's overhead per run.
"""

from __future__ import annotations

import os
import time
from typing import Any

from neuroplastic.store.sweeps import SweepStore
from neuroplastic.sweep.execute import execute
from neuroplastic.sweep.spec import SweepConfig

__all__ = ["SweepWorker"]


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class SweepWorker:
    """Runs configurations into the store at ``store_url`` with ``threads`` torch threads."""

    def __init__(self, store_url: str, threads: int = 1) -> None:
        import torch

        torch.set_num_threads(max(1, int(threads)))
        import neuroplastic.experiments.registry as experiments
        import neuroplastic.methods
        import neuroplastic.runs  # training loop, data, record: imported once per worker

        experiments.available_experiments()  # import the built-in experiments once
        neuroplastic.methods.available_methods()
        self.store = SweepStore(store_url)

    def pid(self) -> int:
        """This worker's process id (the one its runs record)."""
        return os.getpid()

    def run(self, entry_id: int, config: dict[str, Any]) -> dict[str, Any]:
        """Run one configuration; return its outcome (status, attempt, run id, error, times)."""
        started = time.perf_counter()
        attempt = self.store.claim(entry_id)
        self.store.entry_id = entry_id
        run_id: int | None = None
        error: str | None = None
        status = "finished"
        run_started = time.perf_counter()
        try:
            run_id = execute(SweepConfig.from_dict(config), self.store)
        except KeyboardInterrupt as exc:
            status, error = "interrupted", _one_line(exc) or "interrupted"
        except Exception as exc:
            status, error = "failed", _one_line(exc)
        run_seconds = time.perf_counter() - run_started
        self.store.entry_id = None
        if error is not None:
            self.store.fail_entry(entry_id, error)
        return {
            "entry_id": entry_id,
            "status": status,
            "attempt": attempt,
            "run_id": run_id,
            "error": error,
            "run_seconds": run_seconds,
            "seconds": time.perf_counter() - started,
            "pid": os.getpid(),
        }

    def close(self) -> None:
        """Release the store's connections."""
        self.store.close()
