"""Named experiments for associative memories: one capacity point and capacity curves against n.

- ``neuroplastic run memory-capacity --rule willshaw --n 1024 --k 10`` searches M_ε for one
  configuration (:class:`~neuroplastic.experiments.capacity_measurement.CapacityConfig`) and
  prints M_ε, the output noise and the capacity in bits per synapse (fair, for auto-association).
- ``neuroplastic run memory-capacity-curve --ns 256,512,1024,2048,4096`` repeats it for every
  n, every rule (``--rules``) and with and without ANE (``--ane both``), and writes the rows as
  JSON plus a matplotlib plot (bits per synapse against n) to the output directory.

The defaults are the paper's conditions for auto-association (Knoblauch 2024): constant activity
k = round(log2 n), queries holding half the pattern (p10 = 0.5, p01 = 0), iterative retrieval
(5 steps) with k-WTA, no self-connections, ε = 0.01. ``--device`` picks CPU or CUDA.
"""

from __future__ import annotations

import itertools
import math
import statistics
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from rich.table import Table

from neuroplastic.atomic import save_figure_atomic, write_json_atomic
from neuroplastic.errors import ParameterError
from neuroplastic.experiments.capacity_measurement import CapacityConfig, measure_capacity
from neuroplastic.experiments.registry import (
    ExperimentContext,
    ExperimentOutput,
    register_experiment,
)
from neuroplastic.memory.rules import RULES
from neuroplastic.version import code_version

__all__ = ["CurveParams", "capacity_table", "plot_curve", "run_capacity", "run_curve"]

_COLUMNS = (
    ("rule", "rule"),
    ("ane", "ANE"),
    ("activity", "activity"),
    ("n", "n"),
    ("k", "k"),
    ("capacity_patterns", "M_eps"),
    ("eps", "eps at M_eps"),
    ("capacity_bits_per_synapse", "bits/synapse"),
    ("capacity_bits_per_nonsilent_synapse", "bits/non-silent"),
    ("storage", "storage"),
    ("seconds", "seconds"),
)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def capacity_table(rows: list[dict[str, Any]], title: str) -> Table:
    """A rich table of capacity rows."""
    table = Table(title=title, title_justify="left")
    for _, header in _COLUMNS:
        table.add_column(header)
    for row in rows:
        table.add_row(*(_fmt(row.get(key)) for key, _ in _COLUMNS))
    return table


def _device(ctx: ExperimentContext) -> str:
    from neuroplastic.runs.device import resolve_device

    return str(resolve_device(ctx.device))


@register_experiment(
    "memory-capacity",
    CapacityConfig,
    "pattern capacity M_eps and bits/synapse of one associative memory",
    options=("seed", "device"),
    dataset="random patterns",
)
def run_capacity(params: CapacityConfig, ctx: ExperimentContext) -> ExperimentOutput:
    """Search M_ε for one configuration."""
    device = _device(ctx)
    row = measure_capacity(params, seed=ctx.seed, device=device)
    row["device"] = device
    return ExperimentOutput(
        payload={"experiment": "memory-capacity", "params": params.model_dump(), "result": row},
        tables=[capacity_table([row], "memory capacity")],
        headline=f"M_eps {row['capacity_patterns']}, "
        f"{row['capacity_bits_per_synapse']:.4f} bits/synapse",
    )


class CurveParams(BaseModel):
    """Capacity against n for several rules, with and without ANE."""

    model_config = ConfigDict(extra="forbid")
    ns: str = Field("256,512,1024,2048,4096", description="comma-separated network sizes n")
    rules: str = Field(",".join(RULES), description="comma-separated rules")
    ane: Literal["off", "on", "both"] = Field("both", description="adaptive noise estimation")
    auto: bool = Field(True, description="auto-association (v = u) instead of hetero")
    k: int | None = Field(None, ge=1, description="active units; None = round(log2 n)")
    activity: Literal["constant", "binomial", "both"] = Field(
        "constant", description="pattern model (both: one curve each, same other settings)"
    )
    p01: float = Field(0.0, ge=0, lt=1, description="query add noise")
    p10: float = Field(0.5, ge=0, lt=1, description="query miss noise")
    mode: Literal["kwta", "threshold"] = Field("kwta", description="k-WTA or threshold")
    iterations: int = Field(5, ge=1, le=100, description="retrieval steps (1 for hetero)")
    self_connections: bool = Field(False, description="keep W_ii (auto-association)")
    clamp: bool = Field(False, description="keep the query's units on")
    eps: float = Field(0.01, gt=0, lt=1, description="output noise target ε")
    queries: int = Field(200, ge=1, le=100_000, description="test queries per evaluated load")
    rel_tol: float = Field(0.02, gt=0, lt=1, description="bisection relative width")
    start: float = Field(
        0.5, gt=0, le=100, description="first load, fraction of the one-step Willshaw estimate"
    )
    growth: float = Field(2.0, gt=1, le=100, description="gallop factor of the search")
    storage: Literal["auto", "dense", "packed"] = Field(
        "auto", description="dense counters, 1 bit/synapse (Willshaw), or auto (packed if n > 4096)"
    )
    repeats: int = Field(
        1, ge=1, le=20, description="independent seeds per point (seed, seed+1, ...)"
    )
    plot: bool = Field(True, description="write a PNG plot next to the JSON")

    @field_validator("ns")
    @classmethod
    def _sizes(cls, text: str) -> str:
        parse_sizes(text)
        return text

    @field_validator("rules")
    @classmethod
    def _rules(cls, text: str) -> str:
        parse_rules(text)
        return text


