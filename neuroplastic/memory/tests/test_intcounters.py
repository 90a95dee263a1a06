"""Integer counters (symmetric / full) against the dense float implementation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("numba")

from neuroplastic.errors import ParameterError
from neuroplastic.memory.core import MemoryCore
from neuroplastic.memory.int_retrieval import IntMemory, retrieve_int
from neuroplastic.memory.intcounters import (
    IntCounters,
    choose_counter_dtype,
    estimate_bytes,
)
from neuroplastic.memory.patterns import (
    constant_activity_indices,
    exact_miss_query,
    indices_to_dense,
)
from neuroplastic.memory.retrieval import RetrievalParams, project, retrieve
from neuroplastic.memory.rules import RULES, RuleParams


def _pair(n: int, k: int, count: int, auto: bool, rule: str, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    iu = constant_activity_indices(count, n, k, gen)
    iv = iu if auto else constant_activity_indices(count, n, k, gen)
    params = RuleParams(rule=rule)  # type: ignore[arg-type]
    core = MemoryCore(n, n, params, auto=auto)
    core.store_indices(iu, None if auto else iv)
    ic = IntCounters(n, n, auto=auto, dtype="uint8")
    ic.add_indices(iu, None if auto else iv)
    return core, IntMemory(ic, params), iu, gen


@pytest.mark.parametrize("auto", [True, False])
def test_counts_equal_dense_counters_and_removal(auto: bool) -> None:
    core, mem, iu, _ = _pair(40, 4, 300, auto, "bayes")
    assert np.array_equal(mem.c.dense_m11(), core.counters.m11.numpy().astype(np.int64))
    assert np.array_equal(mem.c.mu, core.counters.mu.numpy().astype(np.int64))
    assert mem.c.total == core.counters.total
    if auto:  # remove a third of the patterns again
        mem.c.add_indices(iu[:100], sign=-1)
        core.counters.add_indices(iu[:100], iu[:100], -1)
        assert np.array_equal(mem.c.dense_m11(), core.counters.m11.numpy().astype(np.int64))
        assert mem.c.total == 200


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("auto", [True, False])
@pytest.mark.parametrize("exclude", [True, False])
def test_potentials_equal_dense_weights(rule: str, auto: bool, exclude: bool) -> None:
    if exclude and not auto:
        pytest.skip("self-connections are an auto-association setting")
    core, mem, iu, gen = _pair(48, 5, 400, auto, rule)
    w, b = core.weights(None, exclude_diagonal=exclude)
    state = indices_to_dense(exact_miss_query(iu[:30], 0.4, gen), 48)
    state[:5, 7] = 1.0  # some add noise
    want = project(state, w) + b
    got = mem.potentials(state, exclude=exclude)
    assert torch.allclose(got.float(), want, rtol=1e-4, atol=2e-3)


@pytest.mark.parametrize("noise", [(0.0, 0.5), (0.02, 0.3), (0.3, 0.6)])
def test_bayes_bias_at_other_noise_equals_dense(noise: tuple[float, float]) -> None:
    core, mem, _, _ = _pair(64, 6, 900, True, "bayes")
    _, b = core.weights(noise, exclude_diagonal=True)
    got = mem.bias(noise, exclude=True)
    assert np.allclose(got, b.numpy(), rtol=1e-4, atol=2e-3)


def test_moment_series_equals_column_sums_at_a_large_load() -> None:
    """The moment path (used at large loads) against the exact column sums, same counters."""
    gen = torch.Generator().manual_seed(3)
    n, k = 1000, 10
    ic = IntCounters(n, n, auto=True)
    ic.add_indices(constant_activity_indices(100_000, n, k, gen))
    mem = IntMemory(ic, RuleParams(rule="bayes"))
    for noise in [(0.0, 0.5), (0.01, 0.2), (0.003, 0.7)]:
        series = mem._bayes_sums_moments(*noise)
        assert series is not None
        exact = mem._column_sums(noise[0], noise[1], True, want_w=False)
        assert np.allclose(series[0], exact[:, 0], rtol=0, atol=1e-7)
        assert np.allclose(series[1], exact[:, 1], rtol=0, atol=1e-7)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("ane", [False, True])
def test_iterative_retrieval_equals_dense(rule: str, ane: bool) -> None:
    core, mem, iu, gen = _pair(64, 6, 260, True, rule)
    query = indices_to_dense(exact_miss_query(iu[:40], 0.5, gen), 64)
    params = RetrievalParams(winners=6, iterations=4, ane=ane)
    want = retrieve(core, query, params)
    got = retrieve_int(mem, query, params)
    agree = float((got.output.float() == want.output).all(1).float().mean())
    assert agree >= 0.95, agree  # rows may differ only at float-rounding ties of k-WTA


def test_ane_statistics_equal_dense() -> None:
    for rule in RULES:
        core, mem, _, _ = _pair(50, 5, 300, True, rule)
        w_in, w_bg = core.ane_stats(True)
        g_in, g_bg = mem.ane_stats(True)
        assert torch.allclose(g_in.float(), w_in, rtol=1e-4, atol=1e-3), rule
        assert torch.allclose(g_bg.float(), w_bg, rtol=1e-4, atol=1e-3), rule


def test_overflow_is_refused_before_it_happens() -> None:
    ic = IntCounters(10, 10, auto=True, dtype="uint8")
    same = torch.tensor([[1, 2, 3]] * 255)
    ic.add_indices(same)
    assert ic.max_count() == 255
    with pytest.raises(ParameterError, match=r"uint8.*255"):
        ic.add_indices(torch.tensor([[1, 2, 3], [1, 2, 3]]))
    assert ic.total == 255 and ic.max_count() == 255  # nothing half-applied
    assert ic.count_bound == 255  # the bound the lookup tables are sized by
    with pytest.raises(ParameterError, match="negative"):
        ic.add_indices(torch.tensor([[4, 5, 6]]), sign=-1)


def test_dtype_choice_and_memory_estimate() -> None:
    n, k = 100_000, 17
    q = k * (k - 1) / (n * (n - 1))
    assert choose_counter_dtype(n * (n - 1) // 2, int(8 * n * n / k**2), q) == "uint8"
    assert choose_counter_dtype(10, 200, 1.0) == "uint8"  # fits exactly
    assert choose_counter_dtype(10, 300, 1.0) == "uint16"
    assert estimate_bytes(n, n, True, "uint8") == n * (n - 1) // 2 + 16 * n
    with pytest.raises(ParameterError, match=r"need .* GB > memory_limit"):
        IntCounters(n, n, auto=False, dtype="uint16", memory_limit=16e9)


@pytest.mark.parametrize("rule", ["bayes", "bcpnn"])
@pytest.mark.parametrize("ane", [False, True])
def test_capacity_search_int_equals_dense(rule: str, ane: bool) -> None:
    from neuroplastic.experiments.capacity_measurement import CapacityConfig, measure_capacity

    rows = [
        measure_capacity(CapacityConfig(rule=rule, n=128, ane=ane, storage=s, queries=60), seed=1)
        for s in ("dense", "int")
    ]
    assert rows[0]["capacity_patterns"] == rows[1]["capacity_patterns"] > 0
    assert rows[1]["storage"] == "int" and rows[1]["counter_dtype"] == "uint8"


def test_capacity_config_refuses_memory_and_activity() -> None:
    from neuroplastic.experiments.capacity_measurement import CapacityConfig

    with pytest.raises(ValueError, match=r"needs about .* GB .* > memory_limit_gb=16"):
        CapacityConfig(rule="bayes", n=100_000, storage="dense")
    with pytest.raises(ValueError, match=r"needs about 5\.2 GB .* > memory_limit_gb=4"):
        CapacityConfig(rule="bayes", n=100_000, storage="int", memory_limit_gb=4, queries=10)
    with pytest.raises(ValueError, match="1 <= k < m"):
        CapacityConfig(rule="bayes", n=64, k=64)
    cfg = CapacityConfig(rule="bayes", n=100_000)
    assert cfg.kind() == "int" and cfg.dtype() == "uint8"
    assert cfg.memory_estimate() < 7e9


def _reference_potentials(mem: IntMemory, state: torch.Tensor, noise: list) -> np.ndarray:
    """Σ_{i active} W_ij entry by entry in the kernels' order (zero counts per distinct mv_j,
    then each non-zero count in ascending i), with the kernels' scalar weight functions."""
    c, k = mem.c, mem.c.kern
    m11, rp, total = c.dense_m11(), mem._rp(), float(c.total)
    values = np.unique(c.mv).astype(np.float64)
    x = np.zeros((state.shape[0], c.n))
    for b in range(state.shape[0]):
        act = [int(i) for i in state[b].nonzero().flatten()]
        p01, p10 = noise[b]
        tab = []
        for uv in values:
            acc = 0.0
            for i in act:
                acc += k.weight(mem.code, 0.0, c.mu[i], uv, total, rp, p01, p10)
            tab.append(acc)
        x[b] += np.array(tab)[np.searchsorted(values, c.mv)]
        if c.auto:
            for j in act:
                x[b, j] -= k.weight(mem.code, 0.0, c.mu[j], c.mu[j], total, rp, p01, p10)
        for i in act:
            for j in range(c.n):
                if m11[i, j] > 0 and not (c.auto and i == j):
                    x[b, j] += k.weight_delta(
                        mem.code, float(m11[i, j]), c.mu[i], c.mv[j], total, rp, p01, p10
                    )
    return x


