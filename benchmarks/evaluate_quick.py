"""Benchmark: ``neuroplastic evaluate --quick`` for two methods, end to end (target < 60 s).

Runs, as separate processes with one thread each and their own temporary store:

1. ``neuroplastic compare --quick --methods backprop,METHOD`` (training and records only: the
   baseline whose wall time tells how loaded the machine is);
2. ``neuroplastic evaluate --quick --adversarial --few-shot --methods backprop,METHOD``.

It reports each one's wall time, CPU time (user + system of the child process), the ratio
evaluate / compare, the load average before and after, and evaluate's own timings per part
(from its JSON). Writes JSON (``--json``); not a test.

    python benchmarks/evaluate_quick.py --method structural --json results/evaluate_quick.json
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import benchmark_parser, load_average, run_child, write_json


def timed(args: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run the CLI with ``args``; wall and CPU seconds of the child."""
    out, wall, cpu = run_child([sys.executable, "-m", "neuroplastic.cli", *args], env)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return {"wall_s": wall, "cpu_s": cpu}


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--method", default="structural", help="the method beside backprop")
    a = parser.parse_args()
    methods = f"backprop,{a.method}"
    with tempfile.TemporaryDirectory() as home:
        env = {
            **os.environ,
            "NEUROPLASTIC_HOME": home,
            "NEUROPLASTIC_STORE": str(Path(home) / "runs.sqlite"),
            "OMP_NUM_THREADS": "1",
        }
        load_before = load_average()
        compare = timed(["compare", "--quick", "--methods", methods, "--no-progress"], env)
        out = Path(home) / "out"
        evaluate = timed(
            ["evaluate", "--quick", "--adversarial", "--few-shot", "--methods", methods,
             "--out", str(out), "--no-progress"],
            env,
        )  # fmt: skip
        report = json.loads((out / "evaluation.json").read_text())
        load_after = load_average()
    result: dict[str, Any] = {
        "methods": methods,
        "compare_quick": compare,
        "evaluate_quick": evaluate,
        "ratio_evaluate_to_compare_wall": evaluate["wall_s"] / compare["wall_s"],
        "target_wall_s": 60.0,
        "target_met": evaluate["wall_s"] < 60.0,
        "evaluate_timings_s": report["timings"],
        "evaluate_internal_wall_s": report["wall_s"],
        "load_avg_before": load_before,
        "load_avg_after": load_after,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    write_json(result, a.json)


if __name__ == "__main__":
    main()
