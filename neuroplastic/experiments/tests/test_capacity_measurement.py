"""One capacity measurement: M_ε search on dense and packed storage, against theory."""

from __future__ import annotations

import math

import pytest
import torch
from pydantic import ValidationError

from neuroplastic.errors import ParameterError
from neuroplastic.experiments.capacity_measurement import (
    CapacityConfig,
    binomial_indices,
    measure_capacity,
)
from neuroplastic.memory.capacity import find_capacity


@pytest.mark.parametrize(
    "kwargs",
    [
        {"auto": False, "iterations": 1, "p10": 0.0, "n": 256},  # hetero, one step, k-WTA
        {"n": 256},  # auto, paper conditions: half queries, 5 steps k-WTA, no self-connections
        {"auto": False, "iterations": 1, "p10": 0.0, "n": 128, "activity": "binomial",
         "mode": "threshold", "start": 0.3, "growth": 1.3},
    ],
)  # fmt: skip
def test_packed_capacity_search_equals_dense(kwargs: dict[str, object]) -> None:
    rows = [
        measure_capacity(CapacityConfig(rule="willshaw", storage=s, queries=100, **kwargs), seed=1)
        for s in ("dense", "packed")
    ]
    assert rows[0]["storage"] == "dense" and rows[1]["storage"] == "packed"
    for key in ("capacity_patterns", "eps", "evaluations", "load_p1", "capacity_bits_per_synapse"):
        assert rows[0][key] == rows[1][key], key


def test_storage_choice_and_parameter_errors() -> None:
    assert CapacityConfig(rule="willshaw", n=8192).packed()
    assert not CapacityConfig(rule="willshaw", n=4096).packed()
    assert not CapacityConfig(rule="bayes", n=8192).packed()
    assert not CapacityConfig(rule="willshaw", n=8192, ane=True).packed()
    with pytest.raises(ValidationError, match="Willshaw weights only"):
        CapacityConfig(rule="bayes", storage="packed")
    with pytest.raises(ValidationError, match="ane"):
        CapacityConfig(rule="willshaw", storage="packed", ane=True)
    with pytest.raises(ValidationError, match="growth"):
        CapacityConfig(growth=1.0)
    with pytest.raises(ParameterError, match="growth"):
        find_capacity(lambda m: 0.0, 0.01, 1, 10, growth=1.0)


def test_binomial_indices_statistics() -> None:
    n, p, count = 400, 12 / 400, 4000
    idx, valid = binomial_indices(count, n, p, torch.Generator().manual_seed(0))
    counts = valid.sum(1).double()
    sd = math.sqrt(n * p * (1 - p))
    assert abs(float(counts.mean()) - n * p) < 5 * sd / math.sqrt(count)
    assert float(counts.var()) == pytest.approx(sd * sd, rel=0.1)
    # distinct, sorted active units; padding after them
    keyed = torch.where(valid, idx, torch.full_like(idx, n))
    assert torch.equal(keyed, keyed.sort(1).values)
    assert not ((keyed[:, 1:] == keyed[:, :-1]) & valid[:, 1:]).any()
    # every unit equally likely
    hits = torch.bincount(idx[valid], minlength=n).double()
    assert float(hits.std() / hits.mean()) < 0.2
    _, dense_valid = binomial_indices(500, 30, 0.5, torch.Generator().manual_seed(1))
    assert float(dense_valid.sum(1).double().mean()) == pytest.approx(15, abs=0.7)


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