def _reference_column_sums(mem: IntMemory, p01: float, p10: float) -> np.ndarray:
    """Columns 0-4 of ``column_sums`` (no self-connections) entry by entry in ascending i."""
    c, k = mem.c, mem.c.kern
    m11, rp, total = c.dense_m11(), mem._rp(), float(c.total)
    values, counts = np.unique(c.mu, return_counts=True)
    out = np.zeros((c.n, 5))
    for j in range(c.n):
        s = [0.0, 0.0, 0.0]
        for v, w in zip(values.astype(np.float64), counts.astype(np.float64), strict=True):
            l01, l00 = k._bayes_terms(0.0, v, float(c.mv[j]), total, rp[0], p01, p10)
            s = [s[0] + w * l01, s[1] + w * l00, s[2] + w * k.weight(
                mem.code, 0.0, v, float(c.mv[j]), total, rp, p01, p10
            )]  # fmt: skip
        if c.auto:
            l01, l00 = k._bayes_terms(0.0, c.mu[j], c.mu[j], total, rp[0], p01, p10)
            s = [s[0] - l01, s[1] - l00, s[2] - k.weight(
                mem.code, 0.0, c.mu[j], c.mu[j], total, rp, p01, p10
            )]  # fmt: skip
        s3 = s4 = 0.0
        for i in range(c.m):
            cnt = float(m11[i, j])
            if cnt == 0 or (c.auto and i == j):
                continue
            l01, l00 = k._bayes_terms(cnt, c.mu[i], c.mv[j], total, rp[0], p01, p10)
            z01, z00 = k._bayes_terms(0.0, c.mu[i], c.mv[j], total, rp[0], p01, p10)
            dw = k.weight_delta(mem.code, cnt, c.mu[i], c.mv[j], total, rp, p01, p10)
            w0 = k.weight(mem.code, 0.0, float(c.mu[i]), float(c.mv[j]), total, rp, p01, p10)
            s = [s[0] + (l01 - z01), s[1] + (l00 - z00), s[2] + dw]
            s3 += cnt * (w0 + dw)
            s4 += cnt
        out[j] = [*s, s3, s4]
    return out


