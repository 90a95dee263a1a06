"""One capacity measurement: store random patterns, search M_ε, report bits per synapse.

The load M moves up and down during the search by adding and removing patterns from the
counters (:meth:`~neuroplastic.memory.counters.Counters.add_indices` with sign ±1), so the
whole search costs about three passes of storage plus one retrieval batch per evaluated M.
Patterns are drawn lazily, in fixed chunks from one seeded generator, so pattern μ is the same
whatever path the search takes. Each evaluation at load M draws its ``queries`` test patterns
uniformly from the M stored ones with a generator seeded by (seed, M), so ε(M) is reproducible.

**Storage.** ``storage="dense"`` keeps float counters (:class:`MemoryCore`, any rule);
``storage="packed"`` (Willshaw only) keeps 1 bit per synapse
(:class:`~neuroplastic.memory.packed.PackedWillshaw`), which makes n = 10^5 fit (1.25 GB). The
packed memory cannot remove patterns, so its load only grows: the search (gallop up, then
bisect) keeps one snapshot of the bits at the last load that met the target (every later load
is at least that one) and restores it when the bisection steps down; a load below the snapshot
(only when the starting load already fails) rebuilds from empty. Both storages see the same
patterns and queries, so they return the same M_ε for the same seed (tested).
``storage="int"`` keeps integer counters (:class:`~neuroplastic.memory.intcounters.IntCounters`:
M11 only, symmetric triangle for auto-association, the smallest unsigned type that holds the
run's counts; weights evaluated from the counts during retrieval,
:mod:`~neuroplastic.memory.int_retrieval`), which makes every rule fit at n = 10^5 (5 GB in
uint8). ``storage="auto"`` picks packed for the Willshaw rule without ANE when m·n > 4096²,
integer counters for the other cases above 4096², else dense. The memory a point needs is
estimated before anything is allocated (:meth:`CapacityConfig.memory_estimate`); above
``memory_limit_gb`` the configuration is refused with the estimate.

**Patterns** are drawn in chunks of 2048 from one seeded generator whose state at every chunk
start is kept, so any chunk can be redrawn instead of held (at n = 10^5 the ~2·10^7 stored
patterns are never in memory at once). Binomial activity draws each pattern's number of active
units from Binomial(n, k/n) and then a uniform subset of that size (the same distribution as
independent units with probability k/n).

Queries: constant-activity patterns with no add noise (p01 = 0) keep exactly
round((1 − p10)·k) of their k units (every query carries the same information); otherwise each
bit is flipped independently (p01, p10). The Bayesian rule assumes the true query noise.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
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
from neuroplastic.memory.counters import Counters
from neuroplastic.memory.int_retrieval import TABLE_BYTES, IntMemory, retrieve_int
from neuroplastic.memory.intcounters import (
    IntCounters,
    choose_counter_dtype,
    entries,
    estimate_bytes,
)
from neuroplastic.memory.packed import PackedWillshaw, retrieve_packed
from neuroplastic.memory.patterns import (
    add_query_noise,
    constant_activity_indices,
    exact_miss_query,
    indices_to_dense,
)
from neuroplastic.memory.retrieval import RetrievalParams, retrieve
from neuroplastic.memory.rules import RuleName, RuleParams

__all__ = ["CapacityConfig", "measure_capacity"]

_CHUNK = 2048
_HIST_WIDTH = 64
_STEP = 32 * _CHUNK  # patterns per storage call


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
    ane_noise: Literal["both", "p10"] = Field(
        "both", description="Bayesian ANE estimates p01 and p10, or p10 only (p01 = assumed)"
    )
    eps: float = Field(0.01, gt=0, lt=1, description="output noise target ε")
    queries: int = Field(200, ge=1, le=100_000, description="test queries per evaluated load")
    rel_tol: float = Field(0.02, gt=0, lt=1, description="bisection stops at this relative width")
    max_patterns: int | None = Field(None, ge=1, description="upper bound on M; None = 8mn/(kl)")
    start: float = Field(
        0.5,
        gt=0,
        le=100,
        description="first load of the search, as a fraction of the one-step Willshaw estimate",
    )
    growth: float = Field(2.0, gt=1, le=100, description="gallop factor of the search (load × g)")
    storage: Literal["auto", "dense", "packed", "int"] = Field(
        "auto",
        description="float counters (any rule), 1 bit/synapse (Willshaw), integer counters "
        "(any rule), or auto (m·n > 4096²: packed for Willshaw without ANE, else int)",
    )
    counter_dtype: Literal["auto", "uint8", "uint16", "uint32"] = Field(
        "auto", description="integer counter type (storage=int); auto = smallest safe for the run"
    )
    memory_limit_gb: float = Field(
        16.0, gt=0, le=1024, description="refuse a point whose estimated memory exceeds this (GB)"
    )
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
        if self.storage == "packed" and self.rule != "willshaw":
            raise ValueError(f"storage='packed' holds Willshaw weights only (rule={self.rule})")
        if self.storage == "packed" and self.ane:
            raise ValueError("storage='packed' does not support ane=true")
        k, ell = self.sizes()[2:]
        if not (1 <= k < m and 1 <= ell < self.n):
            raise ValueError(f"activities must satisfy 1 <= k < m, 1 <= l < n (got k={k}, l={ell})")
        need = self.memory_estimate()
        if need > self.memory_limit_gb * 1e9:
            raise ValueError(
                f"n={self.n} with storage={self.kind()} needs about {need / 1e9:.1f} GB "
                f"(estimated before allocation) > memory_limit_gb={self.memory_limit_gb}"
            )
        return self

    def kind(self) -> str:
        """The storage this point uses: 'dense', 'packed' or 'int'."""
        if self.storage != "auto":
            return self.storage
        m = self.n if self.m is None else self.m
        if m * self.n <= 4096 * 4096:
            return "dense"
        return "packed" if self.rule == "willshaw" and not self.ane else "int"

    def search_limit(self) -> int:
        """Largest load the search may store: ``max_patterns`` or 8·m·n/(k·l)."""
        m, n, k, ell = self.sizes()
        return self.max_patterns or max(1, int(8 * m * n / (k * ell)))

    def dtype(self) -> str:
        """The integer counter type (storage=int): given, or the smallest safe for the run."""
        if self.counter_dtype != "auto":
            return self.counter_dtype
        m, n, k, ell = self.sizes()
        if self.auto:
            q = k * (k - 1) / (n * (n - 1)) if self.activity == "constant" else (k / n) ** 2
        else:
            q = k * ell / (m * n)
        return choose_counter_dtype(entries(m, n, self.auto), self.search_limit(), q)

    def memory_estimate(self) -> int:
        """Bytes this point needs (estimate before allocation): the store plus scratch.

        dense: float32 M11 plus the cached/derived weight matrices (≈ 20 (m, n) float32
        arrays for the derived rules at their peak, 8 for Willshaw); packed: two bit matrices;
        int: the counters, a potentials chunk (256 MB) with a few copies, per-column
        statistics, the weight lookup tables (``TABLE_BYTES``).
        """
        m, n = self.sizes()[:2]
        kind = self.kind()
        if kind == "packed":
            return 2 * ((m + 7) // 8) * n + 64 * self.queries * n
        if kind == "dense":
            return 4 * m * n * (8 if self.rule == "willshaw" else 20)
        scratch = 6 * min(self.queries * n * 8, 1 << 28) + 8 * (_HIST_WIDTH + 16) * n
        scratch += TABLE_BYTES  # lookup tables of the per-count weight terms
        return estimate_bytes(m, n, self.auto, self.dtype()) + scratch

    def sizes(self) -> tuple[int, int, int, int]:
        """(m, n, k, l) with defaults filled in."""
        m = self.n if self.m is None else self.m
        k = self.k if self.k is not None else max(1, round(math.log2(self.n)))
        ell = k if self.auto else (self.l if self.l is not None else k)
        return m, self.n, k, ell

    def packed(self) -> bool:
        """Whether this point uses the bit-packed Willshaw store."""
        return self.kind() == "packed"


class _PatternBank:
    """Patterns as padded active indices (rows of width ≥ k) with validity masks, drawn lazily.

    Chunk c (patterns [c·2048, (c+1)·2048)) is drawn from one seeded generator in order; its
    generator state is kept, so with ``keep=False`` only a few recent chunks are held and any
    other is redrawn on demand (identical values).
    """

    def __init__(self, size: int, k: int, activity: str, seed: int, keep: bool = True) -> None:
        self.size, self.k, self.activity, self.keep = size, k, activity, keep
        self.gen = torch.Generator().manual_seed(seed)
        self.states: list[Tensor] = []
        self.cache: OrderedDict[int, tuple[Tensor, Tensor]] = OrderedDict()

    def _draw(self, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        if self.activity == "constant":
            idx = constant_activity_indices(_CHUNK, self.size, self.k, gen)
            return idx, torch.ones_like(idx, dtype=torch.bool)
        return binomial_indices(_CHUNK, self.size, self.k / self.size, gen)

    def chunk(self, c: int) -> tuple[Tensor, Tensor]:
        hit = self.cache.get(c)
        if hit is not None:
            self.cache.move_to_end(c)
            return hit
        while len(self.states) <= c:
            self.states.append(self.gen.get_state())
            pair = self._draw(self.gen)
            self._remember(len(self.states) - 1, pair)
        if c in self.cache:
            return self.cache[c]
        gen = torch.Generator()
        gen.set_state(self.states[c])
        pair = self._draw(gen)
        self._remember(c, pair)
        return pair

    def _remember(self, c: int, pair: tuple[Tensor, Tensor]) -> None:
        self.cache[c] = pair
        while not self.keep and len(self.cache) > 64:
            self.cache.popitem(last=False)

    def range(self, lo: int, hi: int) -> tuple[Tensor, Tensor]:
        """Patterns lo..hi−1: (idx, valid), padded to a common width."""
        parts = []
        for c in range(lo // _CHUNK, (hi - 1) // _CHUNK + 1):
            idx, valid = self.chunk(c)
            a, b = max(lo - c * _CHUNK, 0), min(hi - c * _CHUNK, _CHUNK)
            parts.append((idx[a:b], valid[a:b]))
        return _cat(parts)

    def rows(self, rows: Tensor) -> tuple[Tensor, Tensor]:
        """Patterns at the given positions: (idx, valid), padded to a common width."""
        chunks = rows // _CHUNK
        parts = [self.chunk(int(c)) for c in chunks]
        width = max(p[0].shape[1] for p in parts)
        idx = torch.zeros((len(rows), width), dtype=torch.int64)
        valid = torch.zeros((len(rows), width), dtype=torch.bool)
        for i, (r, (pi, pv)) in enumerate(zip(rows.tolist(), parts, strict=True)):
            w = pi.shape[1]
            idx[i, :w] = pi[r % _CHUNK]
            valid[i, :w] = pv[r % _CHUNK]
        return idx, valid

    def dense(self, rows: Tensor) -> Tensor:
        idx, valid = self.rows(rows)
        return indices_to_dense(torch.where(valid, idx, torch.full_like(idx, -1)), self.size)


def binomial_indices(count: int, n: int, p: float, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """``count`` patterns with each of n units active independently with probability p.

    Drawn as a = Binomial(n, p) active units per pattern and a uniform a-subset (the same
    distribution). Returns sorted indices padded to the largest a (at least 1) and their mask.
    """
    counts = torch.binomial(
        torch.full((count,), float(n)), torch.full((count,), float(p)), generator=gen
    ).to(torch.int64)
    width = max(1, int(counts.max()) if count else 1)
    valid = torch.arange(width)[None, :] < counts[:, None]
    if width * width <= n:  # sparse: draw with replacement, redraw rows with a repeated unit
        idx = torch.randint(0, n, (count, width), generator=gen)
        while True:
            keyed = torch.where(valid, idx, torch.full_like(idx, n)).sort(dim=1).values
            dup = ((keyed[:, 1:] == keyed[:, :-1]) & (keyed[:, 1:] < n)).any(1)
            bad = dup.nonzero().flatten()
            if bad.numel() == 0:
                break
            idx[bad] = torch.randint(0, n, (len(bad), width), generator=gen)
    else:
        keys = torch.rand((count, n), generator=gen)
        idx = torch.topk(keys, width, dim=1, largest=False).indices
        keyed = torch.where(valid, idx, torch.full_like(idx, n)).sort(dim=1).values
    return torch.where(valid, keyed, torch.zeros_like(keyed)), valid


def _cat(parts: list[tuple[Tensor, Tensor]]) -> tuple[Tensor, Tensor]:
    width = max(p[0].shape[1] for p in parts)
    return (
        torch.cat([_pad(p[0], width) for p in parts]),
        torch.cat([_pad(p[1], width) for p in parts]),
    )


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
    kind = cfg.kind()
    packed = kind == "packed"
    keep = kind == "dense"
    inputs = _PatternBank(m, k, cfg.activity, seed, keep)
    outputs = inputs if cfg.auto else _PatternBank(n, ell, cfg.activity, seed + 7919, keep)
    params = RetrievalParams(
        mode=cfg.mode,
        winners=ell,
        iterations=cfg.iterations,
        self_connections=cfg.self_connections,
        clamp=cfg.clamp,
        ane=cfg.ane,
        ane_levels=cfg.ane_levels,
        ane_noise=cfg.ane_noise,
    )
    limit = cfg.search_limit()
    z = max(1, round((1 - cfg.p10) * k))
    analytic = willshaw_capacity(cfg.eps, k, ell, m, n, z) if cfg.p01 == 0 else None
    start = max(1, min(limit, int(cfg.start * analytic) if analytic else 64))
    details: dict[int, dict[str, float]] = {}
    timing = {"store": 0.0, "retrieve": 0.0}
    if packed:
        store = _PackedStore(PackedWillshaw(m, n, device=device), inputs, outputs)
        set_load: Callable[[int], None] = store.set_load

        def complete(query: Tensor) -> tuple[Tensor, int]:
            res = retrieve_packed(store.mem, query.to(device), params, auto=cfg.auto)
            return res.output, res.steps
    elif kind == "int":
        counters = IntCounters(
            m, n, auto=cfg.auto, dtype=cfg.dtype(), memory_limit=cfg.memory_limit_gb * 1e9
        )
        imem = IntMemory(counters, rule)
        set_load = _CounterStore(counters, inputs, outputs).set_load

        def complete(query: Tensor) -> tuple[Tensor, int]:
            res = retrieve_int(imem, query, params)
            return res.output.to(torch.float32), res.steps
    else:
        core = MemoryCore(m, n, rule, auto=cfg.auto, device=device, cache_size=6)
        set_load = _CounterStore(core.counters, inputs, outputs).set_load

        def complete(query: Tensor) -> tuple[Tensor, int]:
            res = retrieve(core, query.to(device), params)
            return res.output, res.steps

    def evaluate(load: int) -> float:
        t_s = time.perf_counter()
        set_load(load)
        t_r = time.perf_counter()
        timing["store"] += t_r - t_s
        gen = torch.Generator().manual_seed(seed * 1_000_003 + load)
        rows = torch.randint(0, load, (cfg.queries,), generator=gen)
        in_idx, _ = inputs.rows(rows)
        target_in = inputs.dense(rows)
        target = target_in if cfg.auto else outputs.dense(rows)
        if cfg.activity == "constant" and cfg.p01 == 0:
            query = indices_to_dense(exact_miss_query(in_idx, cfg.p10, gen), m)
        else:
            query = add_query_noise(target_in, cfg.p01, cfg.p10, gen)
        output, steps = complete(query)
        out = output.cpu()
        eps = output_noise(out, target)
        q01, q10 = error_rates(out, target)
        qq01, qq10 = error_rates(query, target_in)
        details[load] = {
            "eps": eps,
            "q01": q01,
            "q10": q10,
            "query_q01": qq01,
            "query_q10": qq10,
            "steps": steps,
        }
        if packed and eps <= cfg.eps:
            store.keep_snapshot()
        timing["retrieve"] += time.perf_counter() - t_r
        return eps

    search = find_capacity(evaluate, cfg.eps, start, limit, cfg.rel_tol, cfg.growth)
    cap = search.capacity
    row: dict[str, Any] = {
        "rule": cfg.rule,
        "ane": cfg.ane,
        "ane_noise": cfg.ane_noise if cfg.ane else None,
        "clamp": cfg.clamp,
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
            if packed:
                total = store.mem.popcount()
                diag = int(store.mem.diagonal().sum()) if cfg.auto else 0
            elif kind == "int":
                nnz = int(np.count_nonzero(counters.store))
                diag = int(np.count_nonzero(counters.mu)) if cfg.auto else 0
                total = 2 * nnz + diag if cfg.auto else nnz
            else:
                m11 = core.counters.m11
                total = int((m11 > 0).sum())
                diag = int((torch.diagonal(m11) > 0).sum()) if cfg.auto else 0
            if cfg.auto and not cfg.self_connections:
                potentiated, sites = total - diag, n * (n - 1)
            else:
                potentiated, sites = total, m * n
            p1 = potentiated / sites
            row["load_p1"] = p1
            row["load_p1_theory"] = willshaw_load(cap, k, ell, m, n)
            row["capacity_bits_per_nonsilent_synapse"] = c * (m * n) / max(potentiated, 1)
    else:
        row["capacity_bits_per_synapse"] = 0.0
    row["storage"] = kind
    if kind == "int":
        row["counter_dtype"] = counters.dtype
        row["counter_bytes"] = counters.nbytes
        row["max_count"] = counters.max_count()
        row["bayes_bias_method"] = dict(imem.bias_method)
    row["memory_estimate_bytes"] = cfg.memory_estimate()
    row["peak_rss_bytes"] = _peak_rss_bytes()
    row["store_seconds"] = timing["store"]
    row["retrieve_seconds"] = timing["retrieve"]
    row["seconds"] = time.perf_counter() - t0
    return row


def _peak_rss_bytes() -> int | None:
    """Peak resident memory of this process so far (``ru_maxrss``; None where unavailable)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return None
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


