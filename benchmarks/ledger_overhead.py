"""Benchmark: cost of counting every update through Synapses + Ledger.

One MNIST epoch of backprop (784-1000-10, ReLU, cross-entropy, batch 100, plain SGD lr 0.1) is
trained twice in the same process from the same initial weights and data order:

- ``plain``: a plain PyTorch loop (``nn.Linear`` layers, ``loss.backward()``, ``torch.optim.SGD``);
- ``ledger``: neuroplastic's ``BackpropLearner.train_step``, whose SGD step is written by
  ``Synapses.apply`` and counted in the ledger (M0, M1, M2 per group).

The two alternate ``--repeats`` times (after one warm-up epoch each) and the median wall times
are compared. Target: ratio ledger/plain <= 1.10. Writes JSON (``--json``).

    python benchmarks/ledger_overhead.py --json results/ledger_overhead.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuroplastic.data import fetch_mnist, load_mnist
from neuroplastic.energy.ledger import Ledger
from neuroplastic.methods import BuildContext
from neuroplastic.methods.backprop import BackpropLearner, BackpropParams

HIDDEN = 1000
BATCH = 100
LR = 0.1


def load_train(limit: int | None) -> tuple[Tensor, Tensor]:
    """Full MNIST training set (or its first ``limit`` samples) as (N, 784) floats in [0, 1]."""
    arrays = load_mnist(fetch_mnist(), verify=False)
    x = torch.from_numpy(arrays.train_images.reshape(-1, 784)).float() / 255.0
    y = torch.from_numpy(arrays.train_labels.astype("int64"))
    return (x, y) if limit is None else (x[:limit], y[:limit])


def make_ledger_learner(seed: int) -> BackpropLearner:
    ctx = BuildContext(
        784, 10, (HIDDEN,), Ledger(), torch.Generator().manual_seed(seed), torch.device("cpu")
    )
    return BackpropLearner(ctx, BackpropParams(optimizer="sgd", lr=LR))


def make_plain_model(learner: BackpropLearner) -> nn.Sequential:
    """A plain nn.Linear MLP holding copies of the learner's initial weights."""
    model = nn.Sequential(nn.Linear(784, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 10))
    with torch.no_grad():
        for linear, layer in zip((model[0], model[2]), learner.model.layers, strict=True):
            linear.weight.copy_(layer.weight.w)
            linear.bias.copy_(layer.bias.w)
    return model


def epoch_plain(model: nn.Module, opt: torch.optim.Optimizer, x: Tensor, y: Tensor) -> float:
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))
    start = time.perf_counter()
    for b in range(0, x.shape[0], BATCH):
        idx = order[b : b + BATCH]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def epoch_ledger(learner: BackpropLearner, x: Tensor, y: Tensor) -> float:
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))
    start = time.perf_counter()
    for b in range(0, x.shape[0], BATCH):
        idx = order[b : b + BATCH]
        learner.train_step(x[idx], y[idx])
    return time.perf_counter() - start


def run(repeats: int, limit: int | None, seed: int = 0) -> dict[str, Any]:
    """Alternate plain and ledger epochs; return timings, ratio and sanity checks."""
    x, y = load_train(limit)
    learner = make_ledger_learner(seed)
    model = make_plain_model(learner)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    epoch_plain(model, opt, x, y)  # warm-up
    epoch_ledger(learner, x, y)
    # after identical training the two must hold (nearly) the same weights
    max_weight_diff = float(
        (model[0].weight.detach() - learner.model.layers[0].weight.w.detach()).abs().max()
    )
    plain, ledger = [], []
    for _ in range(repeats):
        plain.append(epoch_plain(model, opt, x, y))
        ledger.append(epoch_ledger(learner, x, y))
    counts = learner.ledger.counts()
    ratio = statistics.median(ledger) / statistics.median(plain)
    return {
        "benchmark": "ledger_overhead",
        "architecture": f"784-{HIDDEN}-10",
        "batch_size": BATCH,
        "optimizer": f"sgd lr={LR}",
        "samples_per_epoch": int(x.shape[0]),
        "repeats": repeats,
        "plain_s": plain,
        "ledger_s": ledger,
        "plain_median_s": statistics.median(plain),
        "ledger_median_s": statistics.median(ledger),
        "ratio": ratio,
        "target_ratio": 1.10,
        "meets_target": ratio <= 1.10,
        "max_weight_diff_after_warmup": max_weight_diff,
        "ledger_m0": counts.m0,
        "ledger_m1": counts.m1,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.platform(),
        "python": platform.python_version(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="samples per epoch (default all)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    result = run(args.repeats, args.limit)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
