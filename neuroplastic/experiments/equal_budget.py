"""The equal-synapse-budget contest (``neuroplastic run equal-budget``): the structural rule
against backprop at the same number of non-silent synapses, on ten MNIST classes.

For each budget ``B`` (about 10k, 25k and 80k synapses by default) and each seed, four
*families* are trained, each as an ordinary method run recorded in the run store:

- ``structural``: the structural rule (:mod:`neuroplastic.methods.structural`) at hidden ``h``
  with ``k`` input synapses per unit and its ten-class defaults (hard WTA, all units connected,
  2 Hebbian epochs then 4 epochs of the local softmax readout). Its synapses are ``h·k``
  inputs, ``10·h`` readout and ``h + 10`` biases: ``h (k + 11) + 10``. ``(h, k)`` per budget
  is :data:`STRUCTURAL_CELLS` (chosen on the validation split with the earlier NLMS readout,
  REPRODUCING.md §2e); another budget takes ``k`` of the nearest tabled budget and
  ``h = round((B − 10) / (k + 11))``.
- ``narrow-backprop``: a dense MLP ``784-h-10`` trained by backprop (Adam, 20 epochs) with
  ``h = max(1, round((B − 10) / 795))``, i.e. ``795 h + 10 ≈ B`` synapses.
- ``pruned-backprop``: ``784-1000-10`` trained densely by backprop for 9 epochs, pruned by
  global magnitude to ``B`` weights and fine-tuned for 1 (:mod:`~neuroplastic.methods.
  pruned_backprop`); biases (1,010) come on top, so it holds ``B + 1010`` synapses.
- ``set``: SET (Mocanu et al. 2018, :mod:`~neuroplastic.methods.set_sparse`), ``784-1000-10``
  with ``B`` weights (Erdős–Rényi initial sparsity, ζ = 0.3, Adam, 20 epochs); ``B + 1010``
  synapses like pruned backprop.

**Resuming.** Every cell (family, budget, seed) is one method run in the store the experiment
is recorded in. With ``--resume`` a finished cell is not trained again (its stored record is
used) and an unfinished one continues from its checkpoint; a killed contest run with
``--resume`` therefore continues where it stopped. Without ``--resume`` every cell is trained
anew. The cells run seed by seed (all families and budgets of seed 0 first) so that a stopped
contest leaves whole seeds.

**Collecting.** ``--collect true`` trains nothing: it gathers the cells already finished in the
store and lists the others under ``missing`` (a contest stopped part-way can be tabulated; the
command without ``--collect`` then completes it).

**Output.** The payload holds every cell (accuracy, synapses, M0, M1, wall time, run id) and a
summary per family × budget: mean and sample standard deviation (``ddof = 1``) over the seeds
of test accuracy, non-silent synapses and M1. For each budget and each baseline the
*verdict* is ``d = mean(structural) − mean(baseline)`` in points of test accuracy and whether
``d > max(sd_structural, sd_baseline)`` (the issue's "difference larger than the sd"; a
shortfall is ``−d``). Files written under the output folder (``--json``'s folder, else
``results/equal-budget``): ``equal_budget_table.json`` (the summary and verdicts), the same
as markdown (``equal_budget_table.md``),
``equal_budget_synapses.png`` (accuracy against non-silent synapses) and
``equal_budget_energy.png`` (accuracy against learning energy M1 = Σ|Δw|), mean ± sd error bars.

``--quick`` trains each cell on the quick subsets (2,000 / 500 / 1,000 samples) for at most
3 epochs: it checks the machinery, not the contest.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from rich.table import Table

from neuroplastic.atomic import write_json_atomic
from neuroplastic.data import DataSplits
from neuroplastic.errors import CheckpointError, ParameterError
from neuroplastic.experiments.registry import (
    ExperimentContext,
    ExperimentOutput,
    register_experiment,
)
from neuroplastic.results import ResultRecord
from neuroplastic.runs import Experiment, find_finished, load_data, run_method

__all__ = [
    "FAMILIES",
    "STRUCTURAL_CELLS",
    "Cell",
    "EqualBudgetParams",
    "cell_settings",
    "summarise",
    "verdicts",
]

#: family name → the registered method it runs
FAMILIES: dict[str, str] = {
    "structural": "structural",
    "narrow-backprop": "backprop",
    "pruned-backprop": "pruned-backprop",
    "set": "set-sparse",
}
#: budget → (hidden units, input synapses per unit) of the structural rule (REPRODUCING §2e)
STRUCTURAL_CELLS: dict[int, tuple[int, int]] = {
    10_000: (700, 4),
    25_000: (1600, 5),
    80_000: (5000, 5),
}
#: the structural rule's settings at every budget beyond hidden and per-unit budget: none, its
#: ten-class defaults (preset ``ten``: hard WTA, no reserve, 2 Hebbian + 4 softmax-readout epochs)
STRUCTURAL_SETTINGS: dict[str, Any] = {}
SPARSE_HIDDEN = 1000  # hidden width of pruned backprop and SET
PRUNED_SETTINGS: dict[str, Any] = {"epochs": 10}
#: overrides the quick mode drops so that each method's own quick variant caps the epochs
EPOCH_KEYS = ("epochs", "prune_epoch")


def _int_list(text: str, name: str, minimum: int) -> list[int]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    try:
        values = [int(item) for item in items]
    except ValueError:
        raise ParameterError(
            f"{name}: expected comma-separated integers like '0,1,2', got {text!r}"
        ) from None
    if not values:
        raise ParameterError(f"{name}: empty list")
    low = [v for v in values if v < minimum]
    if low:
        raise ParameterError(f"{name}: values must be >= {minimum}, got {low}")
    if len(set(values)) != len(values):
        raise ParameterError(f"{name}: repeated values in {values}")
    return values


class EqualBudgetParams(BaseModel):
    """The contest's budgets, seeds and families (comma-separated lists)."""

    model_config = ConfigDict(extra="forbid")
    budgets: str = Field("10000,25000,80000", description="synapse budgets, e.g. 10000,25000")
    seeds: str = Field("0,1,2", description="seeds, e.g. 0,1,2")
    families: str = Field(
        ",".join(FAMILIES), description="structural, narrow-backprop, pruned-backprop, set"
    )
    collect: bool = Field(
        False, description="train nothing: gather the finished cells, list the missing ones"
    )

    @model_validator(mode="after")
    def _check(self) -> EqualBudgetParams:
        """Refuse bad lists before anything runs (or is recorded)."""
        self.budget_list()
        self.seed_list()
        self.family_list()
        return self

    def budget_list(self) -> list[int]:
        """The budgets, ascending."""
        return sorted(_int_list(self.budgets, "budgets", 100))

    def seed_list(self) -> list[int]:
        """The seeds, in the given order."""
        return _int_list(self.seeds, "seeds", 0)

    def family_list(self) -> list[str]:
        """The families, in the given order."""
        names = [f.strip() for f in self.families.split(",") if f.strip()]
        unknown = [f for f in names if f not in FAMILIES]
        if unknown or not names:
            raise ParameterError(
                f"families: unknown {unknown or 'empty list'}; choose from {', '.join(FAMILIES)}"
            )
        if len(set(names)) != len(names):
            raise ParameterError(f"families: repeated names in {names}")
        return names


