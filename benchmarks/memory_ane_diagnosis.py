"""Why ANE helps or hurts the Bayesian rule: noise assumed at each retrieval step vs the truth.

Auto-association under the paper's conditions (constant activity k = round(log2 n), half
queries, k-WTA, no self-connections), dense counters, one load M near the Bayesian capacity.
Each query is iterated for ``--steps`` steps; at every step the Bayesian weights are derived
for a per-query noise (p01, p10) given by a *policy*:

- ``fixed``: the query's own noise (p01 = 0, p10 = 0.5) at every step (no ANE);
- ``ane``: our reconstructed estimator (:mod:`neuroplastic.memory.ane`);
- ``oracle``: the true noise of the current state against the stored pattern,
  p10 = (k − c)/k, p01 = (a − c)/(n − k) (c correct of a active units);
- ``oracle_p10``: true p10, p01 kept at 0 (only the miss estimate adapts);
- ``oracle_p01xS``: true p10 and S × true p01.

Printed and written (JSON): output noise ε after each step per policy, the true state noise,
the ANE estimate's error (ĉ − c) per step, and the same with clamped ("core") retrieval.

    python benchmarks/memory_ane_diagnosis.py --n 1024 --load 3600 --queries 300 \\
        --json results/memory/ane_diagnosis_1024.json
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch

from neuroplastic.memory.ane import estimate_correct_units, quantised_noise
from neuroplastic.memory.core import MemoryCore
from neuroplastic.memory.patterns import (
    constant_activity_indices,
    exact_miss_query,
    indices_to_dense,
)
from neuroplastic.memory.retrieval import kwta, project
from neuroplastic.memory.rules import RuleParams


def _true_noise(state: torch.Tensor, target: torch.Tensor, k: int) -> tuple[torch.Tensor, ...]:
    n = state.shape[1]
    a = state.sum(1)
    c = (state * target).sum(1)
    return c, a, (k - c) / k, (a - c) / (n - k)


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(1)
    n, k = args.n, round(math.log2(args.n))
    gen = torch.Generator().manual_seed(args.seed)
    pats = constant_activity_indices(args.load, n, k, gen)
    rule = RuleParams(rule="bayes", p01=0.0, p10=0.5)
    core = MemoryCore(n, n, rule, auto=True, cache_size=args.cache)
    core.store_indices(pats)
    rows = torch.randint(0, args.load, (args.queries,), generator=gen)
    target = indices_to_dense(pats[rows], n)
    query = indices_to_dense(exact_miss_query(pats[rows], 0.5, gen), n)
    w_in, w_bg = core.ane_stats(True)
    potentiated = (core.counters.m11 > 0).to(torch.float32)
    potentiated.fill_diagonal_(0.0)
    load_p1 = float(potentiated.sum()) / (n * (n - 1))

    def false_unit_connectivity(state: torch.Tensor) -> float:
        """Mean fraction of the pattern's units a false active unit has a synapse to."""
        false = state * (1 - target)
        links = ((false @ potentiated) * target).sum()
        return float(links) / max(float(false.sum()) * k, 1.0)

    def rounded(p01: torch.Tensor, p10: torch.Tensor) -> list[tuple[float, float]]:
        # a 1e-4 grid bounds the number of distinct weight matrices (dense n^2 each)
        return [
            (round(float(a), 4), round(min(float(b), 0.999), 4))
            for a, b in zip(p01.clamp(0, 0.999), p10.clamp(0, 0.999), strict=True)
        ]

    def policy_noise(name: str, state: torch.Tensor, x0: torch.Tensor):
        c, a, p10, p01 = _true_noise(state, target, k)
        if name == "fixed":
            return [(0.0, 0.5)] * state.shape[0], None
        if name == "ane":
            c_hat = estimate_correct_units(x0, a, w_in, w_bg, k, True)
            return quantised_noise(c_hat, a, k, n, 8), c_hat - c
        if name == "oracle":
            return rounded(p01, p10), None
        if name == "oracle_p10":
            return rounded(torch.zeros_like(p01), p10), None
        if name.startswith("oracle_p01x"):
            s = float(name.split("x")[1])
            return rounded(s * p01, p10), None
        raise ValueError(name)

    out: dict = {"n": n, "k": k, "load": args.load, "queries": args.queries, "seed": args.seed}
    out["load_p1"] = load_p1
    policies = args.policies.split(",")
    print(f"n={n} k={k} M={args.load} load p1={load_p1:.3f}", flush=True)
    for clamp in (False, True):
        for name in policies:
            t0 = time.perf_counter()
            state = query.clone()
            eps, true_p01, true_p10, c_err, conn = [], [], [], [], []
            for _ in range(args.steps):
                w, _b = core.weights(None, True)
                x0 = project(state, w)
                noise, err = policy_noise(name, state, x0)
                _, _, p10, p01 = _true_noise(state, target, k)
                true_p01.append(float(p01.mean()))
                true_p10.append(float(p10.mean()))
                conn.append(false_unit_connectivity(state))
                if err is not None:
                    c_err.append([float(err.mean()), float(err.abs().mean())])
                x = torch.empty_like(x0)
                groups: dict[tuple[float, float], list[int]] = {}
                for i, key in enumerate(noise):
                    groups.setdefault(key, []).append(i)
                for key, idx in groups.items():
                    wk, bk = core.weights(key, True)
                    sel = torch.tensor(idx)
                    x[sel] = project(state[sel], wk) + bk
                if clamp:
                    x = torch.where(query > 0, torch.full_like(x, torch.inf), x)
                state = kwta(x, k)
                eps.append(float((state != target).sum()) / args.queries / k)
            key = f"{name}{' clamp' if clamp else ''}"
            out[key] = {
                "eps_per_step": eps,
                "true_p01_of_input_per_step": true_p01,
                "true_p10_of_input_per_step": true_p10,
                "ane_c_error_mean_abs_per_step": c_err,
                "false_unit_connectivity_per_step": conn,
                "seconds": time.perf_counter() - t0,
            }
            print(
                f"{key:>22}: eps per step "
                + " ".join(f"{e:.3f}" for e in eps)
                + "  | true p10 of input "
                + " ".join(f"{p:.3f}" for p in true_p10)
                + "  p01 "
                + " ".join(f"{p:.2e}" for p in true_p01)
                + "  | false-unit links "
                + " ".join(f"{p:.2f}" for p in conn)
                + (
                    "  | ANE c err (mean, |mean|) "
                    + " ".join(f"{a:+.2f}/{b:.2f}" for a, b in c_err)
                    if c_err
                    else ""
                ),
                flush=True,
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--load", type=int, default=3600)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--policies", default="fixed,ane,oracle,oracle_p10,oracle_p01x0.1,oracle_p01x0.3"
    )
    ap.add_argument("--cache", type=int, default=64, help="weight matrices kept (n^2 floats)")
    args = ap.parse_args()
    out = run(args)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
