"""One capacity measurement: store random patterns, search M_ε, report bits per synapse.

The load M moves up and down during the search by adding and removing patterns from the
counters (:meth:`~neuroplastic.memory.counters.Counters.add_indices` with sign ±1), so the
whole search costs about three passes of storage plus one retrieval batch per evaluated M.
Patterns are drawn lazily, in fixed chunks from one seeded generator, so pattern μ is the same
whatever path the search takes. Each evaluation at load M draws its ``queries`` test patterns
uniformly from the M stored ones with a generator seeded by (seed, M), so ε(M) is reproducible.

Queries: constant-activity patterns with no add noise (p01 = 0) keep exactly
round((1 − p10)·k) of their k units (every query carries the same information); otherwise each
bit is flipped independently (p01, p10). The Bayesian rule assumes the true query noise.
"""

from __future__ import annotations

import math
import time
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import Tensor

from neuroplastic.memory.capacity import (
    error_rates,
    find_capacity,
    output_noise,
    transinformation,
    willshaw_capacity,
    willshaw_capacity_finite,
    willshaw_load,
)
from neuroplastic.memory.core import MemoryCore
from neuroplastic.memory.patterns import (
    active_indices,
    add_query_noise,
    constant_activity_indices,
    exact_miss_query,
    indices_to_dense,
)
from neuroplastic.memory.retrieval import RetrievalParams, retrieve
from neuroplastic.memory.rules import RuleName, RuleParams

__all__ = ["CapacityConfig", "measure_capacity"]

_CHUNK = 2048


class CapacityConfig(BaseModel):
    """One capacity point: memory size, pattern statistics, query noise, retrieval."""

    model_config = ConfigDict(extra="forbid")
    rule: RuleName = Field("willshaw", description="learning rule")
    n: int = Field(1024, ge=8, le=200_000, description="output units (auto: all units)")
    m: int | None = Field(None, ge=8, le=200_000, description="input units (hetero); None = n")
    auto: bool = Field(True, description="auto-association (v = u) instead of hetero")
    k: int | None = Field(None, ge=1, description="active input units; None = round(log2 n)")
    l: int | None = Field(None, ge=1, description="active output units (hetero); None = k")  # noqa: E741
    activity: Literal["constant", "binomial"] = Field(
        "constant", description="exactly k active units, or each unit with probability k/n"
    )
    p01: float = Field(0.0, ge=0, lt=1, description="query add noise P(1 | stored 0)")
    p10: float = Field(0.5, ge=0, lt=1, description="query miss noise P(0 | stored 1)")
    mode: Literal["kwta", "threshold"] = Field("kwta", description="k-WTA or threshold")
    iterations: int = Field(5, ge=1, le=100, description="retrieval steps (auto only; 1 hetero)")
    self_connections: bool = Field(False, description="keep W_ii (auto-association)")
    clamp: bool = Field(False, description="keep the query's units on")
    ane: bool = Field(False, description="adaptive noise estimation (reconstructed)")
    ane_levels: int = Field(8, ge=1, le=1000, description="ANE grid for p10 (Bayes)")
    eps: float = Field(0.01, gt=0, lt=1, description="output noise target ε")
    queries: int = Field(200, ge=1, le=100_000, description="test queries per evaluated load")
    rel_tol: float = Field(0.02, gt=0, lt=1, description="bisection stops at this relative width")
    max_patterns: int | None = Field(None, ge=1, description="upper bound on M; None = 8mn/(kl)")
    pseudo_count: float = Field(1e-3, gt=0, le=10, description="Bayesian pseudo-count (counts)")
    bcpnn_alpha: float = Field(0.01, gt=0, le=10, description="BCPNN pseudo-count α (counts)")
    bcpnn_alpha_prime: float = Field(0.02, gt=0, le=20, description="BCPNN α' (counts)")

    @model_validator(mode="after")
    def _consistent(self) -> CapacityConfig:
        m = self.n if self.m is None else self.m
        if self.auto and m != self.n:
            raise ValueError(f"auto-association needs m == n (got m={m}, n={self.n})")
        if not self.auto and self.iterations > 1:
            raise ValueError("iterative retrieval (iterations > 1) needs auto=true")
        if not self.auto and self.clamp:
            raise ValueError("clamp needs auto=true")
        k, ell = self.sizes()[2:]
        if not (1 <= k < m and 1 <= ell < self.n):
            raise ValueError(f"activities must satisfy 1 <= k < m, 1 <= l < n (got k={k}, l={ell})")
        return self

    def sizes(self) -> tuple[int, int, int, int]:
        """(m, n, k, l) with defaults filled in."""
        m = self.n if self.m is None else self.m
        k = self.k if self.k is not None else max(1, round(math.log2(self.n)))
        ell = k if self.auto else (self.l if self.l is not None else k)
        return m, self.n, k, ell


