"""Capacity points to n = 10^5, one process per point, each written to its own JSON (resumable).

Every (n, rule, ANE, seed) point runs ``measure_capacity`` in a fresh child process, so the
JSON records that point's own wall time and peak resident memory (``ru_maxrss`` of the child),
plus the machine's load average before and after. A point whose JSON exists is skipped, so an
interrupted sweep resumes where it stopped. ``--plot`` gathers every JSON of the folder into a
summary (mean ± std over seeds) and a plot of fair bits/synapse against n with the ln 2,
(ln 2)/4 and "≈ 0.2 at n ≈ 10^5" references.

    python benchmarks/memory_capacity_points.py --out results/memory/points_auto \\
        --ns 1024,4096,16384 --seeds 0,1,2 --rules bayes,bcpnn --ane both
    python benchmarks/memory_capacity_points.py --out results/memory/points_auto \\
        --ns 100000 --seeds 0 --rules bayes --ane off --start 1.6 --growth 1.1
    python benchmarks/memory_capacity_points.py --out results/memory/points_auto --plot

Defaults are the paper's conditions (auto-association, constant activity k = round(log2 n),
half queries, 5 iterative k-WTA steps, no self-connections, ε = 0.01, 200 queries per load).
Run it with ``nice -n 10`` and one torch thread on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def _point_name(n: int, rule: str, ane: bool, seed: int, tag: str) -> str:
    return f"n{n}_{rule}_{'ane' if ane else 'plain'}_s{seed}{tag}.json"


def _load() -> list[float]:
    return list(os.getloadavg())


def run_child(config: dict[str, Any], seed: int, path: Path) -> None:
    """Measure one point in this process and write its JSON (called in the child)."""
    import torch

    torch.set_num_threads(1)
    from neuroplastic.experiments.capacity_measurement import CapacityConfig, measure_capacity

    cfg = CapacityConfig(**config)
    load_before = _load()
    t0 = time.perf_counter()
    row = measure_capacity(cfg, seed=seed)
    row["wall_seconds"] = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    row["peak_rss_bytes"] = usage.ru_maxrss * 1024
    row["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    row["load_average_before"] = load_before
    row["load_average_after"] = _load()
    row["config"] = cfg.model_dump()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(row, indent=1))
    tmp.replace(path)


def _summary(out: Path) -> list[dict[str, Any]]:
    from neuroplastic.experiments.memory_capacity import summarise

    rows = [json.loads(p.read_text()) for p in sorted(out.glob("n*.json"))]
    summary = summarise(rows)
    for item in summary:
        same = [
            r
            for r in rows
            if (r["n"], r["rule"], r["ane"]) == (item["n"], item["rule"], item["ane"])
        ]
        item["peak_rss_gb_max"] = max(r.get("peak_rss_bytes", 0) for r in same) / 1e9
        item["wall_seconds_max"] = max(r.get("wall_seconds", r["seconds"]) for r in same)
        item["cpu_seconds_max"] = max((r.get("cpu_seconds") or 0.0) for r in same)
        item["load_average"] = [r.get("load_average_before") for r in same]
    return sorted(summary, key=lambda r: (r["rule"], r["ane"], r["n"]))


def plot(out: Path) -> None:
    """Write summary.json and capacity_curve.png for every point JSON in ``out``."""
    from neuroplastic.experiments.memory_capacity import plot_curve

    summary = _summary(out)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    refs = (
        (math.log(2), "ln 2 (hetero Willshaw limit)"),
        (math.log(2) / 4, "(ln 2)/4 (auto limit)"),
        (0.2, "≈ 0.2 at n ≈ 10^5 (Knoblauch & Palm, best finite auto)"),
    )
    plot_curve(
        summary,
        out / "capacity_curve.png",
        "auto, constant activity k = log2 n, half queries, 5 steps k-WTA, eps = 0.01 (fair)",
        refs,
    )
    print(markdown(summary))
    for item in summary:
        print(
            f"n={item['n']:>6} {item['rule']:>10}{' + ANE' if item['ane'] else '      '} "
            f"seeds={item['seeds']} C={item['capacity_bits_per_synapse']:.4f}"
            f"±{item.get('capacity_bits_per_synapse_std', 0):.4f} "
            f"M={item['capacity_patterns']:.0f} wall≤{item['wall_seconds_max']:.0f}s "
            f"rss≤{item['peak_rss_gb_max']:.2f}GB"
        )


def markdown(summary: list[dict[str, Any]]) -> str:
    """A markdown table: one row per (rule, ANE), one column per n (mean ± std, seeds)."""
    sizes = sorted({r["n"] for r in summary})
    order = ("willshaw", "covariance", "bayes", "bcpnn")
    lines = [
        "| rule | " + " | ".join(f"n = {n:,}" for n in sizes) + " |",
        "|---|" + "---|" * len(sizes),
    ]
    for rule in order:
        for ane in (False, True):
            cells = []
            for n in sizes:
                hit = [r for r in summary if (r["n"], r["rule"], r["ane"]) == (n, rule, ane)]
                if not hit:
                    cells.append("—")
                    continue
                r = hit[0]
                std = r.get("capacity_bits_per_synapse_std", 0.0)
                cells.append(
                    f"{r['capacity_bits_per_synapse']:.4f}"
                    + (f" ± {std:.4f}" if r["seeds"] > 1 else "")
                    + f" ({r['seeds']} seed{'s' if r['seeds'] > 1 else ''})"
                )
            if any(c != "—" for c in cells):
                label = f"{rule}{' + ANE' if ane else ''}"
                lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--ns", default="1024,4096,16384")
    ap.add_argument("--rules", default="willshaw,covariance,bayes,bcpnn")
    ap.add_argument("--ane", choices=("off", "on", "both"), default="both")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--start", type=float, default=None)
    ap.add_argument("--growth", type=float, default=None)
    ap.add_argument("--queries", type=int, default=None)
    ap.add_argument("--storage", default=None)
    ap.add_argument("--tag", default="", help="suffix of the point files (variants)")
    ap.add_argument("--extra", default="{}", help="JSON of further CapacityConfig fields")
    ap.add_argument("--plot", action="store_true", help="only summarise and plot the folder")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        spec = json.loads(args.child)
        run_child(spec["config"], spec["seed"], Path(spec["path"]))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    if args.plot:
        plot(args.out)
        return
    anes = {"off": [False], "on": [True], "both": [False, True]}[args.ane]
    for n in [int(x) for x in args.ns.split(",")]:
        for rule in args.rules.split(","):
            for ane in anes:
                for seed in [int(x) for x in args.seeds.split(",")]:
                    path = args.out / _point_name(n, rule, ane, seed, args.tag)
                    if path.exists():
                        continue
                    config: dict[str, Any] = {"rule": rule, "n": n, "ane": ane}
                    config.update(json.loads(args.extra))
                    for key in ("start", "growth", "queries", "storage"):
                        if getattr(args, key) is not None:
                            config[key] = getattr(args, key)
                    spec = {"config": config, "seed": seed, "path": str(path)}
                    t0 = time.perf_counter()
                    proc = subprocess.run(
                        [sys.executable, __file__, "--out", str(args.out), "--child",
                         json.dumps(spec)],
                        check=False,
                    )  # fmt: skip
                    status = "ok" if proc.returncode == 0 else f"failed rc={proc.returncode}"
                    print(
                        f"{path.name}: {status} in {time.perf_counter() - t0:.0f} s "
                        f"(load {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
