"""Plot the spiking reproduction's per-epoch trend: accuracy and spikes per hidden neuron.

The trend is the list written by the spiking reproduction driver (one entry per epoch with
``train``, ``val`` and ``test`` statistics). Two panels: test and validation accuracy with
and without pseudospikes against epochs, beside the paper's 97.6 % (pseudospikes) and
97.3 % (ordinary spikes only); and spikes per hidden neuron per sample against epochs,
beside the paper's 0.42.

    python -m neuroplastic.experiments.spiking_trend_plot RESULT.json OUT.png
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neuroplastic.atomic import save_figure_atomic

PAPER_ACCURACY = 0.976  # Klos & Memmesheimer 2025, pseudospikes in the prediction
PAPER_ACCURACY_ORDINARY = 0.973  # ordinary spikes only
PAPER_SPIKES_PER_HIDDEN = 0.42


def plot_trend(trend: Sequence[dict[str, Any]], path: Path) -> None:
    """Write the two-panel trend figure to ``path`` (PNG, or any format matplotlib knows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [t["epoch"] for t in trend]
    fig, (ax_acc, ax_spk) = plt.subplots(1, 2, figsize=(11, 4))
    readouts = (
        ("accuracy", "C0", "with pseudospikes"),
        ("accuracy_no_pseudospikes", "C1", "ordinary spikes only"),
    )
    for split, style in (("test", "-"), ("val", ":")):
        for key, color, label in readouts:
            values = [100 * t[split][key] for t in trend]
            ax_acc.plot(epochs, values, style, color=color, label=f"{split}, {label}")
    ax_acc.axhline(100 * PAPER_ACCURACY, color="C0", lw=0.8, ls="--", label="paper 97.6 %")
    ax_acc.axhline(
        100 * PAPER_ACCURACY_ORDINARY, color="C1", lw=0.8, ls="--", label="paper 97.3 % (ordinary)"
    )
    ax_acc.set_ylim(85, 100)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.legend(fontsize=8, loc="lower right")
    ax_acc.grid(alpha=0.3)
    ax_spk.plot(
        epochs, [t["test"]["spikes_per_hidden_neuron"] for t in trend], color="C2", label="test"
    )
    ax_spk.axhline(PAPER_SPIKES_PER_HIDDEN, color="C2", lw=0.8, ls="--", label="paper 0.42")
    ax_spk.set_xlabel("epoch")
    ax_spk.set_ylabel("spikes per hidden neuron per sample")
    ax_spk.legend(fontsize=8)
    ax_spk.grid(alpha=0.3)
    fig.suptitle("spiking-exact, 784-100-100-10, MNIST")
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    """Re-plot a stored reproduction result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result", type=Path, help="JSON written by the reproduction driver")
    parser.add_argument("out", type=Path, help="figure to write")
    args = parser.parse_args(argv)
    plot_trend(json.loads(args.result.read_text())["trend"], args.out)


if __name__ == "__main__":
    main()