@dataclass(frozen=True)
class Cell:
    """One run of the contest: a family at a budget, its method, width and overrides."""

    family: str
    budget: int
    method: str
    hidden: int
    overrides: dict[str, Any]


def cell_settings(family: str, budget: int, quick: bool = False) -> Cell:
    """The method, hidden width and parameter overrides of ``family`` at ``budget``."""
    if family == "structural":
        nearest = min(STRUCTURAL_CELLS, key=lambda b: (abs(b - budget), b))
        per_unit = STRUCTURAL_CELLS[nearest][1]
        hidden = STRUCTURAL_CELLS.get(budget, (round((budget - 10) / (per_unit + 11)), 0))[0]
        overrides = {**STRUCTURAL_SETTINGS, "budget": per_unit}
    elif family == "narrow-backprop":
        hidden, overrides = max(1, round((budget - 10) / 795)), {}
    elif family == "pruned-backprop":
        hidden, overrides = SPARSE_HIDDEN, {**PRUNED_SETTINGS, "budget": budget}
    elif family == "set":
        hidden, overrides = SPARSE_HIDDEN, {"budget": budget}
    else:
        raise ParameterError(f"families: unknown {family!r}; choose from {', '.join(FAMILIES)}")
    if quick:
        overrides = {k: v for k, v in overrides.items() if k not in EPOCH_KEYS}
    return Cell(family, budget, FAMILIES[family], max(1, hidden), overrides)


