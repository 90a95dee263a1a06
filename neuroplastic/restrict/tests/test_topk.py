"""Top-k from the factors of an outer product equals the dense top-k."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplastic.errors import ParameterError
from neuroplastic.restrict.topk import count_k, dense_topk_mask, outer_topk, rowwise_topk_mask


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
