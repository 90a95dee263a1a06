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
