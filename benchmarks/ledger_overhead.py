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

import time
from typing import Any

import torch
import torch.nn.functional as F
from _common import (
    alternate,
    benchmark_parser,
    build_learner,
    machine_info,
    medians,
    mnist_train,
    shuffled,
    train_epoch,
    write_json,
)
from torch import Tensor, nn

from neuroplastic.methods.backprop import BackpropLearner

HIDDEN = 1000
BATCH = 100
LR = 0.1


def make_ledger_learner(seed: int) -> BackpropLearner:
    learner = build_learner("backprop", HIDDEN, seed=seed, optimizer="sgd", lr=LR)
    assert isinstance(learner, BackpropLearner)
    return learner


def make_plain_model(learner: BackpropLearner) -> nn.Sequential:
    """A plain nn.Linear MLP holding copies of the learner's initial weights."""
    model = nn.Sequential(nn.Linear(784, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 10))
    with torch.no_grad():
        for linear, layer in zip((model[0], model[2]), learner.model.layers, strict=True):
            linear.weight.copy_(layer.weight.w)
            linear.bias.copy_(layer.bias.w)
    return model


def epoch_plain(
    model: nn.Module, opt: torch.optim.Optimizer, x: Tensor, y: Tensor, order: Tensor
) -> float:
    batches = [order[b : b + BATCH] for b in range(0, x.shape[0], BATCH)]  # as train_epoch
    start = time.perf_counter()
    for idx in batches:
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def run(repeats: int, limit: int | None, seed: int = 0) -> dict[str, Any]:
    """Alternate plain and ledger epochs; return timings, ratio and sanity checks."""
    x, y = mnist_train(limit)
    learner = make_ledger_learner(seed)
    model = make_plain_model(learner)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    order = shuffled(x.shape[0], 0)  # the same order in every epoch
    epoch_plain(model, opt, x, y, order)  # warm-up
    train_epoch(learner, x, y, BATCH, order)
    # after identical training the two must hold (nearly) the same weights
    max_weight_diff = float(
        (model[0].weight.detach() - learner.model.layers[0].weight.w.detach()).abs().max()
    )
    times = alternate(
        {
            "plain": lambda: epoch_plain(model, opt, x, y, order),
            "ledger": lambda: train_epoch(learner, x, y, BATCH, order),
        },
        repeats,
    )
    median = medians(times)
    counts = learner.ledger.counts()
    ratio = median["ledger"] / median["plain"]
    return {
        "benchmark": "ledger_overhead",
        "architecture": f"784-{HIDDEN}-10",
        "batch_size": BATCH,
        "optimizer": f"sgd lr={LR}",
        "samples_per_epoch": int(x.shape[0]),
        "repeats": repeats,
        "plain_s": times["plain"],
        "ledger_s": times["ledger"],
        "plain_median_s": median["plain"],
        "ledger_median_s": median["ledger"],
        "ratio": ratio,
        "target_ratio": 1.10,
        "meets_target": ratio <= 1.10,
        "max_weight_diff_after_warmup": max_weight_diff,
        "ledger_m0": counts.m0,
        "ledger_m1": counts.m1,
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
