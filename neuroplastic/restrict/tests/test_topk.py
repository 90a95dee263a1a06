"""Top-k from the factors of an outer product equals the dense top-k."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplastic.errors import ParameterError
from neuroplastic.restrict.topk import (
    count_k,
    dense_topk_mask,
    outer_topk,
    rowwise_topk_mask,
    select_outer_topk,
)


def _mask(rows, cols, m, n):
    mask = torch.zeros(m, n, dtype=torch.bool)
    mask[rows, cols] = True
    return mask


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 60),
    st.integers(1, 90),
    st.floats(0.001, 1.0),
    st.integers(0, 2**31 - 1),
    st.booleans(),
)
def test_outer_topk_equals_dense_topk(m, n, p, seed, zeros):
    g = torch.Generator().manual_seed(seed)
    a, b = torch.randn(m, generator=g), torch.randn(n, generator=g)
    if zeros:
        a[torch.rand(m, generator=g) < 0.3] = 0.0
        b[torch.rand(n, generator=g) < 0.3] = 0.0
    k = count_k(p, m * n)
    rows, cols = outer_topk(a, b, k)
    product = (a[:, None] * b[None, :]).abs()
    nnz = int((product > 0).sum())
    assert rows.numel() == min(k, nnz)
    got = _mask(rows, cols, m, n)
    dense = dense_topk_mask(product, min(k, nnz)) & (product > 0)
    assert torch.equal(got, dense)


@pytest.mark.parametrize("k", [784, 7840, 78400])
def test_outer_topk_large_layer(k):
    """A 1000 × 784 layer: the bracketed search path (sampled guess, grid, enumeration)."""
    g = torch.Generator().manual_seed(k)
    a, b = torch.randn(1000, generator=g), torch.randn(784, generator=g)
    rows, cols = outer_topk(a, b, k)
    product = (a[:, None] * b[None, :]).abs()
    assert rows.numel() == k
    assert torch.equal(_mask(rows, cols, 1000, 784), dense_topk_mask(product, k))


def test_rowwise_and_count_k():
    score = torch.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    assert rowwise_topk_mask(score, 2).tolist() == [[True, False, True], [False, True, True]]
    assert count_k(0.1, 785) == 78 and count_k(0.0001, 10) == 1 and count_k(1.0, 7) == 7
    with pytest.raises(ParameterError, match="fraction p"):
        count_k(0.0, 10)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 300), st.integers(1, 200), st.floats(0.001, 1.0), st.integers(0, 2**31 - 1))
def test_outer_topk_with_many_ties_keeps_exactly_k_of_the_largest(m, n, p, seed):
    """Small integer factors make many equal products: exactly k are kept, none smaller than
    one left out, and the result does not depend on the sampler's draws."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randint(-3, 4, (m,), generator=g).float()
    b = torch.randint(-3, 4, (n,), generator=g).float()
    product = (a[:, None] * b[None, :]).abs()
    nnz = int((product > 0).sum())
    k = count_k(p, m * n)
    sel = select_outer_topk(a, b, k)
    mask = sel.mask()
    assert int(mask.sum()) == sel.k == min(k, nnz)
    assert not (mask & (product == 0)).any()
    if 0 < sel.k < m * n:
        assert product[mask].min() >= product[~mask].max()
        assert sel.threshold == float(product[mask].min())
    again = select_outer_topk(a, b, k)  # other draws of the private sampler
    assert torch.equal(again.mask(), mask)
    rows, cols = sel.indices()
    assert torch.equal(_mask(rows, cols, m, n), mask)


@pytest.mark.parametrize("k", [1, 5000, 78400, 700000])
def test_outer_topk_stats_equal_the_dense_sums(k):
    """M0, M1, M2 from the factors' suffix sums equal the sums over the kept entries."""
    g = torch.Generator().manual_seed(k)
    a, b = torch.randn(1000, generator=g), torch.randn(784, generator=g)
    sel = select_outer_topk(a, b, k)
    kept = (-0.01 * a.double()[:, None] * b.double()[None, :])[sel.mask()]
    m0, m1, m2 = sel.stats(-0.01)
    assert m0 == k == kept.numel()
    assert m1 == pytest.approx(float(kept.abs().sum()), rel=1e-12)
    assert m2 == pytest.approx(float(kept.square().sum()), rel=1e-12)


def test_outer_topk_non_finite_factor_keeps_nothing():
    a, b = torch.randn(400), torch.randn(300)
    b[7] = float("nan")
    sel = select_outer_topk(a, b, 100)
    assert not sel.finite and sel.k == 0 and not sel.mask().any()
