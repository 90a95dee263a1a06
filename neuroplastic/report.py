"""Tables and plots of result records: accuracy beside what learning cost.

Energy columns carry their method in the header: ``learn J est. TABLE`` and ``infer J/sample
est. TABLE`` (estimated from the counts with that table, one pair per table the records hold),
``train J measured`` (the meter's ``train`` window, or ``unavailable``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from neuroplastic.atomic import save_figure_atomic
from neuroplastic.results import ResultRecord

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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


_ESTIMATE = "energy:estimated:"  # + "<learning|inference>:" + table name
_MEASURED = "energy:measured:train"


def _energy_field(record: ResultRecord, key: str) -> object:
    energy = record.energy
    if key == _MEASURED:
        if energy is None:
            return None
        joules = energy.measured.joules("train")
        return "unavailable" if joules is None else joules
    kind, model = key[len(_ESTIMATE) :].split(":", 1)
    est = None if energy is None else energy.estimate_named(model)
    if est is None:
        return None
    return est.learning_j if kind == "learning" else est.inference_j_per_sample


def energy_columns(records: Sequence[ResultRecord]) -> list[tuple[str, str]]:
    """The energy columns of ``records``: each table's estimates, then the measurement."""
    models: list[str] = []
    for rec in records:
        for est in rec.energy.estimated if rec.energy is not None else []:
            if est.model not in models:
                models.append(est.model)
    columns = []
    for model in models:
        columns.append((f"{_ESTIMATE}learning:{model}", f"learn J est. {model}"))
        columns.append((f"{_ESTIMATE}inference:{model}", f"infer J/sample est. {model}"))
    if any(rec.energy is not None for rec in records):
        columns.append((_MEASURED, "train J measured"))
    return columns


def energy_notes(records: Sequence[ResultRecord]) -> list[str]:
    """One line per energy table and per meter of ``records``: what each column is made of
    (table name, source, pJ per operation; meter method, or unavailable and why)."""
    lines: dict[str, None] = {}
    for rec in records:
        if rec.energy is None:
            continue
        for est in rec.energy.estimated:
            costs = ", ".join(
                f"{op} {'-' if pj is None else f'{pj:g}'}" for op, pj in est.costs_pj.items()
            )
            lines[f"estimated with {est.model} (pJ/op: {costs}; {est.source})"] = None
        m = rec.energy.measured
        if m.status == "measured":
            lines[f"measured by {m.method}"] = None
        else:
            lines[f"measured: unavailable ({m.reason})"] = None
    return list(lines)


def table_columns(records: Sequence[ResultRecord]) -> list[tuple[str, str]]:
    """:data:`COLUMNS` with the energy columns of ``records`` after SynOps."""
    at = [key for key, _ in COLUMNS].index("synops_per_sample") + 1
    return [*COLUMNS[:at], *energy_columns(records), *COLUMNS[at:]]


def _field(record: ResultRecord, path: str) -> object:
    """The value at a dotted attribute path, e.g. ``'ledger.m1'`` (or an energy column)."""
    if path.startswith("energy:"):
        return _energy_field(record, path)
    value: object = record
    for part in path.split("."):
        value = getattr(value, part)
    return value


# Narrow terminals: these columns hold one value for the whole comparison and move to the title.
_SHARED = ("architecture", "device", "samples_seen", _MEASURED)
_SHORT = {  # abbreviated headers of the compact layout
    "test acc": "acc",
    "synapses": "syn",
    "non-silent": "nonsil",
    "M0 writes": "M0",
    "M1 Σ|Δw|": "M1",
    "M1 min": "M1min",
    "SynOps/sample": "SynOps",
    "to target": "to tgt",
    "wall s": "s",
    "train J measured": "meas. J train",
}
_LEFT = ("method", "arch", "device", "field")


def _short(header: str) -> str:
    """The compact header: abbreviated; energy columns keep their method (``est. J learn
    <table>``, ``meas. J train``)."""
    for long, short in (
        ("learn J est. ", "est. J learn "),
        ("infer J/sample est. ", "est. J/inf "),
    ):
        if header.startswith(long):
            return short + header[len(long) :]
    return _SHORT.get(header, header)


def _cells(rec: ResultRecord, columns: Sequence[tuple[str, str]]) -> list[str]:
    row = []
    for key, _ in columns:
        value = _field(rec, key)
        if key == "method" and (rec.restriction or rec.cache):  # restricted / cached run
            value = f"{value} ({'; '.join(t for t in (rec.restriction, rec.cache) if t)})"
        row.append(f"{value:.2%}" if key == "test_accuracy" else _fmt(value))
    return row


