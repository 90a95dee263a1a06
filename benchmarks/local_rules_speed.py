"""Benchmark: wall time of one training epoch of each local rule against backprop at the same
width, in one process, one thread.

Every method is built by its registered builder for 784-``--hidden``-10 (Krotov–Hopfield and the
other unsupervised rules with their hidden layer learning, i.e. in their unsupervised epochs,
plus the readout) and trained over the same ``--samples`` MNIST training images (batches of
``--batch``, default 100, for every method; one epoch, after a warm-up of 10 batches; the
hidden layer learns from its first batch on, so the times are of *learning* epochs). The
methods are timed in turn, ``--repeats`` times, and the median is compared with backprop's
(Adam, the default). Target: local ≤ 0.5 × backprop. Writes JSON (``--json``).

A method whose update the door refuses as non-finite (``NonFiniteUpdateError``: nothing is
written; a run would stop as ``diverged``) is not timed further: its row says it diverged, in
which phase (warm-up or repeat) and after how many samples, its median and ratio are null,
and the other methods are timed on (JSON ``diverged``: method → phase and sample counts).

    python benchmarks/local_rules_speed.py --json results/local_rules_speed.json
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import torch
from _common import (
    benchmark_parser,
    build_learner,
    load_average,
    medians,
    mnist_train,
    train_epoch,
    write_json,
)
from torch import Tensor

from neuroplastic.errors import DivergedError
from neuroplastic.methods import Learner

METHODS = [
    "backprop",
    "hebb",
    "oja",
    "bcm",
    "krotov-hopfield",
    "softhebb",
    "random-projection",
    "feedback-alignment",
]


class EpochTimer:
    """Times epochs of the learners in turn; a learner whose update the door refuses as
    non-finite is marked diverged (where: the phase and the samples it had trained before the
    refused batch) and left out of the later rounds, instead of stopping the benchmark."""

    def __init__(self, learners: dict[str, Learner], batch: int) -> None:
        self.learners, self.batch = learners, batch
        self.trained = dict.fromkeys(learners, 0)  # samples each learner has trained so far
        self.diverged: dict[str, dict[str, Any]] = {}

    def epoch(self, name: str, x: Tensor, y: Tensor, phase: str) -> float | None:
        """Seconds of one epoch of ``name`` over ``x, y``; None once it has diverged."""
        if name in self.diverged:
            return None
        try:
            seconds = train_epoch(self.learners[name], x, y, self.batch)
        except DivergedError as exc:
            self.diverged[name] = {
                "phase": phase,
                "samples_trained_before": self.trained[name] + exc.samples_seen,
                "epoch_samples_before": exc.samples_seen,
                "error": str(exc),
            }
            return None
        self.trained[name] += x.shape[0]
        return seconds


def main() -> None:
    parser = benchmark_parser(__doc__, Path("results/local_rules_speed.json"))
    parser.add_argument("--hidden", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=100, help="batch size of every method")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset")
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, y = mnist_train(args.samples)
    names = ["backprop", *[m for m in args.methods.split(",") if m and m != "backprop"]]
    batch = args.batch
    learners = {name: build_learner(name, args.hidden, batch_size=batch) for name in names}
    timer = EpochTimer(learners, batch)
    for name in names:  # warm-up
        timer.epoch(name, x[: 10 * batch], y[: 10 * batch], "warm-up")
    times: dict[str, list[float]] = {name: [] for name in names}
    load_before = load_average()
    for repeat in range(1, args.repeats + 1):
        for name in names:
            seconds = timer.epoch(name, x, y, f"repeat {repeat}")
            if seconds is not None:
                times[name].append(seconds)
    diverged = timer.diverged
    finished = medians({name: t for name, t in times.items() if name not in diverged})
    median = {name: finished.get(name) for name in names}
    base = median["backprop"]

    def ratio(name: str) -> float | None:
        t = median[name]
        return None if t is None or base is None else t / base

    out: dict[str, Any] = {
        "benchmark": "local_rules_speed",
        "hidden": args.hidden,
        "samples_per_epoch": int(x.shape[0]),
        "batch_size": batch,
        "repeats": args.repeats,
        "threads": torch.get_num_threads(),
        "machine": platform.platform(),
        "load_average_before": load_before,
        "load_average": load_average(),
        "epoch_s_median": median,
        "epoch_s_all": times,
        "ratio_to_backprop": {name: ratio(name) for name in names},
        "target_ratio": 0.5,
        "meets_target": {
            name: None if (r := ratio(name)) is None else r <= 0.5 for name in names[1:]
        },
        "diverged": diverged,
    }
    write_json(out, args.json, echo=False)
    for name in names:
        if name in diverged:
            d = diverged[name]
            print(
                f"{name:20s} diverged in {d['phase']} after {d['epoch_samples_before']:,} samples "
                f"of the epoch ({d['samples_trained_before']:,} trained in all)"
            )
        else:
            r = ratio(name)
            of_backprop = "" if r is None else f"  ×{r:.2f} of backprop"
            print(f"{name:20s} {median[name]:8.3f} s{of_backprop}")


if __name__ == "__main__":
    main()
