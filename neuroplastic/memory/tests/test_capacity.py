"""Capacity measures and Willshaw theory."""

from __future__ import annotations

import math

import pytest
import torch

from neuroplastic.errors import ParameterError, ShapeError
from neuroplastic.memory.capacity import (
    binary_entropy,
    error_rates,
    find_capacity,
    output_noise,
    transinformation,
    willshaw_capacity,
    willshaw_capacity_finite,
    willshaw_load,
    willshaw_output_noise,
)
from neuroplastic.memory.capacity_run import CapacityConfig, measure_capacity
from neuroplastic.memory.core import MemoryCore
from neuroplastic.memory.patterns import constant_activity_indices as cai
from neuroplastic.memory.rules import RuleParams


def test_output_noise_and_error_rates_by_hand() -> None:
    target = torch.tensor([[1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0]])
    got = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0]])
    assert output_noise(got, target) == pytest.approx(1.0 / 2)  # 2 errors / 2 rows / l=2
    assert error_rates(got, target) == (pytest.approx(1 / 4), pytest.approx(1 / 4))
    with pytest.raises(ShapeError):
        output_noise(got[:, :3], target)


def test_transinformation_by_hand() -> None:
    assert binary_entropy(0.5) == pytest.approx(1.0)
    # noiseless: T = n H(q)
    assert transinformation(100, 0.1, 0.0, 0.0) == pytest.approx(100 * binary_entropy(0.1))
    # useless channel: output independent of input
    assert transinformation(100, 0.3, 0.4, 0.6) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ParameterError, match="q01"):
        transinformation(10, 0.1, 1.5, 0.0)


def test_willshaw_load_formula_matches_stored_memory() -> None:
    """p1 = 1 − (1 − kl/(mn))^M against the fraction of potentiated synapses."""
    g = torch.Generator().manual_seed(0)
    m, n, k, ell, count = 300, 200, 6, 5, 900
    core = MemoryCore(m, n, RuleParams(rule="willshaw"))
    core.store_indices(cai(count, m, k, g), cai(count, n, ell, g))
    w, _ = core.weights()
    p1 = float(w.mean())
    want = willshaw_load(count, k, ell, m, n)
    sd = math.sqrt(want * (1 - want) / (m * n))
    assert abs(p1 - want) < 5 * sd + 1e-3


def test_willshaw_asymptotic_formulas() -> None:
    eps, k, n = 0.01, 10, 2000
    cap = willshaw_capacity(eps, k, k, n, n, k)
    assert willshaw_output_noise(cap, k, k, n, n, k) == pytest.approx(eps, rel=1e-6)
    assert willshaw_capacity_finite(eps, k, k, n, n, k) < cap  # column-load spread costs


def test_find_capacity_on_a_known_function() -> None:
    calls: list[int] = []

    def noise(load: int) -> float:
        calls.append(load)
        return load / 1000.0

    res = find_capacity(noise, 0.01, start=1, limit=10**6, rel_tol=0.0)
    assert res.capacity == 10 and res.noise == pytest.approx(0.01)
    assert find_capacity(noise, 0.01, start=64, limit=10**6, rel_tol=0.0).capacity == 10
    assert find_capacity(lambda m: 0.0, 0.01, start=3, limit=50).capacity == 50
    assert find_capacity(lambda m: 1.0, 0.01, start=8, limit=50).capacity == 0
    with pytest.raises(ParameterError, match="start"):
        find_capacity(noise, 0.01, start=0, limit=5)


def test_willshaw_hetero_capacity_matches_finite_n_theory() -> None:
    """One-step hetero Willshaw, noise-free queries, Θ = k: measured M_ε within 12 % of the
    finite-n value (the asymptotic formula overestimates by ~15 % at this size)."""
    cfg = CapacityConfig(
        rule="willshaw",
        auto=False,
        n=256,
        k=6,
        p10=0.0,
        mode="threshold",
        iterations=1,
        queries=400,
        rel_tol=0.01,
    )
    row = measure_capacity(cfg, seed=3)
    theory = row["willshaw_finite_n_patterns_one_step"]
    assert row["capacity_patterns"] == pytest.approx(theory, rel=0.12)
    assert row["eps"] <= 0.01
    assert row["load_p1"] == pytest.approx(row["load_p1_theory"], abs=0.01)
    assert 0.1 < row["capacity_bits_per_synapse"] < math.log(2)
    assert row["capacity_bits_per_nonsilent_synapse"] == pytest.approx(
        row["capacity_bits_per_synapse"] / row["load_p1"], rel=1e-6
    )


def test_auto_capacity_row_fields() -> None:
    row = measure_capacity(CapacityConfig(rule="bayes", n=128, queries=100), seed=0)
    assert row["capacity_patterns"] > 0 and row["k"] == 7
    assert 0 < row["capacity_bits_per_synapse"] < math.log(2) / 2
    assert row["capacity_bits_per_distinct_synapse"] > row["capacity_bits_per_synapse"]
    assert row["query_bits_per_pattern"] < row["bits_per_pattern"]


def test_capacity_config_errors() -> None:
    with pytest.raises(ValueError, match="iterative"):
        CapacityConfig(auto=False, iterations=3)
    with pytest.raises(ValueError, match="m == n"):
        CapacityConfig(auto=True, n=64, m=32)
    with pytest.raises(ValueError, match="activities"):
        CapacityConfig(n=16, k=16)