def parse_sizes(text: str) -> list[int]:
    """ "256,512" -> [256, 512]; each size in [8, 200000]."""
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ParameterError(f"ns must be comma-separated integers (got {text!r})") from None
    if not sizes or any(not 8 <= s <= 200_000 for s in sizes):
        raise ParameterError(f"ns must list sizes in [8, 200000] (got {text!r})")
    return sizes


def parse_rules(text: str) -> list[str]:
    """ "willshaw,bayes" -> ["willshaw", "bayes"]; each a known rule."""
    rules = [part.strip() for part in text.split(",") if part.strip()]
    bad = [r for r in rules if r not in RULES]
    if not rules or bad:
        raise ParameterError(f"rules must be from {', '.join(RULES)} (got {text!r})")
    return rules


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean (and sample std, ``*_std``) over seeds of each (n, rule, ANE, activity) point."""
    groups: dict[tuple[int, str, bool, str], list[dict[str, Any]]] = {}
    for row in rows:
        group = (row["n"], row["rule"], row["ane"], row.get("activity", "constant"))
        groups.setdefault(group, []).append(row)
    out = []
    for (n, rule, ane, _), rs in groups.items():
        item: dict[str, Any] = {"n": n, "rule": rule, "ane": ane, "k": rs[0]["k"], "seeds": len(rs)}
        item["storage"] = rs[0].get("storage")
        item["activity"] = rs[0].get("activity")
        for key in (
            "capacity_patterns",
            "eps",
            "capacity_bits_per_synapse",
            "capacity_bits_per_nonsilent_synapse",
            "load_p1",
            "seconds",
        ):
            vals = [float(r[key]) for r in rs if r.get(key) is not None]
            if vals:
                item[key] = statistics.fmean(vals)
                item[f"{key}_std"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
        out.append(item)
    return out


# One marker per plotted series, so series stay apart in grey print and where lines overlap.
SERIES_MARKERS = (
    *("o", "s", "^", "v", "D", "P", "X", "*", "<", ">", "h", "p", "H", "d", "8"),
    *("1", "2", "3", "4", "+", "x"),
)


def plot_curve(
    rows: list[dict[str, Any]],
    path: Path,
    title: str,
    references: tuple[tuple[float, str], ...] = (),
) -> Path:
    """Bits per synapse against n, one line per (rule, ANE, activity) (± std over seeds when
    the rows carry ``*_std``), horizontal ``references`` (value, label); Willshaw bits per
    non-silent synapse on a second panel. Agg, PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nonsilent = [r for r in rows if r.get("capacity_bits_per_nonsilent_synapse") is not None]
    fig, axes = plt.subplots(1, 2 if nonsilent else 1, figsize=(11 if nonsilent else 6.4, 4.4))
    ax = axes[0] if nonsilent else axes
    colours = {rule: f"C{i}" for i, rule in enumerate(RULES)}
    keys = sorted(
        {(r["rule"], r["ane"], r.get("activity") or "constant") for r in rows},
        key=lambda t: (RULES.index(t[0]), t[1], t[2]),
    )
    several = len({t[2] for t in keys}) > 1
    markers = {key: SERIES_MARKERS[i % len(SERIES_MARKERS)] for i, key in enumerate(keys)}
    for rule, ane, activity in keys:
        pts = sorted(
            (r["n"], r["capacity_bits_per_synapse"], r.get("capacity_bits_per_synapse_std", 0.0))
            for r in rows
            if (r["rule"], r["ane"], r.get("activity") or "constant") == (rule, ane, activity)
        )
        suffix = f" ({activity})" if several else ""
        ax.errorbar(
            [p[0] for p in pts],
            [p[1] for p in pts],
            yerr=[p[2] for p in pts],
            capsize=2,
            marker=markers[(rule, ane, activity)],
            color=colours[rule],
            linestyle="--" if ane else (":" if activity == "binomial" else "-"),
            label=f"{rule}{' + ANE' if ane else ''}{suffix}",
        )
    for value, label in references:
        ax.axhline(value, color="grey", linewidth=0.8, linestyle="-.")
        ax.annotate(label, (0.01, value), xycoords=("axes fraction", "data"), fontsize=7)
    if nonsilent:
        ax2 = axes[1]
        for ane, activity in sorted(
            {(r["ane"], r.get("activity") or "constant") for r in nonsilent}
        ):
            pts2 = sorted(
                (r["n"], r["capacity_bits_per_nonsilent_synapse"])
                for r in nonsilent
                if r["ane"] == ane and (r.get("activity") or "constant") == activity
            )
            ax2.plot(
                [p[0] for p in pts2],
                [p[1] for p in pts2],
                marker=markers.get(("willshaw", ane, activity), "o"),
                color=colours["willshaw"],
                linestyle="--" if ane else (":" if activity == "binomial" else "-"),
                label=f"willshaw{' + ANE' if ane else ''} (compressed, {activity})",
            )
        ax2.set_xscale("log", base=2)
        ax2.set_xlabel("n (units)")
        ax2.set_ylabel("bits / non-silent synapse")
        ax2.grid(True, alpha=0.3)
        ax2.legend(fontsize=7)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("n (units)")
    ax.set_ylabel("capacity (bits / synapse)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=120)
    plt.close(fig)
    return path


def _references(params: CurveParams) -> tuple[tuple[float, str], ...]:
    """Asymptotic Willshaw limits for the plot (bits/synapse)."""
    if "willshaw" not in parse_rules(params.rules):
        return ()
    if params.auto:
        return ((math.log(2) / 4, "(ln 2)/4 (auto limit)"),)
    refs = [(math.log(2), "ln 2 (hetero limit)")]
    if params.activity != "constant":
        refs.append((1 / (math.e * math.log(2)), "1/(e ln 2) (binomial activity)"))
    return tuple(refs)


@register_experiment(
    "memory-capacity-curve",
    CurveParams,
    "capacity curves against n for every rule, with/without ANE (JSON + plot)",
    options=("seed", "device", "quick"),
    dataset="random patterns",
)
def run_curve(params: CurveParams, ctx: ExperimentContext) -> ExperimentOutput:
    """Measure every (n, rule, ANE) point; write JSON and a plot to ``ctx.output_dir``."""
    device = _device(ctx)
    sizes = parse_sizes(params.ns)
    rules = parse_rules(params.rules)
    anes = {"off": [False], "on": [True], "both": [False, True]}[params.ane]
    if ctx.quick:
        sizes = [s for s in sizes if s <= 512] or sizes[:1]
    shared = params.model_dump(exclude={"ns", "rules", "ane", "plot", "repeats", "activity"})
    activities = ["constant", "binomial"] if params.activity == "both" else [params.activity]
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for n in sizes:
        for rule in rules:
            for ane, activity in itertools.product(anes, activities):
                cfg = CapacityConfig(rule=rule, n=n, ane=ane, activity=activity, **shared)
                for rep in range(params.repeats):
                    row = measure_capacity(cfg, seed=ctx.seed + rep, device=device)
                    rows.append(row)
                    ctx.console.print(
                        f"n={n} {rule}{' + ANE' if ane else ''} {activity} "
                        f"seed={ctx.seed + rep}: M_eps={row['capacity_patterns']} "
                        f"C={row['capacity_bits_per_synapse']:.4f} bits/synapse "
                        f"({row['storage']}, {row['seconds']:.1f} s)"
                    )
    total = time.perf_counter() - t0
    summary = summarise(rows)
    payload = {
        "experiment": "memory-capacity-curve",
        "code_version": code_version().label,  # also in the file beside the plot
        "params": params.model_dump(),
        "seed": ctx.seed,
        "device": device,
        "total_seconds": total,
        "summary": summary,
        "rows": rows,
    }
    out_dir = ctx.output_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "memory_capacity_curve.json"
    write_json_atomic(json_path, payload)
    files = [json_path]
    if params.plot:
        kind = "auto (fair)" if params.auto else "hetero"
        title = (
            f"{kind}, {params.activity} activity, k={params.k or 'log2 n'}, p10={params.p10}, "
            f"p01={params.p01}, {params.iterations} steps {params.mode}, eps={params.eps}"
        )
        refs = _references(params)
        path = out_dir / "memory_capacity_curve.png"
        files.append(plot_curve(summary, path, title, refs))
    return ExperimentOutput(
        payload=payload,
        tables=[capacity_table(summary, f"capacity curve, mean over seeds ({total:.0f} s)")],
        files=files,
        headline=f"{len(rows)} capacity points",
    )