def _cell_row(cell: Cell, seed: int, record: ResultRecord) -> dict[str, Any]:
    return {
        "family": cell.family,
        "budget": cell.budget,
        "seed": seed,
        "method": cell.method,
        "architecture": record.architecture,
        "overrides": cell.overrides,
        "test_accuracy": record.test_accuracy,
        "val_accuracy": record.val_accuracy,
        "synapses_nonsilent": record.synapses_nonsilent,
        "m0": record.ledger.m0,
        "m1": record.ledger.m1,
        "wall_s": record.wall_s,
        "epochs_done": record.epochs_done,
        "run_id": record.run_id,
    }


def _mean_sd(values: Sequence[float]) -> tuple[float, float | None]:
    mean = statistics.fmean(values)
    return mean, statistics.stdev(values) if len(values) > 1 else None


def summarise(cells: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and sample sd over seeds of accuracy, synapses and M1, per family × budget."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in cells:
        groups.setdefault((row["family"], row["budget"]), []).append(row)
    out = []
    for (family, budget), rows in groups.items():
        acc, acc_sd = _mean_sd([r["test_accuracy"] for r in rows])
        syn, syn_sd = _mean_sd([float(r["synapses_nonsilent"]) for r in rows])
        m1, m1_sd = _mean_sd([r["m1"] for r in rows])
        out.append(
            {
                "family": family,
                "budget": budget,
                "seeds": sorted(r["seed"] for r in rows),
                "test_accuracy_mean": acc,
                "test_accuracy_sd": acc_sd,
                "synapses_nonsilent_mean": syn,
                "synapses_nonsilent_sd": syn_sd,
                "m1_mean": m1,
                "m1_sd": m1_sd,
            }
        )
    return out


def verdicts(summary: Sequence[dict[str, Any]], rule: str = "structural") -> list[dict[str, Any]]:
    """Per budget and baseline: ``d = mean(rule) − mean(baseline)`` in accuracy points, and
    whether the rule wins (``d > max(sd)``; with fewer than two seeds nothing is decided)."""
    by = {(s["family"], s["budget"]): s for s in summary}
    out = []
    for (family, budget), s in sorted(by.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        own = by.get((rule, budget))
        if family == rule or own is None:
            continue
        diff = 100 * (own["test_accuracy_mean"] - s["test_accuracy_mean"])
        sds = [own["test_accuracy_sd"], s["test_accuracy_sd"]]
        sd = None if None in sds else 100 * max(sd for sd in sds if sd is not None)
        out.append(
            {
                "budget": budget,
                "baseline": family,
                "difference_points": diff,
                "max_sd_points": sd,
                "rule_wins": None if sd is None else diff > sd,
                "shortfall_points": max(0.0, -diff),
            }
        )
    return out


def _fmt(mean: float, sd: float | None, scale: float = 100.0, digits: int = 2) -> str:
    text = f"{scale * mean:.{digits}f}"
    return text if sd is None else f"{text} ± {scale * sd:.{digits}f}"


def summary_table(summary: Sequence[dict[str, Any]]) -> Table:
    """Test accuracy (%), non-silent synapses and M1, mean ± sd over seeds."""
    table = Table(title="equal synapse budget: test accuracy (mean ± sd over seeds)")
    for column in ("budget", "family", "seeds", "test acc %", "non-silent syn.", "M1"):
        table.add_column(column)
    for s in sorted(summary, key=lambda s: (s["budget"], s["family"])):
        table.add_row(
            f"{s['budget']:,}",
            s["family"],
            ",".join(str(x) for x in s["seeds"]),
            _fmt(s["test_accuracy_mean"], s["test_accuracy_sd"]),
            _fmt(s["synapses_nonsilent_mean"], s["synapses_nonsilent_sd"], 1.0, 0),
            f"{s['m1_mean']:.3g}" + ("" if s["m1_sd"] is None else f" ± {s['m1_sd']:.2g}"),
        )
    return table


def verdict_table(rows: Sequence[dict[str, Any]]) -> Table:
    """The structural rule against each baseline, per budget."""
    table = Table(title="structural − baseline (accuracy points); wins if larger than the sd")
    for column in ("budget", "baseline", "difference", "max sd", "rule wins"):
        table.add_column(column)
    for r in rows:
        sd = "-" if r["max_sd_points"] is None else f"{r['max_sd_points']:.2f}"
        wins = "-" if r["rule_wins"] is None else ("yes" if r["rule_wins"] else "no")
        table.add_row(f"{r['budget']:,}", r["baseline"], f"{r['difference_points']:+.2f}", sd, wins)
    return table


def markdown_table(summary: Sequence[dict[str, Any]], verdict: Sequence[dict[str, Any]]) -> str:
    """The summary (one row per budget, one column per family) and the verdicts, as markdown."""
    families = [f for f in FAMILIES if any(s["family"] == f for s in summary)]
    by = {(s["family"], s["budget"]): s for s in summary}
    lines = [
        "| budget | " + " | ".join(families) + " |",
        "|---" * (len(families) + 1) + "|",
    ]
    for budget in sorted({s["budget"] for s in summary}):
        cells = []
        for family in families:
            s = by.get((family, budget))
            if s is None:
                cells.append("–")
                continue
            cells.append(
                f"{_fmt(s['test_accuracy_mean'], s['test_accuracy_sd'])} % "
                f"({s['synapses_nonsilent_mean']:,.0f} syn.; M1 {s['m1_mean']:.3g}; "
                f"seeds {','.join(str(x) for x in s['seeds'])})"
            )
        lines.append(f"| ~{budget:,} | " + " | ".join(cells) + " |")
    if verdict:
        lines += ["", "| budget | structural − | difference (points) | max sd | rule wins |"]
        lines.append("|---|---|---|---|---|")
        for r in verdict:
            sd = "–" if r["max_sd_points"] is None else f"{r['max_sd_points']:.2f}"
            wins = "–" if r["rule_wins"] is None else ("yes" if r["rule_wins"] else "no")
            lines.append(
                f"| ~{r['budget']:,} | {r['baseline']} | {r['difference_points']:+.2f} | {sd} "
                f"| {wins} |"
            )
    return "\n".join(lines) + "\n"


def plot_contest(summary: Sequence[dict[str, Any]], folder: Path, title: str) -> list[Path]:
    """Accuracy against non-silent synapses and against M1, one line per family (mean ± sd)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    paths = []
    for x_key, x_label, name in (
        ("synapses_nonsilent", "non-silent synapses (biases and readout included)", "synapses"),
        ("m1", "learning energy M1 = Σ|Δw|", "energy"),
    ):
        fig, ax = plt.subplots(figsize=(6.4, 4.2), constrained_layout=True)
        for family in FAMILIES:
            rows = sorted((s for s in summary if s["family"] == family), key=lambda s: s["budget"])
            if not rows:
                continue
            ax.errorbar(
                [s[f"{x_key}_mean"] for s in rows],
                [100 * s["test_accuracy_mean"] for s in rows],
                xerr=[s[f"{x_key}_sd"] or 0.0 for s in rows],
                yerr=[100 * (s["test_accuracy_sd"] or 0.0) for s in rows],
                fmt="o-",
                capsize=3,
                label=family,
            )
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(x_label)
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        path = folder / f"equal_budget_{name}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths


def _train_cell(
    cell: Cell, exp: Experiment, ctx: ExperimentContext, data: DataSplits
) -> ResultRecord:
    """Train one cell, or with ``--resume`` reuse its finished run or continue its unfinished one.

    A cell whose unfinished run cannot be resumed (it was killed before its first checkpoint, so
    there is nothing to continue) starts anew with a warning instead of stopping the contest; its
    old run stays as it was in the store. A finished run is looked up first, so a later
    ``--resume`` never trains that cell again.
    """
    overrides = dict(cell.overrides)
    store = ctx.store
    assert store is not None  # run_equal_budget refuses to run without one
    if ctx.resume:
        done = find_finished(cell.method, overrides, exp, store, data)
        if done is not None:
            ctx.console.print(f"{cell.method}: already finished as run {done.run_id}; reused")
            return done
    try:
        return run_method(
            cell.method, overrides, exp, store, data=data, resume=ctx.resume,
            console=ctx.console,
        )  # fmt: skip
    except CheckpointError as exc:
        if not ctx.resume:
            raise
        ctx.console.print(f"[yellow]warning:[/yellow] {exc}; this cell starts anew")
        return run_method(cell.method, overrides, exp, store, data=data, console=ctx.console)


@register_experiment(
    "equal-budget",
    EqualBudgetParams,
    "structural rule vs narrow, pruned and SET backprop at equal synapse budgets, several seeds",
    options=("device", "quick", "data_dir", "resume"),
    dataset="mnist",
)
def run_equal_budget(params: EqualBudgetParams, ctx: ExperimentContext) -> ExperimentOutput:
    """``neuroplastic run equal-budget [--budgets 10000,25000,80000] [--seeds 0,1,2]``."""
    if ctx.store is None:
        raise ParameterError("equal-budget records each cell in a run store; none was given")
    budgets, seeds, families = params.budget_list(), params.seed_list(), params.family_list()
    cells: list[dict[str, Any]] = []
    records: list[ResultRecord] = []
    missing: list[dict[str, Any]] = []
    for seed in seeds:
        data: DataSplits | None = None
        for budget in budgets:
            for family in families:
                cell = cell_settings(family, budget, ctx.quick)
                exp = Experiment(
                    hidden=[cell.hidden],
                    seed=seed,
                    device=ctx.device,
                    quick=ctx.quick,
                    data_dir=ctx.data_dir,
                    progress=ctx.progress,
                )
                if data is None:
                    data = load_data(exp, ctx.console)
                ctx.console.print(
                    f"[bold]{family}[/bold] budget {budget:,} seed {seed}: {cell.method} "
                    f"hidden {cell.hidden} {cell.overrides}"
                )
                if params.collect:
                    found = find_finished(cell.method, dict(cell.overrides), exp, ctx.store, data)
                    if found is None:
                        missing.append({"family": family, "budget": budget, "seed": seed})
                        continue
                    record = found
                else:
                    record = _train_cell(cell, exp, ctx, data)
                records.append(record)
                cells.append(_cell_row(cell, seed, record))
    summary = summarise(cells)
    verdict = verdicts(summary)
    folder = ctx.output_dir
    folder.mkdir(parents=True, exist_ok=True)
    table_path = folder / "equal_budget_table.json"
    write_json_atomic(
        table_path,
        {
            "budgets": budgets,
            "seeds": seeds,
            "quick": ctx.quick,
            "missing": missing,
            "summary": summary,
            "verdicts": verdict,
        },
    )
    markdown_path = folder / "equal_budget_table.md"
    markdown_path.write_text(markdown_table(summary, verdict))
    present = sorted({c["seed"] for c in cells})
    title = f"MNIST, ten classes, equal synapse budget (seeds {','.join(map(str, present))})"
    files = [table_path, markdown_path, *plot_contest(summary, folder, title)]
    wins = [v for v in verdict if v["rule_wins"]]
    return ExperimentOutput(
        payload={
            "experiment": "equal-budget",
            "budgets": budgets,
            "seeds": seeds,
            "families": families,
            "cells": cells,
            "summary": summary,
            "verdicts": verdict,
            "missing": missing,
        },
        tables=[summary_table(summary), verdict_table(verdict)],
        records=records,
        files=files,
        headline=f"structural wins {len(wins)} of {len(verdict)} budget × baseline pairs"
        + (f"; {len(missing)} cells missing" if missing else ""),
    )
