"""Tables and plots of result records: accuracy beside what learning cost."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.table import Table

from neuroplastic.atomic import save_figure_atomic
from neuroplastic.results import ResultRecord

COLUMNS: list[tuple[str, str]] = [  # (attribute path in the record, header)
    ("method", "method"),
    ("architecture", "arch"),
    ("test_accuracy", "test acc"),
    ("synapses_total", "synapses"),
    ("synapses_nonsilent", "non-silent"),
    ("ledger.m0", "M0 writes"),
    ("ledger.m1", "M1 Σ|Δw|"),
    ("ledger.m1_min", "M1 min"),
    ("ledger.created", "created"),
    ("ledger.pruned", "pruned"),
    ("synops_per_sample", "SynOps/sample"),
    ("samples_seen", "samples"),
    ("samples_to_target", "to target"),
    ("wall_s", "wall s"),
    ("device", "device"),
]


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1e5 or abs(value) < 1e-2:
            return f"{value:.3g}"
        return f"{value:.4g}" if abs(value) < 1 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _field(record: ResultRecord, path: str) -> object:
    """The value at a dotted attribute path, e.g. ``'ledger.m1'``."""
    value: object = record
    for part in path.split("."):
        value = getattr(value, part)
    return value


def results_table(records: Sequence[ResultRecord], title: str | None = None) -> Table:
    """One row per record with the comparison columns."""
    if title is None and records:
        r = records[0]
        title = f"{r.dataset} classes {r.classes} seed {r.seed}" + (" (quick)" if r.quick else "")
    table = Table(title=title)
    for _, header in COLUMNS:
        table.add_column(
            header, justify="left" if header in ("method", "arch", "device") else "right"
        )
    for rec in records:
        row = []
        for key, _ in COLUMNS:
            value = _field(rec, key)
            if key == "method" and (rec.restriction or rec.cache):  # restricted / cached run
                value = f"{value} ({'; '.join(t for t in (rec.restriction, rec.cache) if t)})"
            row.append(f"{value:.2%}" if key == "test_accuracy" else _fmt(value))
        table.add_row(*row)
    return table


def plot_records(records: Sequence[ResultRecord], path: Path) -> None:
    """Accuracy against synapses (left) and against learning energy M1 (right), one point each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_syn, ax_energy) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for rec in records:
        acc = 100 * rec.test_accuracy
        ax_syn.scatter(rec.synapses_nonsilent, acc, label=rec.method, s=40)
        ax_energy.scatter(max(rec.ledger.m1, 1e-12), acc, label=rec.method, s=40)
    ax_syn.set_xlabel("non-silent synapses")
    ax_energy.set_xlabel("learning energy M1 = Σ|Δw|")
    for ax in (ax_syn, ax_energy):
        ax.set_xscale("log")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(True, which="both", alpha=0.3)
    ax_energy.legend(loc="lower right", fontsize="small")
    if records:
        r = records[0]
        fig.suptitle(f"{r.dataset} {r.classes}, seed {r.seed}")
    save_figure_atomic(fig, path, dpi=120)
    plt.close(fig)
