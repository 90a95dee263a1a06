"""Benchmark: wall time of personalising the CNN for one user by fine-pruning (target < 10 s).

In one process, one thread, on the cached CNN base model (seed 0; trained first if missing) and
one user (``classes=1,4,7;seed=0``, 600 unlabelled adaptation images), alternating ``--repeats``
times after a warm-up:

- ``fine_prune``: the default fine-pruning (forward passes only);
- ``fine_prune_bn``: the same with batch-norm re-estimation (the variant);
- ``tent_1epoch``: TENT, one epoch over the same images (forward + backward);
- ``forward_pass``: one plain forward pass of the base model over the 600 images (the unit
  of the ratios reported: how many forward passes' worth of time each method takes).

Median times and ratios go to JSON (``--json``) with the machine load (``os.getloadavg``).

    OMP_NUM_THREADS=1 python benchmarks/fine_pruning_speed.py --json results/fine_pruning_speed.json
"""

from __future__ import annotations

import functools
import os
import platform
from collections.abc import Callable
from typing import Any

import torch
from _common import alternate, benchmark_parser, load_average, medians, timed, write_json

from neuroplastic.finepruning.baselines import tent
from neuroplastic.finepruning.models import base_model
from neuroplastic.finepruning.prune import FinePruneParams, fine_prune
from neuroplastic.finepruning.users import load_user, parse_user

TARGET_S = 10.0


def main() -> None:
    """Run the benchmark and write its JSON."""
    parser = benchmark_parser(__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--user", default="classes=1,4,7;seed=0")
    args = parser.parse_args()
    torch.set_num_threads(1)
    load_before = load_average()
    model, path, meta = base_model("cnn", seed=0)
    user = load_user(parse_user(args.user))
    x = user.x_adapt

    def forward() -> None:
        with torch.no_grad():
            model(x)

    runs: dict[str, Callable[[], Any]] = {
        "forward_pass": forward,
        "fine_prune": lambda: fine_prune(model, x, FinePruneParams()),
        "fine_prune_bn": lambda: fine_prune(model, x, FinePruneParams(bn_reestimate=True)),
        "tent_1epoch": lambda: tent(model, x),
    }
    for fn in runs.values():  # warm-up
        fn()
    times = alternate(
        {name: functools.partial(timed, fn) for name, fn in runs.items()}, args.repeats
    )
    med = medians(times)
    result = {
        "benchmark": "fine_pruning_speed",
        "user": args.user,
        "n_adapt": int(x.shape[0]),
        "model": str(path),
        "base_test_accuracy": meta.get("test_accuracy"),
        "threads": torch.get_num_threads(),
        "repeats": args.repeats,
        "seconds": times,
        "median_seconds": med,
        "ratio_to_forward_pass": {k: v / med["forward_pass"] for k, v in med.items()},
        "fine_prune_over_tent": med["fine_prune"] / med["tent_1epoch"],
        "target_seconds": TARGET_S,
        "target_met": med["fine_prune"] < TARGET_S and med["fine_prune_bn"] < TARGET_S,
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "machine": platform.platform(),
        "cpu_count": os.cpu_count(),
    }
    write_json(result, args.json)


if __name__ == "__main__":
    main()
