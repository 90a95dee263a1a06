"""Plot accuracy against non-silent synapses, one line per family of runs.

Usage: python scripts/plot_equal_budget.py results/structural/budget_*.json --out equal_budget.png
The family is the middle part of each file name: budget_<family>_<budget>.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("records", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    families: dict[str, list[tuple[int, float]]] = {}
    for path in args.records:
        family = path.stem.split("_")[1]
        for rec in json.loads(path.read_text()):
            families.setdefault(family, []).append(
                (rec["synapses_nonsilent"], 100 * rec["test_accuracy"])
            )
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    for family, points in sorted(families.items()):
        points.sort()
        ax.plot([p[0] for p in points], [p[1] for p in points], "o-", label=family)
    ax.set_xscale("log")
    ax.set_xlabel("non-silent synapses (biases and readout included)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("MNIST, ten classes, equal synapse budget (seed 0)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print(f"plot written to {args.out}")


if __name__ == "__main__":
    main()
