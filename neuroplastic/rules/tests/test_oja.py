import pytest
import torch

from neuroplastic.errors import ShapeError
from neuroplastic.rules.oja import OjaParams, oja_delta

X = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
W = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
Y = X @ W.T  # [[1, 0.5], [0, 1]]


def test_oja_single_hand_computed():
    # unit 0: y = (1, 0): Σ y x = [1, 0], Σ y² = 1 → [1,0] − 1·[1,0] = 0
    # unit 1: y = (0.5, 1): Σ y x = [0.5, 2], Σ y² = 1.25 → [0.5, 2] − 1.25·[0.5, 0.5]
    dw = oja_delta(X, Y, W, OjaParams(eta=0.2, variant="single"))
    expected = 0.2 * torch.tensor([[0.0, 0.0], [0.5 - 0.625, 2 - 0.625]]) / 2
    assert torch.allclose(dw, expected)


def test_oja_subspace_and_sanger_hand_computed():
    # yᵀy = [[1, 0.5], [0.5, 1.25]];  yᵀx = [[1, 0], [0.5, 2]]
    gram_w = torch.tensor([[1 * 1 + 0.5 * 0.5, 0.5 * 0.5], [0.5 + 1.25 * 0.5, 1.25 * 0.5]])
    dw = oja_delta(X, Y, W, OjaParams(eta=1.0, variant="subspace"))
    assert torch.allclose(dw, (torch.tensor([[1.0, 0.0], [0.5, 2.0]]) - gram_w) / 2)
    # Sanger: lower triangle [[1, 0], [0.5, 1.25]]
    tril_w = torch.tensor([[1.0, 0.0], [0.5 + 0.625, 0.625]])
    dw = oja_delta(X, Y, W, OjaParams(eta=1.0, variant="sanger"))
    assert torch.allclose(dw, (torch.tensor([[1.0, 0.0], [0.5, 2.0]]) - tril_w) / 2)


def test_sanger_finds_principal_components():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4000, 3, generator=g) * torch.tensor([3.0, 1.0, 0.3])
    w = torch.randn(2, 3, generator=g) * 0.1
    p = OjaParams(eta=0.01, variant="sanger")
    for _ in range(20):
        for b in range(0, 4000, 50):
            xb = x[b : b + 50]
            w = w + oja_delta(xb, xb @ w.T, w, p)
    assert abs(w[0, 0].abs() - 1) < 0.05 and abs(w[1, 1].abs() - 1) < 0.1


def test_oja_shape_error():
    with pytest.raises(ShapeError, match="oja"):
        oja_delta(X, Y[:, :1], W, OjaParams())
