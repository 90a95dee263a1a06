"""Benchmark: wall time of a ten-class epoch of the structural rule against a backprop epoch of
the same width, in one process, one thread.

Both are built by their registered builders with their default parameters for
784-``--hidden``-10 and trained over the same ``--samples`` MNIST training images (batch 100,
after a warm-up of 10 batches). The structural rule has two kinds of epoch: a *Hebbian* epoch
(competitive learning of the hidden layer, timed with the end-of-epoch pruning and growth) and
a *readout* epoch (the softmax delta rule on the settled code). Its schedule mean weighs them as
its default schedule does (``hidden_epochs`` Hebbian, the rest readout). Timed in turn,
``--repeats`` times; medians. Target (issue 20): the rule's epochs cost no more than backprop's.
Writes JSON (``--json``).

    python benchmarks/structural_speed.py --json results/structural_speed.json
"""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

import torch
from _common import (
    alternate,
    benchmark_parser,
    build_learner,
    load_average,
    medians,
    mnist_train,
    train_epoch,
    write_json,
)
from torch import Tensor

from neuroplastic.methods.structural import StructuralLearner

BATCH = 100


def hebbian_epoch(rule: StructuralLearner, x: Tensor, y: Tensor) -> float:
    """The last Hebbian epoch of the schedule, with its pruning and growth at the end."""
    last = rule.p.plastic_epochs() - 1
    rule.epoch = last
    start = time.perf_counter()
    train_epoch(rule, x, y, BATCH)
    rule.on_epoch_end(last)
    return time.perf_counter() - start


def readout_epoch(rule: StructuralLearner, x: Tensor, y: Tensor) -> float:
    rule.epoch = rule.p.plastic_epochs()
    return train_epoch(rule, x, y, BATCH)


def main() -> None:
    parser = benchmark_parser(__doc__, Path("results/structural_speed.json"))
    parser.add_argument("--hidden", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, y = mnist_train(args.samples)
    backprop = build_learner("backprop", args.hidden, batch_size=BATCH)
    rule = build_learner("structural", args.hidden, batch_size=BATCH)
    assert isinstance(rule, StructuralLearner)
    warm_x, warm_y = x[: 10 * BATCH], y[: 10 * BATCH]
    train_epoch(backprop, warm_x, warm_y, BATCH)
    hebbian_epoch(rule, warm_x, warm_y)
    readout_epoch(rule, warm_x, warm_y)
    load_before = load_average()
    times = alternate(
        {
            "backprop": lambda: train_epoch(backprop, x, y, BATCH),
            "structural_hebbian": lambda: hebbian_epoch(rule, x, y),
            "structural_readout": lambda: readout_epoch(rule, x, y),
        },
        args.repeats,
    )
    median = medians(times)
    hebbian_epochs, epochs = rule.p.plastic_epochs(), rule.p.epochs
    schedule = (
        hebbian_epochs * median["structural_hebbian"]
        + (epochs - hebbian_epochs) * median["structural_readout"]
    ) / epochs
    median["structural_schedule_mean"] = schedule
    base = median["backprop"]
    out: dict[str, Any] = {
        "benchmark": "structural_speed",
        "hidden": args.hidden,
        "samples_per_epoch": int(x.shape[0]),
        "batch_size": BATCH,
        "repeats": args.repeats,
        "threads": torch.get_num_threads(),
        "machine": platform.platform(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "structural_schedule": {"hebbian_epochs": hebbian_epochs, "epochs": epochs},
        "epoch_s_median": median,
        "epoch_s_all": times,
        "ratio_to_backprop": {name: t / base for name, t in median.items()},
        "meets_target": {
            "hebbian_epoch": median["structural_hebbian"] <= base,
            "schedule_mean": schedule <= base,
        },
    }
    write_json(out, args.json, echo=False)
    for name, t in median.items():
        print(f"{name:26s} {t:8.3f} s  ×{t / base:.2f} of backprop")
    print(f"load average before {load_before}, after {out['load_average_after']}")


if __name__ == "__main__":
    main()
