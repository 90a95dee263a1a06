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

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def timed(args: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run the CLI with ``args``; wall and CPU seconds of the child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "neuroplastic.cli", *args], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="structural", help="the method beside backprop")
    parser.add_argument("--json", type=Path, default=None)
    a = parser.parse_args()
    methods = f"backprop,{a.method}"
    with tempfile.TemporaryDirectory() as home:
        env = {
            **os.environ,
            "NEUROPLASTIC_HOME": home,
            "NEUROPLASTIC_STORE": str(Path(home) / "runs.sqlite"),
            "OMP_NUM_THREADS": "1",
        }
        load_before = os.getloadavg()
        compare = timed(["compare", "--quick", "--methods", methods, "--no-progress"], env)
        out = Path(home) / "out"
        evaluate = timed(
            ["evaluate", "--quick", "--adversarial", "--few-shot", "--methods", methods,
             "--out", str(out), "--no-progress"],
            env,
        )  # fmt: skip
        report = json.loads((out / "evaluation.json").read_text())
        load_after = os.getloadavg()
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
    text = json.dumps(result, indent=2)
    print(text)
    if a.json is not None:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
