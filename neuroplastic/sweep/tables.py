"""A sweep's results as tables: one row per configuration, exports, and aggregates over seeds.

:func:`sweep_rows` flattens each configuration's parameters (``param.<key>``) and its run's
result record (``result.<path>``, numbers and text only, nested keys joined by dots) into one
row. :func:`write_csv` and :func:`write_parquet` (pyarrow) write those rows;
:func:`write_tensorboard` (tensorboardX) writes each finished run's metrics over training
(step = samples seen) as TensorBoard event files, one directory per configuration.
:func:`aggregate` groups rows that differ only in the seed and gives mean, sample standard
deviation (n − 1) and n of each metric; :func:`plot_aggregate` draws a metric against one key.
"""

from __future__ import annotations

import csv
import math
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuroplastic.errors import ParameterError, StoreError
from neuroplastic.store.sweeps import SweepEntry, SweepStore

__all__ = [
    "DEFAULT_METRICS",
    "Aggregate",
    "aggregate",
    "plot_aggregate",
    "sweep_rows",
    "wide_table",
    "write_csv",
    "write_parquet",
    "write_tensorboard",
]

DEFAULT_METRICS = (
    "result.test_accuracy",  # methods
    "result.ledger.m1",
    "result.samples_to_target",  # the energy protocol
    "result.m1",
    "result.energy_total",
    "result.result.capacity_patterns",  # memory capacity
    "result.result.capacity_bits_per_synapse",
)
"""Metrics :func:`aggregate` uses when none are named (those present in the rows)."""

CURVE_STEP_KEYS = ("samples_seen", "samples", "step")
"""Step keys of the points of a record's ``curve`` list, exported to TensorBoard too."""

_MAX_DEPTH = 3

ENERGY_ESTIMATE_PREFIX = "result.energy.learn_J_est."
ENERGY_MEASURED = "result.energy.train_J_measured"


def _energy_columns(record: Mapping[str, Any], out: dict[str, Any]) -> None:
    """A method record's joules, each column named with its method: the estimates per table
    (``result.energy.learn_J_est.<table>``, ``result.energy.infer_J_per_sample_est.<table>``),
    the meter's status and its ``train`` joules (absent, never zero, when unavailable)."""
    energy = record.get("energy")
    if not isinstance(energy, Mapping):
        return
    for est in energy.get("estimated") or []:
        if isinstance(est, Mapping) and est.get("model"):
            out[f"{ENERGY_ESTIMATE_PREFIX}{est['model']}"] = est.get("learning_j")
            out[f"result.energy.infer_J_per_sample_est.{est['model']}"] = est.get(
                "inference_j_per_sample"
            )
    measured = energy.get("measured")
    if isinstance(measured, Mapping):
        out["result.energy.measured"] = measured.get("status")
        train = (measured.get("windows") or {}).get("train")
        if measured.get("status") == "measured" and isinstance(train, Mapping):
            out[ENERGY_MEASURED] = train.get("joules")


def _flatten(value: Any, prefix: str, out: dict[str, Any], depth: int = 0) -> None:
    if isinstance(value, Mapping):
        if depth >= _MAX_DEPTH:
            return
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}", out, depth + 1)
    elif value is None or isinstance(value, (bool, int, float, str)):
        out[prefix] = value


def _entries(store: SweepStore, sweep_id: str) -> list[SweepEntry]:
    if not store.sweep_exists(sweep_id):
        known = ", ".join(store.sweep_ids()) or "none"
        raise StoreError(f"no sweep {sweep_id!r} in {store.url} (sweeps: {known})")
    return store.entries(sweep_id)


def sweep_rows(store: SweepStore, sweep_id: str) -> list[dict[str, Any]]:
    """One flat row per configuration of the sweep (oldest first)."""
    rows = []
    for entry in _entries(store, sweep_id):
        row: dict[str, Any] = {
            "sweep": entry.sweep_id,
            "config_key": entry.config_key,
            "code_version": entry.code_version,
            "run": entry.config["run"],
            "seed": entry.config["seed"],
            "status": entry.status,
            "attempts": entry.attempts,
            "run_id": entry.run_id,
            "error": entry.error,
        }
        for key, value in sorted(entry.config.get("params", {}).items()):
            row[f"param.{key}"] = value
        if entry.record is not None and entry.status == "finished":
            _flatten(entry.record, "result", row)
            _energy_columns(entry.record, row)
        rows.append(row)
    return rows


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return list(columns)