class _CounterStore:
    """Synaptic counters (dense or integer) at a movable load: moving from load L to L' adds
    the patterns [L, L') or, going down, subtracts [L', L) (counting is exactly reversible)."""

    def __init__(
        self, counters: Counters | IntCounters, inputs: _PatternBank, outputs: _PatternBank
    ) -> None:
        self.counters, self.inputs, self.outputs = counters, inputs, outputs
        self.load = 0

    def set_load(self, load: int) -> None:
        lo, hi, sign = (self.load, load, 1) if load > self.load else (load, self.load, -1)
        for s in range(lo, hi, _STEP):
            e = min(hi, s + _STEP)
            iu, vu = self.inputs.range(s, e)
            iv, vv = (iu, vu) if self.outputs is self.inputs else self.outputs.range(s, e)
            self.counters.add_indices(iu, iv, sign, valid_u=vu, valid_v=vv)
        self.load = load


class _PackedStore:
    """A grow-only packed Willshaw memory at a movable load (see the module docstring)."""

    def __init__(self, mem: PackedWillshaw, inputs: _PatternBank, outputs: _PatternBank) -> None:
        self.mem, self.inputs, self.outputs = mem, inputs, outputs
        self.load = 0
        self.snap: tuple[Tensor, int, int | None] | None = None
        self.snap_load = 0

    def set_load(self, load: int) -> None:
        if load < self.load:
            if self.snap is not None and self.snap_load <= load:
                self.mem.restore(self.snap)
                self.load = self.snap_load
            else:
                self.mem.clear()
                self.load = 0
        for s in range(self.load, load, _STEP):
            e = min(load, s + _STEP)
            iu, vu = self.inputs.range(s, e)
            iv, vv = (iu, vu) if self.outputs is self.inputs else self.outputs.range(s, e)
            self.mem.store_indices(iu, iv, vu, vv, count=False)
        self.load = load

    def keep_snapshot(self) -> None:
        """Remember the current bits (the last load that met the target)."""
        if self.snap is not None and self.snap_load == self.load:
            return
        self.snap = None  # free the old copy first (peak: two matrices)
        self.snap = self.mem.snapshot()
        self.snap_load = self.load
