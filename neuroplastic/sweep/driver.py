"""Run a sweep on Ray: schedule configurations on long-lived workers, into one store.

:func:`run_sweep` records the sweep and its configurations in the store (rows keyed by a hash
of configuration and code version, so what is already ``finished`` is skipped), connects to Ray
(a local Ray on this machine by default, ``address`` to join a cluster), starts one
:class:`~neuroplastic.sweep.worker.SweepWorker` actor per ``cpus_per_run`` (and
``gpus_per_run``) of the cluster, and keeps each busy with one configuration at a time until
all are done, showing a progress bar with ETA. A failed configuration (an error, or a worker
that died under it) is recorded and retried up to ``retries`` more times; what still fails is
left ``failed`` and retried by the next run of the same sweep.

Ctrl-C stops scheduling and waits for the runs in progress to finish (their results are
written whole); a second Ctrl-C abandons them: their workers are killed, nothing of theirs is
finished in the store (a result and its row are written in one transaction), and the next run
of the sweep runs them again.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from neuroplastic.errors import NeuroplasticError
from neuroplastic.store.run_store import neuroplastic_version
from neuroplastic.store.sweeps import SweepEntry, SweepStore
from neuroplastic.sweep.spec import Sweep, SweepConfig, config_key

__all__ = ["SweepError", "SweepSummary", "connect_ray", "prepare_entries", "run_sweep"]


class SweepError(NeuroplasticError):
    """Ray cannot be reached or started, or the cluster cannot hold one run."""


@dataclass
class SweepSummary:
    """What one run of a sweep did."""

    sweep_id: str
    total: int
    already_finished: int
    finished: int = 0
    failed: int = 0
    retried: int = 0
    interrupted: bool = False
    workers: int = 0
    seconds: float = 0.0
    """Wall time from the first submission to the last outcome (workers already started)."""
    startup_seconds: float = 0.0
    """Connecting to Ray and starting the workers (torch imported once per worker)."""
    run_seconds: list[float] = field(default_factory=list)
    """Each run's own time, measured inside its worker."""
    failures: list[str] = field(default_factory=list)

    @property
    def overhead_per_run(self) -> float | None:
        """Seconds per run beyond the runs' own time: (wall × workers − Σ run) / runs."""
        n = len(self.run_seconds)
        if n == 0:
            return None
        return (self.seconds * self.workers - sum(self.run_seconds)) / n


def prepare_entries(
    sweep: Sweep, store: SweepStore, code_version: str | None = None
) -> tuple[list[SweepEntry], int]:
    """Record the sweep and its configurations; return (rows to run, rows already finished)."""
    version = code_version or neuroplastic_version()
    keyed = [(config_key(c, version), c.as_dict()) for c in sweep.configs]
    store.ensure_sweep(sweep.id, sweep.spec)
    store.add_entries(sweep.id, keyed, version)
    store.release_stale(sweep.id)
    entries = store.entries(sweep.id, [key for key, _ in keyed])
    todo = [e for e in entries if e.status != "finished"]
    return todo, len(entries) - len(todo)


def _check_reachable(address: str) -> None:
    """One-line SweepError unless ``host:port`` accepts a TCP connection within 5 s."""
    if address == "auto":
        return
    target = address.split("://", 1)[-1]
    host, sep, port_text = target.rpartition(":")
    if not sep or not port_text.isdigit():
        raise SweepError(f"Ray address {address!r} must be host:port (e.g. 127.0.0.1:6379)")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port_text)), timeout=5):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SweepError(f"cannot reach Ray at {address}: {reason}") from None


_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def _host(address: str) -> str:
    return address.split("://", 1)[-1].rpartition(":")[0]


def _keep_on_loopback() -> None:
    """Make Ray use 127.0.0.1 for this machine's node, not the address of its network interface.

    Ray replaces a loopback address (and picks the node address of a local Ray) by the
    machine's outward-facing IP, which a cluster bound to 127.0.0.1 does not listen on. Its
    switch for single-machine use is ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, read at import.
    """
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray._private.ray_constants as constants

    constants.ENABLE_RAY_CLUSTER = False


@contextlib.contextmanager
def connect_ray(address: str | None, num_cpus: int | None) -> Iterator[Any]:
    """Ray connected to ``address`` (a cluster) or started on this machine; shut down after."""
    try:
        import ray
    except ImportError:
        raise SweepError(
            "Ray is not installed: pip install 'neuroplastic[sweep]' (the optional extra)"
        ) from None
    if address:
        _check_reachable(address)
    if not address or _host(address) in _LOOPBACK:
        _keep_on_loopback()
    kwargs: dict[str, Any] = {
        "logging_level": logging.ERROR,
        "log_to_driver": False,
        "configure_logging": True,
    }
    try:
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, **kwargs)
    except Exception as exc:
        target = address or "a local Ray"
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SweepError(f"cannot start or join {target}: {first}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def run_sweep(
    sweep: Sweep,
    store_url: str | None = None,
    *,
    address: str | None = None,
    cpus_per_run: float = 1.0,
    gpus_per_run: float = 0.0,
    workers: int | None = None,
    retries: int | None = None,
    console: Console | None = None,
    progress: bool = True,
) -> SweepSummary:
    """Run every configuration of ``sweep`` not yet finished; return what happened."""
    console = console or Console(stderr=True)
    if cpus_per_run <= 0 or gpus_per_run < 0:
        raise SweepError("--cpus-per-run must be > 0 and --gpus-per-run >= 0")
    if workers is not None and workers < 1:
        raise SweepError(f"--workers must be at least 1 (got {workers})")
    retries = sweep.retries if retries is None else retries
    store = SweepStore(store_url)
    try:
        todo, done_before = prepare_entries(sweep, store)
        summary = SweepSummary(sweep.id, len(sweep.configs), done_before)
        if not todo:
            return summary
        local_cpus = None
        if not address:
            want = workers if workers is not None else (os.cpu_count() or 1)
            local_cpus = max(1, math.ceil(want * cpus_per_run))
        t0 = time.perf_counter()
        with connect_ray(address, local_cpus) as ray:
            actors, new_actor = _start_workers(
                ray, store, cpus_per_run, gpus_per_run, workers, len(todo)
            )
            summary.workers = len(actors)
            summary.startup_seconds = time.perf_counter() - t0
            _schedule(ray, actors, new_actor, todo, store, retries, summary, console, progress)
        return summary
    finally:
        store.close()


