"""Benchmark: what reading the energy meter costs, against one backprop epoch.

One MNIST epoch of backprop (784-1000-10, ReLU, cross-entropy, batch 100, plain SGD lr 0.1)
through the ledger (``BackpropLearner.train_step``), in one process, one thread, alternating:

- ``plain``: the epoch alone;
- ``metered``: the same epoch inside a ``MeterSession`` window ``train`` followed by an empty
  ``evaluate`` window, as ``run_method`` does once per run (here once per epoch: an upper
  bound), with each meter: ``machine`` (what ``MeterSession.open('auto', 'cpu')`` finds:
  Zeus where RAPL or NVML answers, else the unavailable path), and ``fake`` (a meter reading
  a counter file per call, as RAPL's sysfs counters are read).

Two overhead figures per meter: ``direct`` = time spent inside the meter's calls / epoch time
(exact, immune to load noise), and ``pairs`` = metered / plain epoch time of each alternating
pair (includes the machine's noise). The one-off cost of opening the meter (importing Zeus,
finding the counters) is reported apart: it is paid once per run, not per epoch.
Target: overhead <= 2 % of an epoch. Writes JSON (``--json``).

    python benchmarks/meter_overhead.py --json results/meter_overhead.json
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from _common import (
    benchmark_parser,
    build_learner,
    load_average,
    machine_info,
    mnist_train,
    shuffled,
    train_epoch,
    write_json,
)
from torch import Tensor

from neuroplastic.energy.meter import MeterSession, WindowEnergy, window_from_parts
from neuroplastic.methods import Learner

HIDDEN = 1000
BATCH = 100
LR = 0.1
TARGET = 0.02


class FileCounterMeter:
    """A fake meter that reads an energy counter file at each window edge (as RAPL's sysfs
    ``energy_uj`` is read) and reports the difference in joules."""

    method = "fake: counter file read per window edge"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.write_text("0\n")
        self.start: dict[str, tuple[float, int]] = {}

    def _read(self) -> int:
        return int(self.path.read_text())

    def begin_window(self, name: str) -> None:
        self.start[name] = (time.perf_counter(), self._read())

    def end_window(self, name: str) -> WindowEnergy:
        t0, e0 = self.start.pop(name)
        e1 = self._read() + 1_000_000  # the fake counter advanced by 1 J
        return window_from_parts(time.perf_counter() - t0, {"cpu:0": (e1 - e0) / 1e6})


def epoch(learner: Learner, x: Tensor, y: Tensor, session: MeterSession | None) -> float:
    """Seconds of one epoch (the same shuffled order every time), inside the session's
    ``train`` window and followed by an empty ``evaluate`` window when a session is given."""
    order = shuffled(x.shape[0], 0)
    if session is None:
        return train_epoch(learner, x, y, BATCH, order)
    start = time.perf_counter()
    with session.window("train"):
        train_epoch(learner, x, y, BATCH, order)
    with session.window("evaluate"):
        pass
    session.result()
    return time.perf_counter() - start


def measure(name: str, make_session: Any, repeats: int, x: Tensor, y: Tensor) -> dict[str, Any]:
    """Alternate plain and metered epochs; the meter's own time and the pair ratios."""
    t0 = time.perf_counter()
    probe = make_session()
    open_s = time.perf_counter() - t0
    learner = build_learner("backprop", HIDDEN, seed=0, optimizer="sgd", lr=LR)
    epoch(learner, x, y, None)  # warm-up
    plain, metered, direct = [], [], []
    for _ in range(repeats):
        plain.append(epoch(learner, x, y, None))
        session = make_session()
        metered.append(epoch(learner, x, y, session))
        direct.append(session.overhead_s / metered[-1])
    result = probe.result()
    return {
        "meter": name,
        "meter_method": result.method,
        "meter_status": result.status,
        "meter_reason": result.reason,
        "open_s": open_s,
        "plain_s": plain,
        "metered_s": metered,
        "pair_ratios": [m / p for m, p in zip(metered, plain, strict=True)],
        "pair_ratio_median": statistics.median(m / p for m, p in zip(metered, plain, strict=True)),
        "direct_overhead_fraction": direct,
        "direct_overhead_median": statistics.median(direct),
        "meets_target_direct": statistics.median(direct) <= TARGET,
    }


def run(repeats: int, limit: int | None) -> dict[str, Any]:
    torch.set_num_threads(1)
    x, y = mnist_train(limit)
    with tempfile.TemporaryDirectory() as tmp:
        counter = Path(tmp) / "energy_uj"
        meters = {
            "machine": lambda: MeterSession.open("auto", "cpu"),
            "fake": lambda: MeterSession(FileCounterMeter(counter)),
        }
        results = [measure(name, make, repeats, x, y) for name, make in meters.items()]
    return {
        "benchmark": "meter_overhead",
        "architecture": f"784-{HIDDEN}-10",
        "batch_size": BATCH,
        "optimizer": f"sgd lr={LR}",
        "samples_per_epoch": int(x.shape[0]),
        "repeats": repeats,
        "target_fraction": TARGET,
        "meters": results,
        "load_average": load_average(),
        **machine_info(),
    }


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="samples per epoch (default all)")
    args = parser.parse_args()
    write_json(run(args.repeats, args.limit), args.json)


if __name__ == "__main__":
    main()
