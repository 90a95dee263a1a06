"""The measurement harness the benchmarks share (one job: time things and write the numbers).

- :func:`benchmark_parser`: the command line every benchmark starts from (its ``--json``);
- :func:`load_average`: ``uptime``'s three load averages, recorded beside every wall time;
- :func:`machine_info`: torch version, threads, CPU and Python of the process;
- :func:`mnist_train`: the first MNIST training images as (N, 784) floats in [0, 1];
- :func:`build_learner`: a registered method built for 784-``hidden``-10 on the CPU;
- :func:`train_epoch`: seconds of one pass of ``train_step`` over mini-batches (in the data's
  order or a :func:`shuffled` one);
- :func:`alternate`: ``repeats`` rounds, each timing every loop once in turn (so the machine's
  load falls on all of them alike), and :func:`medians` of the times;
- :func:`run_child`: wall and CPU seconds of a child process;
- :func:`write_json`: the result printed and written (atomically) as indented JSON.

Imported by the scripts in this folder as ``from _common import ...`` (the folder of the script
run is first on ``sys.path``). torch and neuroplastic are imported inside the functions that
need them, so a benchmark that only times child processes does not load them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import Tensor

    from neuroplastic.methods import Learner


def benchmark_parser(doc: str | None, json_default: Path | None = None) -> argparse.ArgumentParser:
    """A parser described by the first line of the benchmark's docstring, with ``--json``."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--json", type=Path, default=json_default, help="write the result here")
    return parser


def load_average() -> list[float]:
    """The 1-, 5- and 15-minute load averages (as ``uptime`` shows them, 2 decimals)."""
    return [round(v, 2) for v in os.getloadavg()]


def machine_info() -> dict[str, Any]:
    """torch version, torch threads, machine, processor and Python version of this process."""
    import torch

    return {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.platform(),
        "python": platform.python_version(),
    }


def mnist_train(limit: int | None = None) -> tuple[Tensor, Tensor]:
    """The MNIST training set (or its first ``limit`` samples): images as (N, 784) floats in
    [0, 1], labels as int64 (the files are fetched first if they are missing)."""
    import torch

    from neuroplastic.data import fetch_mnist, load_mnist

    arrays = load_mnist(fetch_mnist(), verify=False)
    images, labels = arrays.train_images[:limit], arrays.train_labels[:limit]
    x = torch.from_numpy(images.reshape(images.shape[0], 784).copy()).float() / 255.0
    return x, torch.from_numpy(labels.astype("int64"))


def build_learner(
    name: str, hidden: int, *, seed: int = 0, device: str = "cpu", **params: Any
) -> Learner:
    """Method ``name`` built by its registered builder for 784-``hidden``-10, with a fresh
    ledger, weights drawn from ``seed`` and ``params`` for its parameter model."""
    import torch

    from neuroplastic.energy.ledger import Ledger
    from neuroplastic.methods import BuildContext, get_method

    method = get_method(name)
    gen = torch.Generator().manual_seed(seed)
    ctx = BuildContext(784, 10, (hidden,), Ledger(), gen, torch.device(device))
    return method.build(ctx, method.params_model(**params))


def shuffled(n: int, seed: int) -> Tensor:
    """A permutation of ``range(n)`` drawn from a generator seeded with ``seed``."""
    import torch

    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


def train_epoch(
    learner: Learner, x: Tensor, y: Tensor, batch: int, order: Tensor | None = None
) -> float:
    """Wall seconds of ``learner.train_step`` over ``x, y`` in mini-batches of ``batch``, in
    the given order (e.g. :func:`shuffled`) or, without one, in the order of the data.

    A step whose update the door refuses as non-finite (``NonFiniteUpdateError``, nothing
    written) ends the epoch with :class:`~neuroplastic.errors.DivergedError`: ``step`` is the
    1-based batch refused, ``samples_seen`` the samples of this epoch trained before it, as
    the training loop reports a diverged run.
    """
    from neuroplastic.errors import DivergedError, NonFiniteUpdateError

    n = x.shape[0]
    if order is None:
        batches: list[Any] = [slice(b, b + batch) for b in range(0, n, batch)]
    else:
        batches = [order[b : b + batch] for b in range(0, n, batch)]
    step = 0  # batches started
    start = time.perf_counter()
    try:
        for idx in batches:
            step += 1
            learner.train_step(x[idx], y[idx])
    except NonFiniteUpdateError as exc:
        seen = (step - 1) * batch
        raise DivergedError(
            f"diverged at step {step} (after {seen} samples of the epoch): {exc}", step, seen
        ) from None
    return time.perf_counter() - start


def timed(fn: Callable[[], object]) -> float:
    """Wall seconds of one call of ``fn``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(loops: Mapping[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """``repeats`` rounds; in each, every loop (a callable returning its own seconds) runs once,
    in the order given. Returns each loop's seconds, round by round."""
    times: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(repeats):
        for name, loop in loops.items():
            times[name].append(loop())
    return times


def medians(times: Mapping[str, list[float]]) -> dict[str, float]:
    """The median of each loop's times."""
    return {name: statistics.median(t) for name, t in times.items()}


def run_child(
    argv: list[str], env: Mapping[str, str], cwd: Path | None = None, timeout: float | None = None
) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run ``argv`` to its end (output captured as text): the finished process, its wall
    seconds and its CPU seconds (user + system of the child, from ``getrusage``)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        argv,
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc, wall, cpu


def write_json(result: Mapping[str, Any], path: Path | None, *, echo: bool = True) -> None:
    """Print ``result`` as indented JSON (unless ``echo`` is false) and write it to ``path``
    (atomically, parent folders created, final newline) when a path is given."""
    text = json.dumps(result, indent=2)
    if echo:
        print(text)
    if path is not None:
        from neuroplastic.atomic import write_text_atomic

        write_text_atomic(path, text + "\n")
