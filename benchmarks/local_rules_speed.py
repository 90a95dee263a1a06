"""Benchmark: wall time of one training epoch of each local rule against backprop at the same
width, in one process, one thread.

Every method is built by its registered builder for 784-``--hidden``-10 (Krotov–Hopfield and the
other unsupervised rules with their hidden layer learning, i.e. in their unsupervised epochs,
plus the readout) and trained over the same ``--samples`` MNIST training images (batches of
``--batch``, default 100, for every method; one epoch, after a warm-up of 10 batches; the
hidden layer learns from its first batch on, so the times are of *learning* epochs). The
methods are timed in turn, ``--repeats`` times, and the median is compared with backprop's
(Adam, the default). Target: local ≤ 0.5 × backprop. Writes JSON (``--json``).

    python benchmarks/local_rules_speed.py --json results/local_rules_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from neuroplastic.data import fetch_mnist, load_mnist
from neuroplastic.energy.ledger import Ledger
from neuroplastic.methods import BuildContext, Learner, get_method

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


def build(name: str, hidden: int, batch: int) -> Learner:
    method = get_method(name)
    ctx = BuildContext(
        784, 10, (hidden,), Ledger(), torch.Generator().manual_seed(0), torch.device("cpu")
    )
    return method.build(ctx, method.params_model(batch_size=batch))


def epoch_seconds(learner: Learner, x: Tensor, y: Tensor, batch: int) -> float:
    start = time.perf_counter()
    for b in range(0, x.shape[0], batch):
        learner.train_step(x[b : b + batch], y[b : b + batch])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=100, help="batch size of every method")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset")
    parser.add_argument("--json", type=Path, default=Path("results/local_rules_speed.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    arrays = load_mnist(fetch_mnist(None), verify=False)
    images = torch.from_numpy(arrays.train_images[: args.samples].copy())
    x = images.reshape(images.shape[0], -1).float() / 255.0
    y = torch.from_numpy(arrays.train_labels[: args.samples].copy()).long()
    names = ["backprop", *[m for m in args.methods.split(",") if m and m != "backprop"]]
    batch = args.batch
    learners = {name: build(name, args.hidden, batch) for name in names}
    for learner in learners.values():  # warm-up
        epoch_seconds(learner, x[: 10 * batch], y[: 10 * batch], batch)
    times: dict[str, list[float]] = {name: [] for name in names}
    load_before = os.getloadavg()
    for _ in range(args.repeats):
        for name, learner in learners.items():
            times[name].append(epoch_seconds(learner, x, y, batch))
    median = {name: statistics.median(t) for name, t in times.items()}
    base = median["backprop"]
    out: dict[str, Any] = {
        "benchmark": "local_rules_speed",
        "hidden": args.hidden,
        "samples_per_epoch": int(x.shape[0]),
        "batch_size": batch,
        "repeats": args.repeats,
        "threads": torch.get_num_threads(),
        "machine": platform.platform(),
        "load_average_before": load_before,
        "load_average": os.getloadavg(),
        "epoch_s_median": median,
        "epoch_s_all": times,
        "ratio_to_backprop": {name: t / base for name, t in median.items()},
        "target_ratio": 0.5,
        "meets_target": {name: median[name] / base <= 0.5 for name in names[1:]},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2))
    for name in names:
        print(f"{name:20s} {median[name]:8.3f} s  ×{median[name] / base:.2f} of backprop")


if __name__ == "__main__":
    main()
