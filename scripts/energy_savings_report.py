"""Aggregate the energy-protocol JSONs of scripts/energy_savings_table.sh into a table and plots.

Usage: python scripts/energy_savings_report.py results/energy/savings

Writes, in that directory: savings.md (one row per configuration: runs, samples to 95 %, M0,
M1, M1/M1_min, maintenance, saving factors M0 and M1 against plain backprop at the same N and
settings; mean ± sd over seeds), energy_vs_accuracy.png and energy_vs_nhid.png.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any


def _ms(values: list[float], fmt: str) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(statistics.mean(values), fmt)} ± {format(statistics.stdev(values), fmt)}"


def load(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """Runs grouped by configuration name (file name without the seed suffix)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in sorted(directory.glob("*_s*.json")):
        name = path.stem.rsplit("_s", 1)[0]
        groups[name].append(json.loads(path.read_text()))
    return groups


def reference_name(name: str) -> str:
    """The plain-backprop configuration a run is compared with."""
    if name.startswith("elife"):
        return "elife_plain"
    return name.split("_", 1)[0] + "_top_p1"


def label(name: str, run: dict[str, Any]) -> str:
    """Human-readable configuration: restriction, cache settings, eLife marker."""
    params = run["params"]
    text = run["restriction"]
    if params["cache"]:
        tau = params.get("tau")
        text += " + cache θ={:g} τ={} {}".format(
            params["theta"], "none" if tau is None else f"{tau:g}", params.get("cache_mode", "")
        ).rstrip()
    if name.startswith("elife"):
        text += " (eLife: logistic, lr 0.1)"
    return text


def _outcome(runs: list[dict[str, Any]]) -> str:
    reached = [r for r in runs if r["reached"]]
    if reached:
        return _ms([float(r["samples_to_target"]) for r in reached], ".0f")
    if any(r.get("diverged") for r in runs):
        return f"diverged ({sum(bool(r.get('diverged')) for r in runs)}/{len(runs)})"
    return f"not reached in {runs[0]['samples_seen']}"


def table(groups: dict[str, list[dict[str, Any]]]) -> str:
    """Markdown table of every configuration."""
    head = (
        "| configuration | N | runs | reached 95 % | samples to 95 % | M0 | M1 | M1/M1_min "
        "| maintenance | (M1+maint.)/M1_min | M0 saving | M1+maint. saving | samples/s |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for name, runs in sorted(groups.items(), key=lambda kv: (kv[1][0]["params"]["n_hid"], kv[0])):
        ref = groups.get(reference_name(name), [])
        ref_m0 = statistics.mean([r["m0"] for r in ref]) if ref else None
        ref_e = statistics.mean([r["energy_total"] for r in ref]) if ref else None
        reached = [r for r in runs if r["reached"]]
        finite = [r for r in runs if not r.get("diverged") and r["m1_min"]]
        m0 = [r["m0"] for r in runs]
        energy = [r["energy_total"] for r in runs]
        rows.append(
            "| {} | {} | {} | {}/{} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                label(name, runs[0]),
                runs[0]["params"]["n_hid"],
                len(runs),
                len(reached),
                len(runs),
                _outcome(runs),
                _ms(m0, ".3g"),
                _ms([r["m1"] for r in runs], ".4g"),
                _ms([r["m1_inefficiency"] for r in finite], ".3g") if finite else "-",
                _ms([r["maintenance"] for r in runs], ".3g") if runs[0]["params"]["cache"] else "-",
                _ms([r["energy_total"] / r["m1_min"] for r in finite], ".3g")
                if runs[0]["params"]["cache"] and finite
                else "-",
                f"{ref_m0 / statistics.mean(m0):.2f}x" if ref_m0 else "-",
                f"{ref_e / statistics.mean(energy):.2f}x" if ref_e else "-",
                _ms([r["samples_per_s"] for r in runs if r["samples_per_s"]], ".0f"),
            )
        )
    return head + "\n".join(rows) + "\n"


def plots(groups: dict[str, list[dict[str, Any]]], directory: Path) -> list[Path]:
    """Energy against accuracy (learning curves) and energy at the end against N_hid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({runs[0]["params"]["n_hid"] for runs in groups.values()})
    fig, axes = plt.subplots(
        1, len(sizes), figsize=(6.5 * len(sizes), 6), constrained_layout=True, squeeze=False
    )
    colours = plt.get_cmap("tab20").colors
    for ax, size in zip(axes[0], sizes, strict=True):
        names = sorted(n for n, runs in groups.items() if runs[0]["params"]["n_hid"] == size)
        for i, name in enumerate(names):
            curve = groups[name][0]["curve"]  # the first seed's learning curve
            ax.plot(
                [c["accuracy"] for c in curve],
                [max(c["m0"], 1) for c in curve],
                color=colours[i % len(colours)],
                ls=("-", "--", ":", "-.")[(i // len(colours)) % 4],
                label=label(name, groups[name][0]),
            )
        ax.set_yscale("log")
        ax.set_xlim(0.8, 0.96)
        ax.set_title(f"N_hid = {size}")
        ax.set_xlabel("test accuracy")
        ax.set_ylabel("M0 (persistent synaptic writes so far)")
        ax.axhline(1e7, ls=":", c="k", lw=0.8)
        ax.axvline(0.95, ls=":", c="k", lw=0.8)
        ax.legend(fontsize="xx-small", loc="upper left")
        ax.grid(True, which="both", alpha=0.3)
    p1 = directory / "energy_vs_accuracy.png"
    fig.savefig(p1, dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4.5), constrained_layout=True)
    by_policy: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for name, runs in groups.items():
        if name.startswith("elife") or runs[0]["params"]["cache"]:
            continue
        for r in runs:
            if r["reached"]:
                by_policy[r["restriction"]][r["params"]["n_hid"]].append(r["m1"])
    colours = plt.get_cmap("tab20").colors
    for i, (policy, per_n) in enumerate(sorted(by_policy.items())):
        ns = sorted(per_n)
        means = [statistics.mean(per_n[n]) for n in ns]
        sds = [statistics.stdev(per_n[n]) if len(per_n[n]) > 1 else 0.0 for n in ns]
        ax.errorbar(
            ns,
            means,
            yerr=sds,
            marker="os^D"[i % 4],
            capsize=3,
            color=colours[i % len(colours)],
            label=policy,
        )
    if "top p=1" in by_policy and 100 in by_policy["top p=1"]:
        base = statistics.mean(by_policy["top p=1"][100])
        guide = [100, 10000]
        ax.plot(guide, [base * (n / 100) ** 0.5 for n in guide], "k:", label="∝ sqrt(N)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("hidden units N")
    ax.set_ylabel("M1 to 95 % (mean ± sd over seeds; runs that reached it)")
    ax.legend(fontsize="x-small")
    ax.grid(True, which="both", alpha=0.3)
    p2 = directory / "energy_vs_nhid.png"
    fig.savefig(p2, dpi=120)
    plt.close(fig)
    return [p1, p2]


def main() -> None:
    """Entry point."""
    directory = Path(sys.argv[1] if len(sys.argv) > 1 else "results/energy/savings")
    groups = load(directory)
    if not groups:
        print(f"no runs in {directory}")
        return
    text = table(groups)
    (directory / "savings.md").write_text(text)
    print(text)
    for path in plots(groups, directory):
        print(f"written: {path}")


if __name__ == "__main__":
    main()
