"""Benchmark: batched associative-memory retrieval vs a plain matrix product; capacity-curve time.

Two measurements, written to one JSON file (``--json``):

1. **Throughput** (queries per second) of one-step k-WTA retrieval
   (:func:`neuroplastic.memory.retrieval.retrieve`: projection, bias, top-k, scatter) against a
   plain ``Q @ W`` of the same shape (B, m) x (m, n), timed in the same run, alternating, median
   of ``--repeats``. Two query regimes: *dense* queries (half the units on: retrieval uses the
   same matrix product) and *sparse* queries (k = log2 n units on: retrieval gathers k rows of W
   instead). Target: ratio retrieval / matmul >= 0.5 (dense regime: the like-for-like one).
2. **Capacity curve time**:
   :func:`neuroplastic.experiments.capacity_measurement.measure_capacity` for every n in
   ``--curve-ns`` (default up to 4,096) and all four rules (ANE off; ``--ane`` adds the ANE
   points), paper conditions (auto-association, k = log2 n, half queries, 5 steps k-WTA).
   Target: under ten minutes in total.
3. **Bit-packed Willshaw store at large n** (``--packed-n``, default 100,000; 0 skips):
   storage rate (patterns/s and synapse bit-sets/s) of
   :class:`neuroplastic.memory.packed.PackedWillshaw` with the compiled kernel and with the torch
   fallback, and the rate of potentials x = ũW for sparse queries (k = log2 n active units),
   both paths. The matrix is ⌈n/8⌉·n bytes (1.25 GB at n = 10^5).

The load average before and after is recorded: the machine is shared, timings are inflated.

    python benchmarks/memory_retrieval.py --json results/memory_retrieval.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from neuroplastic.experiments.capacity_measurement import CapacityConfig, measure_capacity
from neuroplastic.memory.core import MemoryCore
from neuroplastic.memory.packed import PackedWillshaw
from neuroplastic.memory.patterns import constant_activity_indices
from neuroplastic.memory.retrieval import RetrievalParams, retrieve
from neuroplastic.memory.rules import RULES, RuleParams


def _time(fn: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def throughput(n: int, batch: int, repeats: int, rule: str, device: torch.device) -> dict[str, Any]:
    """Queries/s of retrieve() vs Q @ W for dense and sparse queries of shape (batch, n)."""
    g = torch.Generator().manual_seed(0)
    k = max(1, round(math.log2(n)))
    core = MemoryCore(n, n, RuleParams(rule=rule), auto=True, device=device)  # type: ignore[arg-type]
    core.store_indices(constant_activity_indices(n, n, k, g))
    params = RetrievalParams(winners=k, iterations=1, self_connections=True)
    w, _ = core.weights(None, False)  # derive once (cached), as a stored memory would have it
    out: dict[str, Any] = {"n": n, "batch": batch, "k": k, "rule": rule}
    regimes = {
        "dense": (torch.rand((batch, n), generator=g) < 0.5).float(),
        "sparse": torch.zeros(batch, n).scatter_(1, constant_activity_indices(batch, n, k, g), 1.0),
    }
    for name, q in regimes.items():
        q = q.to(device)

        def plain(q: torch.Tensor = q) -> None:
            torch.mm(q, w)
            if device.type == "cuda":
                torch.cuda.synchronize()

        def memory(q: torch.Tensor = q) -> None:
            retrieve(core, q, params)
            if device.type == "cuda":
                torch.cuda.synchronize()

        plain()
        memory()  # warm-up
        t_plain, t_mem = [], []
        for _ in range(repeats):  # alternate so both see the same machine load
            t_plain.append(_time(plain, 1))
            t_mem.append(_time(memory, 1))
        mp, mm = statistics.median(t_plain), statistics.median(t_mem)
        out[name] = {
            "matmul_seconds": mp,
            "retrieve_seconds": mm,
            "matmul_queries_per_s": batch / mp,
            "retrieve_queries_per_s": batch / mm,
            "ratio_retrieve_over_matmul": mp / mm,
        }
    return out


def curve(ns: list[int], ane: bool, device: torch.device, seed: int) -> dict[str, Any]:
    """Time capacity points for every n and rule (and ANE if asked)."""
    rows = []
    t0 = time.perf_counter()
    for n in ns:
        for rule in RULES:
            for a in (False, True) if ane else (False,):
                cfg = CapacityConfig(rule=rule, n=n, ane=a)
                row = measure_capacity(cfg, seed=seed, device=device)
                print(
                    f"n={n} {rule}{' + ANE' if a else ''}: M={row['capacity_patterns']} "
                    f"C={row['capacity_bits_per_synapse']:.4f} ({row['seconds']:.1f} s)",
                    flush=True,
                )
                rows.append(
                    {
                        k: row.get(k)
                        for k in (
                            "n",
                            "rule",
                            "ane",
                            "k",
                            "capacity_patterns",
                            "eps",
                            "capacity_bits_per_synapse",
                            "seconds",
                        )
                    }
                )
    return {
        "ns": ns,
        "ane": ane,
        "seed": seed,
        "total_seconds": time.perf_counter() - t0,
        "rows": rows,
    }


def packed(n: int, patterns: int, queries: int, seed: int) -> dict[str, Any]:
    """Store/potential rates of the packed Willshaw memory, compiled kernel vs torch path."""
    g = torch.Generator().manual_seed(seed)
    k = max(1, round(math.log2(n)))
    iu = constant_activity_indices(patterns, n, k, g)
    iv = constant_activity_indices(patterns, n, k, g)
    iq = constant_activity_indices(queries, n, k, g)
    out: dict[str, Any] = {"n": n, "k": k, "patterns": patterns, "queries": queries}
    for native in (True, False):
        mem = PackedWillshaw(n, n, native=native)
        if native and not mem.native:
            out["compiled"] = None  # no C compiler here
            continue
        mem.bits.fill_(0)  # touch the pages first: page faults are not storage
        stored = patterns if native else max(1, patterns // 16)  # the torch path is slower
        t0 = time.perf_counter()
        for s in range(0, stored, 65536):
            e = min(stored, s + 65536)
            mem.store_indices(iu[s:e], iv[s:e], count=False)
        t_store = time.perf_counter() - t0
        t0 = time.perf_counter()
        for s in range(0, queries, 256):
            mem.potentials(iq[s : s + 256])
        t_pot = time.perf_counter() - t0
        path = "compiled" if native else "torch"
        out[path] = {
            "patterns_stored": stored,
            "store_seconds": t_store,
            "patterns_per_s": stored / t_store,
            "bitsets_per_s": stored * k * k / t_store,
            "load_p1": mem.load(),
            "potentials_seconds": t_pot,
            "queries_per_s": queries / t_pot,
        }
        print(
            f"packed n={n} {path}: {out[path]}",
            flush=True,
        )
        del mem
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=Path("results/memory_retrieval.json"))
    parser.add_argument("--n", type=int, default=4096, help="units for the throughput test")
    parser.add_argument("--batch", type=int, default=1024, help="queries per batch")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rule", default="bayes", choices=RULES)
    parser.add_argument("--curve-ns", default="256,512,1024,2048,4096")
    parser.add_argument("--ane", action="store_true", help="also time the ANE points")
    parser.add_argument("--skip-curve", action="store_true")
    parser.add_argument("--packed-n", type=int, default=100_000, help="0 skips the packed test")
    parser.add_argument("--packed-patterns", type=int, default=1 << 20)
    parser.add_argument("--packed-queries", type=int, default=1024)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    device = torch.device(args.device)
    result: dict[str, Any] = {
        "benchmark": "memory_retrieval",
        "device": str(device),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "loadavg_before": os.getloadavg(),
    }
    if not args.skip_throughput:
        result["throughput"] = throughput(args.n, args.batch, args.repeats, args.rule, device)
        print(json.dumps(result["throughput"], indent=2), flush=True)
    if args.packed_n:
        result["packed"] = packed(
            args.packed_n, args.packed_patterns, args.packed_queries, args.seed
        )
    if not args.skip_curve:
        ns = [int(x) for x in args.curve_ns.split(",")]
        result["capacity_curve"] = curve(ns, args.ane, device, args.seed)
        result["capacity_curve"]["target_seconds"] = 600
    result["loadavg_after"] = os.getloadavg()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {args.json}")


if __name__ == "__main__":
    main()
