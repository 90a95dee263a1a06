"""Benchmark: one capacity evaluation on integer counters, this checkout against an older commit.

Times, in one process and one thread, the integer-counter path of a capacity search at the
paper's conditions (auto-association, k = round(log2 n), half queries, 5 iterative k-WTA steps,
no self-connections, 200 queries, Bayesian rule with and without ANE) for two implementations:

- **new**: this checkout's :mod:`neuroplastic.memory.int_retrieval` and its Numba kernels;
- **old**: the same three modules (``intcounters.py``, ``int_retrieval.py``,
  ``_int_kernels.py``) as they were at ``--old-ref`` (default ``de24775``: before the lookup
  tables, the shared sweep and the column blocks), read with ``git show`` and imported under
  other names.

Per implementation and configuration: the store of ``--load`` patterns (CPU seconds) and one
evaluation, i.e. :func:`~neuroplastic.memory.int_retrieval.retrieve_int` on a fresh
``IntMemory`` (so the per-load statistics are computed, as after every load change of a
search), CPU and wall seconds, the best of ``--repeats``. The two must agree exactly: the
output of every query, and the ANE statistics and Bayesian bias arrays (``np.array_equal``).

The implied time of the n = 10^5 Bayes + ANE point is the measured one
(``--point-store-s`` + ``--point-retrieve-s``: store and retrieval seconds of the point's JSON,
defaults from the run of 2026-12-01) with its retrieval time scaled by this run's new/old
CPU ratio at the largest ``--ns``: an extrapolation (the ratio is measured at smaller n).
The load average before and after is recorded: the machine may be shared.

    python benchmarks/memory_int_retrieval_speed.py --json results/memory/int_retrieval_speed.json
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from _common import benchmark_parser, load_average, machine_info, write_json

from neuroplastic.experiments import capacity_measurement as cm
from neuroplastic.memory import int_retrieval, intcounters
from neuroplastic.memory.capacity import output_noise
from neuroplastic.memory.patterns import exact_miss_query, indices_to_dense
from neuroplastic.memory.retrieval import RetrievalParams
from neuroplastic.memory.rules import RuleParams

ROOT = Path(__file__).resolve().parents[1]
_MODULES = ("_int_kernels", "intcounters", "int_retrieval")
# M_eps of the Bayes + ANE points (seed 0) at n = 16,384 and 10^5; other n: the n^1.77 fit
_LOADS = {16384: 475_757, 100_000: 11_813_912}


def old_modules(ref: str, folder: Path) -> dict[str, ModuleType]:
    """The integer-counter modules at git ``ref``, imported as ``_old_<name>``."""
    mods: dict[str, ModuleType] = {}
    for name in _MODULES:
        src = subprocess.run(
            ["git", "show", f"{ref}:neuroplastic/memory/{name}.py"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        path = folder / f"_old_{name}.py"
        path.write_text(src)
        spec = importlib.util.spec_from_file_location(f"_old_{name}", path)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        mods[name] = mod
    kern = mods["_int_kernels"]
    mods["intcounters"].kernels = lambda: kern  # type: ignore[attr-defined]
    return mods


def default_load(n: int) -> int:
    if n in _LOADS:
        return _LOADS[n]
    return int(_LOADS[16384] * (n / 16384) ** 1.77)


def measure(
    impl: dict[str, ModuleType], n: int, load: int, ane: bool, repeats: int
) -> dict[str, Any]:
    """Store ``load`` patterns, then time one evaluation (fresh IntMemory) ``repeats`` times."""
    cfg = cm.CapacityConfig(n=n, rule="bayes", ane=ane, storage="int")
    _, n, k, ell = cfg.sizes()
    bank = cm._PatternBank(n, k, "constant", 0, False)
    counters = impl["intcounters"].IntCounters(n, n, auto=True, dtype=cfg.dtype())
    c0 = time.process_time()
    for s in range(0, load, cm._STEP):
        iu, vu = bank.range(s, min(load, s + cm._STEP))
        counters.add_indices(iu, iu, 1, valid_u=vu, valid_v=vu)
    store_cpu = time.process_time() - c0
    gen = torch.Generator().manual_seed(load)
    rows = torch.randint(0, load, (cfg.queries,), generator=gen)
    in_idx, _ = bank.rows(rows)
    target = bank.dense(rows)
    query = indices_to_dense(exact_miss_query(in_idx, cfg.p10, gen), n)
    rule = RuleParams(rule="bayes", p01=cfg.p01, p10=cfg.p10)
    params = RetrievalParams(
        mode="kwta", winners=ell, iterations=cfg.iterations, ane=ane, ane_levels=cfg.ane_levels
    )
    cpu, wall = [], []
    for _ in range(repeats):
        mem = impl["int_retrieval"].IntMemory(counters, rule)
        c0, t0 = time.process_time(), time.perf_counter()
        res = impl["int_retrieval"].retrieve_int(mem, query, params)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - t0)
    stats = mem.ane_stats(True)
    return {
        "store_cpu_seconds": store_cpu,
        "evaluation_cpu_seconds": min(cpu),
        "evaluation_wall_seconds": min(wall),
        "evaluation_cpu_seconds_all": cpu,
        "eps": output_noise(res.output.float(), target),
        "steps": res.steps,
        "_output": res.output.numpy(),
        "_arrays": [stats[0].numpy(), stats[1].numpy(), mem.bias(None, True)],
    }


def main() -> None:
    ap = benchmark_parser(__doc__)
    ap.add_argument("--ns", default="16384", help="comma-separated sizes")
    ap.add_argument("--loads", default="", help="stored patterns per n (default: M_eps)")
    ap.add_argument("--ane", default="on,off", help="on, off or both (on,off)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--old-ref", default="de24775")
    ap.add_argument("--point-store-s", type=float, default=102.34285818699755)
    ap.add_argument("--point-retrieve-s", type=float, default=823.3389385339997)
    args = ap.parse_args()
    torch.set_num_threads(1)
    ns = [int(v) for v in args.ns.split(",")]
    loads = [int(v) for v in args.loads.split(",")] if args.loads else [default_load(n) for n in ns]
    new = {"_int_kernels": intcounters.kernels(), "intcounters": intcounters}
    new["int_retrieval"] = int_retrieval
    load_before = load_average()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        old = old_modules(args.old_ref, Path(tmp))
        for impl in (old, new):  # compile the kernels outside the timings
            measure(impl, 256, 2000, True, 1)
            measure(impl, 256, 2000, False, 1)
        for n, load in zip(ns, loads, strict=True):
            for ane in [v == "on" for v in args.ane.split(",")]:
                res = {name: measure(impl, n, load, ane, args.repeats) for name, impl in
                       (("old", old), ("new", new))}  # fmt: skip
                same_out = bool(np.array_equal(res["old"]["_output"], res["new"]["_output"]))
                same_arrays = all(
                    np.array_equal(a, b)
                    for a, b in zip(res["old"]["_arrays"], res["new"]["_arrays"], strict=True)
                )
                row = {
                    "n": n,
                    "load": load,
                    "rule": "bayes",
                    "ane": ane,
                    "old": {k: v for k, v in res["old"].items() if not k.startswith("_")},
                    "new": {k: v for k, v in res["new"].items() if not k.startswith("_")},
                    "identical_outputs": same_out,
                    "identical_ane_stats_and_bias": same_arrays,
                    "speedup_evaluation_cpu": res["old"]["evaluation_cpu_seconds"]
                    / res["new"]["evaluation_cpu_seconds"],
                    "speedup_store_cpu": res["old"]["store_cpu_seconds"]
                    / res["new"]["store_cpu_seconds"],
                    "load_average": load_average(),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    ane_rows = [r for r in rows if r["ane"]]
    implied = None
    if ane_rows:
        top = max(ane_rows, key=lambda r: r["n"])
        ratio = top["new"]["evaluation_cpu_seconds"] / top["old"]["evaluation_cpu_seconds"]
        implied = {
            "ratio_from_n": top["n"],
            "new_over_old_evaluation_cpu": ratio,
            "measured_point_seconds": args.point_store_s + args.point_retrieve_s,
            "implied_point_seconds": args.point_store_s + args.point_retrieve_s * ratio,
            "note": "extrapolation: the 10^5 point's retrieval time x the ratio at ratio_from_n",
        }
    out = {
        "benchmark": "memory_int_retrieval_speed",
        "old_ref": args.old_ref,
        "machine": machine_info(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "rows": rows,
        "bayes_ane_point_at_1e5": implied,
        "all_identical": all(
            r["identical_outputs"] and r["identical_ane_stats_and_bias"] for r in rows
        ),
    }
    write_json(out, args.json, echo=False)
    print(json.dumps({k: out[k] for k in ("bayes_ane_point_at_1e5", "all_identical")}, indent=1))


if __name__ == "__main__":
    main()
