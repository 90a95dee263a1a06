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
from neuroplastic.methods.structural import StructuralLearner

BATCH = 100


def build(name: str, hidden: int) -> Learner:
    method = get_method(name)
    ctx = BuildContext(
        784, 10, (hidden,), Ledger(), torch.Generator().manual_seed(0), torch.device("cpu")
    )
    return method.build(ctx, method.params_model(batch_size=BATCH))


def steps_seconds(learner: Learner, x: Tensor, y: Tensor) -> float:
    start = time.perf_counter()
    for b in range(0, x.shape[0], BATCH):
        learner.train_step(x[b : b + BATCH], y[b : b + BATCH])
    return time.perf_counter() - start


def hebbian_epoch(rule: StructuralLearner, x: Tensor, y: Tensor) -> float:
    """The last Hebbian epoch of the schedule, with its pruning and growth at the end."""
    last = rule.p.plastic_epochs() - 1
    rule.epoch = last
    start = time.perf_counter()
    steps_seconds(rule, x, y)
    rule.on_epoch_end(last)
    return time.perf_counter() - start


def readout_epoch(rule: StructuralLearner, x: Tensor, y: Tensor) -> float:
    rule.epoch = rule.p.plastic_epochs()
    return steps_seconds(rule, x, y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=Path("results/structural_speed.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    arrays = load_mnist(fetch_mnist(None), verify=False)
    images = torch.from_numpy(arrays.train_images[: args.samples].copy())
    x = images.reshape(images.shape[0], -1).float() / 255.0
    y = torch.from_numpy(arrays.train_labels[: args.samples].copy()).long()
    backprop = build("backprop", args.hidden)
    rule = build("structural", args.hidden)
    assert isinstance(rule, StructuralLearner)
    warm_x, warm_y = x[: 10 * BATCH], y[: 10 * BATCH]
    steps_seconds(backprop, warm_x, warm_y)
    hebbian_epoch(rule, warm_x, warm_y)
    readout_epoch(rule, warm_x, warm_y)
    times: dict[str, list[float]] = {
        "backprop": [],
        "structural_hebbian": [],
        "structural_readout": [],
    }
    load_before = os.getloadavg()
    for _ in range(args.repeats):
        times["backprop"].append(steps_seconds(backprop, x, y))
        times["structural_hebbian"].append(hebbian_epoch(rule, x, y))
        times["structural_readout"].append(readout_epoch(rule, x, y))
    median = {name: statistics.median(t) for name, t in times.items()}
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
        "load_average_after": os.getloadavg(),
        "structural_schedule": {"hebbian_epochs": hebbian_epochs, "epochs": epochs},
        "epoch_s_median": median,
        "epoch_s_all": times,
        "ratio_to_backprop": {name: t / base for name, t in median.items()},
        "meets_target": {
            "hebbian_epoch": median["structural_hebbian"] <= base,
            "schedule_mean": schedule <= base,
        },
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2))
    for name, t in median.items():
        print(f"{name:26s} {t:8.3f} s  ×{t / base:.2f} of backprop")
    print(f"load average before {load_before}, after {out['load_average_after']}")


if __name__ == "__main__":
    main()