class _PatternBank:
    """Lazily drawn patterns as padded indices (M, k_max) with validity masks."""

    def __init__(self, size: int, k: int, activity: str, seed: int) -> None:
        self.size, self.k, self.activity = size, k, activity
        self.gen = torch.Generator().manual_seed(seed)
        self.idx = torch.zeros((0, k), dtype=torch.int64)
        self.valid = torch.zeros((0, k), dtype=torch.bool)

    def upto(self, count: int) -> None:
        while self.idx.shape[0] < count:
            if self.activity == "constant":
                idx = constant_activity_indices(_CHUNK, self.size, self.k, self.gen)
                valid = torch.ones_like(idx, dtype=torch.bool)
            else:
                dense = torch.rand((_CHUNK, self.size), generator=self.gen) < self.k / self.size
                idx, valid = active_indices(dense.to(torch.float32))
            width = max(self.idx.shape[1], idx.shape[1])
            self.idx = torch.cat([_pad(self.idx, width), _pad(idx, width)])
            self.valid = torch.cat([_pad(self.valid, width), _pad(valid, width)])

    def dense(self, rows: Tensor) -> Tensor:
        idx = torch.where(self.valid[rows], self.idx[rows], torch.full_like(self.idx[rows], -1))
        return indices_to_dense(idx, self.size)


def _pad(t: Tensor, width: int) -> Tensor:
    if t.shape[1] >= width:
        return t
    return torch.cat([t, torch.zeros((t.shape[0], width - t.shape[1]), dtype=t.dtype)], 1)