def _start_workers(
    ray: Any,
    store: SweepStore,
    cpus_per_run: float,
    gpus_per_run: float,
    workers: int | None,
    n_todo: int,
) -> tuple[list[Any], Callable[[], Any]]:
    """Start the workers and wait until each is warm; return them and a factory of more."""
    from neuroplastic.sweep.worker import SweepWorker

    resources = ray.cluster_resources()
    cpus, gpus = float(resources.get("CPU", 0)), float(resources.get("GPU", 0))
    if cpus < cpus_per_run or gpus < gpus_per_run:
        raise SweepError(
            f"the Ray cluster has {cpus:g} CPUs and {gpus:g} GPUs; one run needs "
            f"{cpus_per_run:g} CPUs and {gpus_per_run:g} GPUs"
        )
    fit = int(cpus // cpus_per_run)
    if gpus_per_run > 0:
        fit = min(fit, int(gpus // gpus_per_run))
    count = min(workers or fit, n_todo)
    remote = ray.remote(SweepWorker).options(
        num_cpus=cpus_per_run,
        num_gpus=gpus_per_run,
        max_restarts=0,  # a dead worker is replaced by the driver (its run is retried)
        max_task_retries=0,
    )
    threads = max(1, int(cpus_per_run))
    url = store.engine.url.render_as_string(hide_password=False)

    def new_actor() -> Any:
        return remote.remote(url, threads)

    actors = [new_actor() for _ in range(count)]
    try:
        ray.get([actor.pid.remote() for actor in actors])  # wait until every worker is warm
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SweepError(f"sweep workers could not start: {first}") from None
    return actors, new_actor


def _schedule(
    ray: Any,
    actors: list[Any],
    new_actor: Callable[[], Any],
    todo: list[SweepEntry],
    store: SweepStore,
    retries: int,
    summary: SweepSummary,
    console: Console,
    show: bool,
) -> None:
    queue: deque[SweepEntry] = deque(todo)
    tries: dict[int, int] = {}
    idle = list(actors)
    in_flight: dict[Any, tuple[Any, SweepEntry]] = {}
    stopping = False
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    bar = Progress(*columns, console=console, disable=not show, transient=False)
    start = time.perf_counter()
    with bar:
        task = bar.add_task(f"sweep {summary.sweep_id}", total=len(todo), failed=0)
        while queue or in_flight:
            try:
                while queue and idle and not stopping:
                    entry = queue.popleft()
                    actor = idle.pop()
                    tries[entry.id] = tries.get(entry.id, 0) + 1
                    ref = actor.run.remote(entry.id, entry.config)
                    in_flight[ref] = (actor, entry)
                if not in_flight:
                    break
                ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=1.0)
                for ref in ready:
                    actor, entry = in_flight.pop(ref)
                    outcome = _outcome(ray, ref, entry, store)
                    # a worker that died is replaced (its calls queue until it has started)
                    idle.append(new_actor() if outcome.get("worker_died") else actor)
                    final = _record(outcome, entry, tries, retries, queue, summary, stopping)
                    if final:
                        bar.update(task, advance=1, failed=summary.failed)
            except KeyboardInterrupt:
                if stopping:  # second Ctrl-C: abandon the runs in progress
                    for actor, _ in in_flight.values():
                        ray.kill(actor, no_restart=True)
                    in_flight.clear()
                    break
                stopping = True
                summary.interrupted = True
                queue.clear()
                console.print(
                    f"[yellow]stopping: no new runs; waiting for {len(in_flight)} in progress "
                    "(Ctrl-C again to abandon them; a re-run resumes)"
                )
    summary.seconds = time.perf_counter() - start


def _outcome(ray: Any, ref: Any, entry: SweepEntry, store: SweepStore) -> dict[str, Any]:
    """The worker's outcome, or a failure when the worker died under the run."""
    try:
        return dict(ray.get(ref))
    except Exception as exc:  # the actor died (killed, out of memory, node lost)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        error = f"worker died: {type(exc).__name__}: {first}"[:500]
        store.fail_entry(entry.id, error)
        return {
            "entry_id": entry.id,
            "status": "failed",
            "error": error,
            "run_seconds": None,
            "worker_died": True,
        }


def _record(
    outcome: dict[str, Any],
    entry: SweepEntry,
    tries: dict[int, int],
    retries: int,
    queue: deque[SweepEntry],
    summary: SweepSummary,
    stopping: bool,
) -> bool:
    """Count an outcome; requeue a failure with attempts left. True when the entry is done."""
    if outcome.get("run_seconds") is not None and outcome["status"] == "finished":
        summary.run_seconds.append(float(outcome["run_seconds"]))
    if outcome["status"] == "finished":
        summary.finished += 1
        return True
    if outcome["status"] == "failed" and tries[entry.id] <= retries and not stopping:
        summary.retried += 1
        queue.append(entry)
        return False
    if outcome["status"] == "failed":
        summary.failed += 1
        label = SweepConfig.from_dict(entry.config).label()
        summary.failures.append(f"{label}: {outcome.get('error')}")
        return True
    return False  # interrupted: left for the next run
