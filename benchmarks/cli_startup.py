"""Benchmark: how fast ``neuroplastic --help`` and an argument error answer (issue 13, item 7).

Each command runs ``--repeats`` times as a fresh subprocess (``python -m neuroplastic.cli``,
the source tree first on ``PYTHONPATH``), alternating with a bare ``python -c pass`` as the
baseline of the same moment (interpreter start-up); the median wall time, the median CPU time
(user + sys of the child) and the machine's load average before and after are written as JSON.
``--baseline-rev REV`` measures the same commands on an older commit (extracted with
``git archive``) in the same run, for a before/after ratio. Target: under 1 s each.

    python benchmarks/cli_startup.py --json results/cli_startup.json --baseline-rev ad283b9

Commands measured: ``--help``; ``run backprop --seed -1`` (an option error found by the
command-line parser); ``run backprop --set lr=nan`` (a parameter error: the method's parameter
model must be imported, and with it torch, so this one is reported but has no 1 s target).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

from _common import benchmark_parser, load_average, run_child, write_json

ROOT = Path(__file__).resolve().parents[1]
COMMANDS: dict[str, list[str]] = {
    "help": ["--help"],
    "option_error": ["run", "backprop", "--seed", "-1"],
    "parameter_error": ["run", "backprop", "--set", "lr=nan"],
}
TARGET_S = 1.0
TARGETED = ("help", "option_error")


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """(wall seconds, child CPU seconds, exit code) of one subprocess run in ``cwd``
    (``python -m`` puts the working directory first on the path, so it selects the tree)."""
    proc, wall, cpu = run_child(argv, env, cwd, timeout=120)
    return wall, cpu, proc.returncode


def source_of(rev: str, dest: Path) -> Path:
    """The tree of commit ``rev`` extracted into ``dest``."""
    data = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def measure(trees: dict[str, Path], repeats: int, home: Path) -> dict[str, Any]:
    """Median wall and CPU seconds per (tree, command), runs interleaved with the baseline."""
    samples: dict[str, dict[str, list[tuple[float, float, int]]]] = {
        label: {name: [] for name in COMMANDS} for label in trees
    }
    bare: list[tuple[float, float, int]] = []
    home.mkdir(parents=True, exist_ok=True)
    for _ in range(repeats):
        bare.append(timed([sys.executable, "-c", "pass"], dict(os.environ), home))
        for label, tree in trees.items():
            env = {
                **os.environ,
                "PYTHONPATH": str(tree),
                "NEUROPLASTIC_HOME": str(home),
                "COLUMNS": "80",
            }
            for name, args in COMMANDS.items():
                samples[label][name].append(
                    timed([sys.executable, "-m", "neuroplastic.cli", *args], env, tree)
                )

    def summary(runs: list[tuple[float, float, int]]) -> dict[str, Any]:
        return {
            "median_wall_s": round(statistics.median(r[0] for r in runs), 3),
            "median_cpu_s": round(statistics.median(r[1] for r in runs), 3),
            "min_wall_s": round(min(r[0] for r in runs), 3),
            "exit_codes": sorted({r[2] for r in runs}),
        }

    return {
        "python_bare": summary(bare),
        **{
            label: {name: summary(runs) for name, runs in per.items()}
            for label, per in samples.items()
        },
    }


def main() -> None:
    """Measure and write the JSON."""
    ap = benchmark_parser(__doc__, Path("results/cli_startup.json"))
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--baseline-rev", help="also measure this older commit (before/after)")
    args = ap.parse_args()
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    out: dict[str, Any] = {
        "commit": head,
        "python": platform.python_version(),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "repeats": args.repeats,
        "commands": {name: " ".join(a) for name, a in COMMANDS.items()},
        "target_s": TARGET_S,
        "load_before": load_average(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"current": ROOT}
        if args.baseline_rev:
            trees["baseline"] = source_of(args.baseline_rev, Path(tmp) / "baseline")
            out["baseline_rev"] = args.baseline_rev
        out["results"] = measure(trees, args.repeats, Path(tmp) / "home")
    out["load_after"] = load_average()
    current = out["results"]["current"]
    out["meets_target"] = {name: current[name]["median_wall_s"] < TARGET_S for name in TARGETED}
    if "baseline" in out["results"]:
        base = out["results"]["baseline"]
        out["speedup_cpu"] = {
            name: round(base[name]["median_cpu_s"] / current[name]["median_cpu_s"], 2)
            for name in COMMANDS
        }
    write_json(out, args.json)


if __name__ == "__main__":
    main()