def _reference_moments(mem: IntMemory, center: float) -> np.ndarray:
    """``column_moments``' power sums (p = 1..3) entry by entry in ascending i."""
    c = mem.c
    m11 = c.dense_m11()
    out = np.zeros((3, c.n))
    for j in range(c.n):
        for i in range(c.n):
            if i == j or m11[i, j] == 0:
                continue
            d = c.mu[i] - center
            a, pa, pb = d - float(m11[i, j]), d - float(m11[i, j]), d
            for p in range(3):
                out[p, j] += pa - pb
                pa *= a
                pb *= d
    return out


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("auto", [True, False])
@pytest.mark.parametrize("block", [4096, 7])
def test_kernels_equal_entry_by_entry_reference_bit_for_bit(
    rule: str, auto: bool, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table lookups (and the evaluated fallback for counts beyond the table) and the
    column-blocked sweeps give the very float64 of the per-entry evaluation in the same
    order: identical potentials, ANE statistics, Bayesian column sums and moments, so
    identical retrieval outputs and M_eps."""
    from neuroplastic.memory import int_retrieval

    monkeypatch.setattr(int_retrieval, "_COLUMN_BLOCK", block)
    _, mem, iu, gen = _pair(40, 4, 300, auto, rule)
    state = indices_to_dense(exact_miss_query(iu[:12], 0.5, gen), 40)
    state[:4, 9] = 1.0
    noise = [(0.001 * (b % 3), 0.1 + 0.2 * (b % 2)) for b in range(12)]
    if rule != "bayes":
        noise = [(0.0, 0.0)] * 12
    want = _reference_potentials(mem, state, noise)
    sums = _reference_column_sums(mem, 0.002, 0.4)
    assert mem.c.count_bound == mem.c.max_count() > 1
    for table_bytes in (1 << 26, 8 * 2 * 40 * 40 * 2, 0):  # whole table, counts 0-1, none
        fast = IntMemory(mem.c, mem.rule, table_bytes=table_bytes)
        got = fast.potentials(state, noise if rule == "bayes" else None, with_bias=False)
        assert np.array_equal(got.numpy(), want)
        rp = fast._column_sums(0.002, 0.4, True, want_w=True)
        assert np.array_equal(rp[:, 2:], sums[:, 2:])
        if rule == "bayes":
            rb = fast._column_sums(0.002, 0.4, True, want_w=False)
            assert np.array_equal(rb[:, :2], sums[:, :2])
    if auto and rule == "bayes":
        mem._bayes_sums_moments(0.0, 0.5)
        assert mem._moments is not None
        center, hist, mom, cmax = mem._moments[1]
        assert np.array_equal(mom, _reference_moments(mem, center))
        m11 = mem.c.dense_m11() * (1 - np.eye(40, dtype=np.int64))
        assert cmax == m11.max()
        assert np.array_equal(hist[:, 1:], np.stack([(m11 == v).sum(0) for v in range(1, 64)], 1))