def measure_capacity(
    cfg: CapacityConfig, seed: int = 0, device: torch.device | str = "cpu"
) -> dict[str, Any]:
    """Search M_ε for one configuration; returns a JSON-ready dict of measured numbers."""
    t0 = time.perf_counter()
    m, n, k, ell = cfg.sizes()
    device = torch.device(device)
    rule = RuleParams(
        rule=cfg.rule,
        p01=cfg.p01,
        p10=cfg.p10,
        pseudo_count=cfg.pseudo_count,
        bcpnn_alpha=cfg.bcpnn_alpha,
        bcpnn_alpha_prime=cfg.bcpnn_alpha_prime,
    )
    core = MemoryCore(m, n, rule, auto=cfg.auto, device=device, cache_size=6)
    inputs = _PatternBank(m, k, cfg.activity, seed)
    outputs = inputs if cfg.auto else _PatternBank(n, ell, cfg.activity, seed + 7919)
    params = RetrievalParams(
        mode=cfg.mode,
        winners=ell,
        iterations=cfg.iterations,
        self_connections=cfg.self_connections,
        clamp=cfg.clamp,
        ane=cfg.ane,
        ane_levels=cfg.ane_levels,
    )
    limit = cfg.max_patterns or max(1, int(8 * m * n / (k * ell)))
    z = max(1, round((1 - cfg.p10) * k))
    analytic = willshaw_capacity(cfg.eps, k, ell, m, n, z) if cfg.p01 == 0 else None
    start = max(1, min(limit, int(0.5 * analytic) if analytic else 64))
    state = {"load": 0}
    details: dict[int, dict[str, float]] = {}

    def set_load(load: int) -> None:
        inputs.upto(load)
        outputs.upto(load)
        cur = state["load"]
        lo, hi, sign = (cur, load, 1) if load > cur else (load, cur, -1)
        for s in range(lo, hi, 65536):
            e = min(hi, s + 65536)
            core.counters.add_indices(
                inputs.idx[s:e],
                outputs.idx[s:e],
                sign,
                valid_u=inputs.valid[s:e],
                valid_v=outputs.valid[s:e],
            )
        state["load"] = load

    def evaluate(load: int) -> float:
        set_load(load)
        gen = torch.Generator().manual_seed(seed * 1_000_003 + load)
        rows = torch.randint(0, load, (cfg.queries,), generator=gen)
        target_in = inputs.dense(rows)
        target = outputs.dense(rows)
        if cfg.activity == "constant" and cfg.p01 == 0:
            query = indices_to_dense(exact_miss_query(inputs.idx[rows], cfg.p10, gen), m)
        else:
            query = add_query_noise(target_in, cfg.p01, cfg.p10, gen)
        result = retrieve(core, query.to(device), params)
        out = result.output.cpu()
        eps = output_noise(out, target)
        q01, q10 = error_rates(out, target)
        qq01, qq10 = error_rates(query, target_in)
        details[load] = {
            "eps": eps,
            "q01": q01,
            "q10": q10,
            "query_q01": qq01,
            "query_q10": qq10,
            "steps": result.steps,
        }
        return eps

    search = find_capacity(evaluate, cfg.eps, start, limit, cfg.rel_tol)
    cap = search.capacity
    row: dict[str, Any] = {
        "rule": cfg.rule,
        "ane": cfg.ane,
        "auto": cfg.auto,
        "m": m,
        "n": n,
        "k": k,
        "l": ell,
        "activity": cfg.activity,
        "p01": cfg.p01,
        "p10": cfg.p10,
        "eps_target": cfg.eps,
        "iterations": cfg.iterations,
        "mode": cfg.mode,
        "seed": seed,
        "capacity_patterns": cap,
        "willshaw_analytic_patterns_one_step": analytic,
        "willshaw_finite_n_patterns_one_step": (
            willshaw_capacity_finite(cfg.eps, k, ell, m, n, z) if analytic else None
        ),
        "evaluations": [[mm, e] for mm, e in search.evaluations],
    }
    if cap > 0:
        d = details[cap]
        q = ell / n
        t_out = transinformation(n, q, d["q01"], d["q10"])
        row.update(d)
        row["bits_per_pattern"] = t_out
        if cfg.auto:
            t_q = transinformation(n, k / m, d["query_q01"], d["query_q10"])
            row["query_bits_per_pattern"] = t_q
            c = cap * (t_out - t_q) / (n * n)
            row["capacity_bits_per_synapse"] = c
            row["capacity_bits_per_distinct_synapse"] = cap * (t_out - t_q) / (n * (n - 1) / 2)
        else:
            c = cap * t_out / (m * n)
            row["capacity_bits_per_synapse"] = c
        if cfg.rule == "willshaw":
            set_load(cap)
            m11 = core.counters.m11
            if cfg.auto and not cfg.self_connections:
                potentiated = int((m11 > 0).sum()) - int((torch.diagonal(m11) > 0).sum())
                sites = n * (n - 1)
            else:
                potentiated, sites = int((m11 > 0).sum()), m * n
            p1 = potentiated / sites
            row["load_p1"] = p1
            row["load_p1_theory"] = willshaw_load(cap, k, ell, m, n)
            row["capacity_bits_per_nonsilent_synapse"] = c * (m * n) / max(potentiated, 1)
    else:
        row["capacity_bits_per_synapse"] = 0.0
    row["seconds"] = time.perf_counter() - t0
    return row