def _width(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    """Characters a rich box table of these cells needs: each column its widest cell + 3."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    return sum(w + 3 for w in widths) + 1


def _table(title: str | None, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    table = Table(title=title)
    for header in headers:
        table.add_column(header, justify="left" if header in _LEFT else "right")
    for row in rows:
        table.add_row(*row)
    return table


def results_table(
    records: Sequence[ResultRecord], title: str | None = None, width: int | None = None
) -> RenderableType:
    """One row per record with the comparison columns.

    With ``width`` (the terminal's columns) the table is made to fit without cutting a value:
    the full table if it fits; else columns shared by all records move to the title, empty ones
    are left out and headers are abbreviated; else a vertical layout (one column per record, or
    one small table per record). The full set of fields is always in the JSON records.
    """
    if title is None and records:
        r = records[0]
        title = f"{r.dataset} classes {r.classes} seed {r.seed}" + (" (quick)" if r.quick else "")
    columns = table_columns(records)
    headers = [header for _, header in columns]
    rows = [_cells(rec, columns) for rec in records]
    if width is None or _width(headers, rows) <= width:
        return _table(title, headers, rows)
    keys = [key for key, _ in columns]
    shared = [
        i for i, key in enumerate(keys) if key in _SHARED and len({row[i] for row in rows}) == 1
    ]
    empty = [i for i in range(len(keys)) if all(row[i] in ("-", "0") for row in rows)]
    keep = [i for i in range(len(keys)) if i not in shared and i not in empty]
    context = ", ".join(f"{headers[i]} {rows[0][i]}" for i in shared)
    compact_title = f"{title} ({context})" if title and context else (title or context or None)
    short = [_short(headers[i]) for i in keep]
    compact_rows = [[row[i] for i in keep] for row in rows]
    if _width(short, compact_rows) <= width:
        return _table(compact_title, short, compact_rows)
    fields = [headers[i] for i in keep if keys[i] != "method"]
    by_field = [[row[i] for row in rows] for i in keep if keys[i] != "method"]
    methods = [row[keys.index("method")] for row in rows]
    vertical = [[name, *values] for name, values in zip(fields, by_field, strict=True)]
    if _width(["field", *methods], vertical) <= width:
        return _table(compact_title, ["field", *methods], vertical)
    tables = [
        _table(method, ["field", "value"], [[row[0], row[n + 1]] for row in vertical])
        for n, method in enumerate(methods)
    ]
    return Group(Text(compact_title or ""), *tables)


def _label(rec: ResultRecord) -> str:
    extra = "; ".join(t for t in (rec.restriction, rec.cache) if t)
    return f"{rec.method} ({extra})" if extra else rec.method


_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")


def comparison_figure(records: Sequence[ResultRecord]) -> Figure:
    """Accuracy against synapses (left) and against learning energy M1 (right).

    Left: each method's filled marker sits at its *plastic* synapses, the weights learning
    changed (``ledger.m0_min``: sites with w(T) ≠ w(0)); a hollow marker of the same shape at
    its non-silent synapses, joined by a dotted line. Methods of equal size (backprop and a
    fixed random projection both have 795,010 synapses) are so told apart by what they learned.
    Every point carries its method's name and its own marker.

    Where the records carry energy, a third panel puts accuracy against learning energy in
    joules: filled markers estimated (the first table's name in the axis label), hollow markers
    measured by the meter (train window) where it was available; the title says when no run
    was measured.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    joule_models = [key for key, _ in energy_columns(records) if "learning:" in key]
    panels = 3 if joule_models else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4.4), constrained_layout=True)
    ax_syn, ax_energy = axes[0], axes[1]
    for n, rec in enumerate(records):
        acc = 100 * rec.test_accuracy
        style = {"marker": _MARKERS[n % len(_MARKERS)], "color": f"C{n % 10}", "s": 50}
        label = _label(rec)
        plastic = max(rec.ledger.m0_min, 1)
        nonsilent = max(rec.synapses_nonsilent, 1)
        ax_syn.plot([plastic, nonsilent], [acc, acc], ":", color=style["color"], linewidth=1)
        ax_syn.scatter(
            [nonsilent],
            [acc],
            facecolors="none",
            edgecolors=style["color"],
            marker=style["marker"],
            s=style["s"],
        )
        ax_syn.scatter([plastic], [acc], label=label, **style)
        ax_energy.scatter([max(rec.ledger.m1, 1e-12)], [acc], label=label, **style)
        for ax, x in ((ax_syn, plastic), (ax_energy, max(rec.ledger.m1, 1e-12))):
            ax.annotate(label, (x, acc), xytext=(5, 5), textcoords="offset points", fontsize=7)
    ax_syn.set_xlabel("synapses: plastic (filled, changed by learning) and non-silent (hollow)")
    ax_energy.set_xlabel("learning energy M1 = Σ|Δw|")
    if joule_models:
        _joules_panel(axes[2], records, joule_models[0])
    for ax in axes:
        ax.set_xscale("log")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(True, which="both", alpha=0.3)
        ax.margins(x=0.15, y=0.1)
    ax_energy.legend(loc="lower right", fontsize="small")
    if records:
        r = records[0]
        fig.suptitle(f"{r.dataset} {r.classes}, seed {r.seed}")
    return fig


def _joules_panel(ax: Any, records: Sequence[ResultRecord], key: str) -> None:
    """Accuracy against estimated (filled) and measured (hollow) learning joules."""
    model = key.split("learning:", 1)[1]
    measured_any = False
    for n, rec in enumerate(records):
        acc = 100 * rec.test_accuracy
        marker, color = _MARKERS[n % len(_MARKERS)], f"C{n % 10}"
        est = _energy_field(rec, key)
        if isinstance(est, float) and est > 0:
            ax.scatter([est], [acc], marker=marker, color=color, s=50, label=_label(rec))
            ax.annotate(
                _label(rec), (est, acc), xytext=(5, 5), textcoords="offset points", fontsize=7
            )
        meas = _energy_field(rec, _MEASURED)
        if isinstance(meas, float) and meas > 0:
            measured_any = True
            ax.scatter([meas], [acc], marker=marker, facecolors="none", edgecolors=color, s=50)
    ax.set_xlabel(f"learning energy (J): estimated, {model} (filled); measured (hollow)")
    if not measured_any:
        ax.set_title("measured: unavailable for every run (reason in the records)", fontsize=8)


def plot_records(records: Sequence[ResultRecord], path: Path) -> None:
    """Write :func:`comparison_figure` of ``records`` as a PNG (atomically)."""
    import matplotlib.pyplot as plt

    fig = comparison_figure(records)
    save_figure_atomic(fig, path, dpi=120)
    plt.close(fig)
