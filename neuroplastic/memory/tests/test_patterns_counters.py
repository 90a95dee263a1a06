"""Pattern generators and synaptic counters."""

from __future__ import annotations

import pytest
import torch

from neuroplastic.errors import ParameterError, ShapeError
from neuroplastic.memory.counters import Counters
from neuroplastic.memory.patterns import (
    active_indices,
    add_query_noise,
    binomial_activity,
    constant_activity,
    constant_activity_indices,
    exact_miss_query,
    indices_to_dense,
)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_constant_activity_has_exactly_k_distinct_units() -> None:
    idx = constant_activity_indices(500, 40, 7, gen())
    assert idx.shape == (500, 7)
    assert all(len(set(row)) == 7 for row in idx.tolist())
    dense = constant_activity(100, 40, 7, gen(1))
    assert torch.equal(dense.sum(1), torch.full((100,), 7.0))
    # roughly uniform over units
    counts = indices_to_dense(idx, 40).sum(0)
    assert counts.min() > 0.5 * counts.mean()


def test_binomial_activity_mean() -> None:
    x = binomial_activity(4000, 50, 5, gen())
    assert abs(float(x.sum(1).mean()) - 5.0) < 0.15
    assert float(x.sum(1).std()) > 1.0  # not constant


def test_query_noise_rates() -> None:
    u = constant_activity(2000, 100, 20, gen())
    q = add_query_noise(u, p01=0.05, p10=0.3, generator=gen(2))
    on = u > 0
    miss = float(((q == 0) & on).sum()) / float(on.sum())
    add = float(((q > 0) & ~on).sum()) / float((~on).sum())
    assert abs(miss - 0.3) < 0.01 and abs(add - 0.05) < 0.005
    idx = constant_activity_indices(50, 100, 10, gen(3))
    kept = exact_miss_query(idx, 0.5, gen(4))
    assert kept.shape == (50, 5)
    assert all(set(a) <= set(b) for a, b in zip(kept.tolist(), idx.tolist()))


def test_pattern_errors() -> None:
    with pytest.raises(ParameterError, match="activity k"):
        constant_activity_indices(3, 10, 11, gen())
    with pytest.raises(ParameterError, match="p10"):
        add_query_noise(torch.zeros(2, 3), 0.0, 1.5, gen())
    with pytest.raises(ShapeError):
        indices_to_dense(torch.zeros(3, dtype=torch.int64), 4)


def brute_counts(u: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, ...]:
    m11 = torch.einsum("bi,bj->ij", u, v)
    m10 = torch.einsum("bi,bj->ij", u, 1 - v)
    m01 = torch.einsum("bi,bj->ij", 1 - u, v)
    m00 = torch.einsum("bi,bj->ij", 1 - u, 1 - v)
    return m11, m10, m01, m00


@pytest.mark.parametrize("dense", [True, False])
def test_counters_match_brute_force(dense: bool) -> None:
    if dense:
        u = binomial_activity(30, 12, 6, gen(1))
        v = binomial_activity(30, 9, 4, gen(2))
    else:
        u = binomial_activity(30, 80, 3, gen(1))
        v = binomial_activity(30, 70, 2, gen(2))
    c = Counters(u.shape[1], v.shape[1])
    c.add(u[:10], v[:10])
    c.add(u[10:], v[10:])  # incremental, in two batches
    for got, want in zip((c.m11, c.m10, c.m01, c.m00), brute_counts(u, v)):
        assert torch.equal(got, want)
    assert c.total == 30
    c.add(u[10:], v[10:], sign=-1)  # removal is the exact inverse
    for got, want in zip((c.m11, c.m10, c.m01, c.m00), brute_counts(u[:10], v[:10])):
        assert torch.equal(got, want)


def test_counter_index_path_equals_dense_path() -> None:
    idx = constant_activity_indices(40, 30, 4, gen())
    a, b = Counters(30, 30), Counters(30, 30)
    a.add_indices(idx, idx)
    dense = indices_to_dense(idx, 30)
    b.m11.addmm_(dense.T, dense)
    assert torch.equal(a.m11, b.m11)
    i2, valid = active_indices(dense)
    assert torch.equal(valid.sum(1), torch.full((40,), 4))
    assert torch.equal(indices_to_dense(torch.where(valid, i2, -1), 30), dense)


def test_counter_errors() -> None:
    c = Counters(5, 4)
    with pytest.raises(ShapeError, match="columns"):
        c.add(torch.zeros(2, 4), torch.zeros(2, 4))
    with pytest.raises(ShapeError, match="patterns, v has"):
        c.add(torch.zeros(2, 5), torch.zeros(3, 4))
    with pytest.raises(ParameterError, match="cannot remove"):
        c.add(torch.ones(1, 5), torch.ones(1, 4), sign=-1)
    with pytest.raises(ShapeError, match="indices"):
        c.add_indices(torch.tensor([[7]]), torch.tensor([[0]]))
    with pytest.raises(ParameterError, match="sizes"):
        Counters(0, 3)