def write_csv(rows: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Write rows as CSV (the union of their columns; empty where a row has none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=_columns(rows), restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_parquet(rows: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Write rows as Parquet (pyarrow; a column mixing numbers and text is stored as text)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ParameterError("Parquet needs pyarrow: pip install 'neuroplastic[sweep]'") from None
    columns = _columns(rows)
    data: dict[str, list[Any]] = {}
    for name in columns:
        values = [row.get(name) for row in rows]
        kinds = {type(v) for v in values if v is not None}
        if len(kinds) > 1 and not kinds <= {int, float}:
            values = [None if v is None else str(v) for v in values]
        elif kinds == {int, float}:
            values = [None if v is None else float(v) for v in values]
        data[name] = values
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(data), path)
    return path


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=,-]+", "_", text)[:150]


def write_tensorboard(store: SweepStore, sweep_id: str, out_dir: Path) -> list[Path]:
    """Each finished run's metrics as TensorBoard scalars under ``out_dir/<configuration>``."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ParameterError(
            "TensorBoard export needs tensorboardX: pip install 'neuroplastic[sweep]'"
        ) from None
    from neuroplastic.sweep.spec import SweepConfig

    written = []
    for entry in _entries(store, sweep_id):
        if entry.status != "finished" or entry.run_id is None:
            continue
        label = SweepConfig.from_dict(entry.config).label()
        run_dir = out_dir / f"{_safe(label)}-{entry.config_key[:8]}"
        with SummaryWriter(logdir=str(run_dir)) as writer:
            for metric in store.get_metrics(entry.run_id):
                if math.isfinite(metric.value):
                    writer.add_scalar(
                        metric.name,
                        metric.value,
                        global_step=metric.samples_seen,
                        walltime=metric.recorded_at.timestamp(),
                    )
            for point in (entry.record or {}).get("curve") or []:
                step = next((point[k] for k in CURVE_STEP_KEYS if k in point), None)
                if not isinstance(point, Mapping) or not isinstance(step, int):
                    continue
                for name, value in point.items():
                    number = _numeric(value)
                    if name not in CURVE_STEP_KEYS and number is not None:
                        writer.add_scalar(f"curve/{name}", number, global_step=step)
            if entry.record is not None:
                flat: dict[str, Any] = {}
                _flatten(entry.record, "result", flat)
                _energy_columns(entry.record, flat)
                for name, value in flat.items():
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        writer.add_scalar(name, float(value), global_step=0)
        written.append(run_dir)
    return written


@dataclass(frozen=True)
class Aggregate:
    """Mean, sample sd (NaN for one seed) and n of one metric over one group's seeds."""

    group: tuple[tuple[str, Any], ...]
    metric: str
    mean: float
    sd: float
    n: int


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def default_metrics(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The :data:`DEFAULT_METRICS` present in the rows, else their first three numeric results."""
    present = [m for m in DEFAULT_METRICS if any(m in row for row in rows)]
    if present:
        energy = [
            c
            for c in _columns(rows)
            if c.startswith(ENERGY_ESTIMATE_PREFIX)
            or (c == ENERGY_MEASURED and any(_numeric(r.get(c)) is not None for r in rows))
        ]
        return present + energy
    numeric = [
        c
        for c in _columns(rows)
        if c.startswith("result.")
        and ".params." not in c
        and any(_numeric(r.get(c)) is not None for r in rows)
    ]
    return numeric[:3]


def aggregate(
    rows: Sequence[Mapping[str, Any]], by: str, metrics: Sequence[str]
) -> list[Aggregate]:
    """Group finished rows by every parameter but the seed; mean, sd, n per metric.

    ``by`` (a parameter key, with or without ``param.``, or ``run``) must vary or exist in the
    rows; groups are sorted by it first.
    """
    finished = [r for r in rows if r.get("status") == "finished"]
    if not finished:
        raise ParameterError("the sweep has no finished configuration to compare")
    by_col = by if by in ("run", "seed") or by.startswith("param.") else f"param.{by}"
    if not any(by_col in r for r in finished):
        keys = sorted({c[6:] for r in finished for c in r if c.startswith("param.")})
        raise ParameterError(
            f"--by {by!r} is not a key of the sweep (keys: run, {', '.join(keys)})"
        )
    for metric in metrics:
        if not any(metric in r for r in finished):
            raise ParameterError(f"metric {metric!r} is in no finished run's result")
    others = {c for r in finished for c in r if c.startswith("param.") and c != by_col}
    if by_col != "run":
        others.add("run")
    group_cols = [by_col, *sorted(others)]
    groups: dict[tuple[tuple[str, Any], ...], list[Mapping[str, Any]]] = {}
    for row in finished:
        ident = tuple((c, row.get(c)) for c in group_cols)
        groups.setdefault(ident, []).append(row)

    def order(ident: tuple[tuple[str, Any], ...]) -> tuple[Any, ...]:
        return tuple((0, v) if isinstance(v, (int, float)) else (1, str(v)) for _, v in ident)

    out = []
    for ident in sorted(groups, key=order):
        for metric in metrics:
            values = [v for r in groups[ident] if (v := _numeric(r.get(metric))) is not None]
            if not values:
                continue
            sd = statistics.stdev(values) if len(values) > 1 else math.nan  # one seed: no sd
            out.append(Aggregate(ident, metric, statistics.fmean(values), sd, len(values)))
    return out


def wide_table(aggs: Sequence[Aggregate]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a table with one row per group: keys, ``mean ± sd`` per metric, n."""
    metrics = list(dict.fromkeys(a.metric for a in aggs))
    groups: dict[tuple[tuple[str, Any], ...], dict[str, Aggregate]] = {}
    for a in aggs:
        groups.setdefault(a.group, {})[a.metric] = a
    first = next(iter(groups), ())
    keys = [k for k, _ in first]
    constant = [i for i, k in enumerate(keys) if i > 0 and len({g[i][1] for g in groups}) == 1]
    shown = [i for i in range(len(keys)) if i not in constant]
    header = [keys[i].removeprefix("param.") for i in shown]
    header += [m.removeprefix("result.") for m in metrics] + ["seeds"]
    rows = []
    for group, by_metric in groups.items():
        cells = [str(group[i][1]) for i in shown]
        for m in metrics:
            found = by_metric.get(m)
            if found is None:
                cells.append("-")
            elif found.n == 1:
                cells.append(f"{found.mean:.4g}")
            else:
                cells.append(f"{found.mean:.4g} ± {found.sd:.2g}")
        cells.append(str(max(a.n for a in by_metric.values())))
        rows.append(cells)
    return header, rows


def plot_aggregate(aggs: Sequence[Aggregate], by: str, path: Path) -> Path:
    """One panel per metric: mean ± sd against ``by``, one line per other configuration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = list(dict.fromkeys(a.metric for a in aggs))
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        lines: dict[str, list[Aggregate]] = {}
        mine = [a for a in aggs if a.metric == metric]
        varying = [
            i for i in range(1, len(mine[0].group)) if len({a.group[i][1] for a in mine}) > 1
        ]
        for a in mine:
            rest = ", ".join(
                f"{a.group[i][0].removeprefix('param.')}={a.group[i][1]}" for i in varying
            )
            lines.setdefault(rest, []).append(a)
        for rest, items in lines.items():
            xs = [a.group[0][1] for a in items]
            numeric = all(isinstance(x, (int, float)) for x in xs)
            pos = xs if numeric else list(range(len(xs)))
            ax.errorbar(  # no bar where one seed gives no sd
                pos,
                [a.mean for a in items],
                yerr=[0.0 if math.isnan(a.sd) else a.sd for a in items],
                marker="o",
                capsize=3,
                label=rest or None,
            )
            if not numeric:
                ax.set_xticks(pos, [str(x) for x in xs])
        ax.set_xlabel(by)
        ax.set_ylabel(f"{metric} (mean ± sd over seeds)")
        if varying:
            ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
