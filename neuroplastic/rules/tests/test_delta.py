import pytest
import torch

from neuroplastic.errors import ShapeError
from neuroplastic.rules.delta import DeltaRuleParams, delta_rule


def test_delta_rule_hand_computed():
    x = torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]])
    y = torch.tensor([[0.5, 0.0], [1.0, 1.0]])
    t = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    dw, db = delta_rule(x, y, t, DeltaRuleParams(eta=0.1))
    # err = [[0.5, 0], [-1, 0]];  errᵀ x / 2 = [[0.5*1 + -1*0, 0.5*0 + -1*1, 0.5*2 + -1*1] / 2, 0]
    assert torch.allclose(dw, torch.tensor([[0.025, -0.05, 0.0], [0.0, 0.0, 0.0]]))
    assert torch.allclose(db, torch.tensor([-0.025, 0.0]))


def test_delta_rule_shape_error():
    with pytest.raises(ShapeError, match="delta rule"):
        delta_rule(torch.zeros(2, 3), torch.zeros(2, 2), torch.zeros(3, 2), DeltaRuleParams())


def test_normalized_covariance_delta_hand_computed():
    from neuroplastic.rules.delta import normalized_covariance_delta

    h = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    h_mean = torch.tensor([1.0, 0.0])
    y = torch.tensor([[0.0], [0.5]])
    t = torch.tensor([[1.0], [0.0]])
    # centred: [1, 0] (power 1) and [0, 1] (power 1); errors 1 and -0.5
    dw, db = normalized_covariance_delta(h, h_mean, y, t, eta=0.5)
    assert torch.allclose(dw, torch.tensor([[0.25, -0.125]]))
    assert torch.allclose(db, torch.tensor([0.125]))


def test_normalized_step_reaches_target_in_one_sample():
    from neuroplastic.rules.delta import normalized_covariance_delta

    # NLMS with eta = 1 removes the whole error of a single (centred) sample
    h = torch.tensor([[3.0, -1.0]])
    w = torch.zeros(1, 2)
    t = torch.tensor([[2.0]])
    dw, _ = normalized_covariance_delta(h, torch.zeros(2), h @ w.T, t, eta=1.0)
    assert torch.allclose(h @ (w + dw).T, t)


def test_softmax_delta_hand_computed_and_equals_cross_entropy_gradient():
    from neuroplastic.rules.delta import softmax_delta

    h = torch.tensor([[1.0, 2.0]])
    logits = torch.tensor([[0.0, 0.0]])  # p = [0.5, 0.5]
    t = torch.tensor([[1.0, 0.0]])
    gw, gb = softmax_delta(h, logits, t)  # err = [-0.5, 0.5]
    assert torch.allclose(gw, torch.tensor([[-0.5, -1.0], [0.5, 1.0]]))
    assert torch.allclose(gb, torch.tensor([-0.5, 0.5]))
    g = torch.Generator().manual_seed(0)
    h = torch.rand(5, 4, generator=g)
    w = torch.randn(3, 4, generator=g, requires_grad=True)
    b = torch.randn(3, generator=g, requires_grad=True)
    y = torch.tensor([0, 2, 1, 1, 0])
    torch.nn.functional.cross_entropy(h @ w.T + b, y).backward()
    gw, gb = softmax_delta(h, (h @ w.T + b).detach(), torch.eye(3)[y])
    assert torch.allclose(gw, w.grad, atol=1e-6) and torch.allclose(gb, b.grad, atol=1e-6)
    with pytest.raises(ShapeError, match="softmax delta"):
        softmax_delta(torch.zeros(2, 3), torch.zeros(2, 2), torch.zeros(3, 2))


def test_margin_perceptron_hand_computed():
    from neuroplastic.rules.delta import margin_perceptron_delta

    h = torch.tensor([[1.0, 2.0], [3.0, 0.0], [0.0, 1.0]])
    logits = torch.tensor([[2.0, 1.5, 0.0], [0.0, 5.0, 1.0], [float("-inf"), 0.0, 3.0]])
    labels = torch.tensor([0, 1, 2])
    dw, db = margin_perceptron_delta(h, logits, labels, margin=1.0)
    # sample 0: 2 - 1.5 < 1 -> +h to class 0, -h to class 1; sample 1: 5 - 1 >= 1, nothing;
    # sample 2: 3 - 0 >= 1, nothing (the -inf class is never the rival)
    assert torch.allclose(dw, torch.tensor([[1.0, 2.0], [-1.0, -2.0], [0.0, 0.0]]) / 3)
    assert torch.allclose(db, torch.tensor([1.0, -1.0, 0.0]) / 3)
    dw0, _ = margin_perceptron_delta(h, logits, labels, margin=0.0)
    assert torch.count_nonzero(dw0) == 0  # every sample is right: nothing is written
    with pytest.raises(ShapeError, match="margin perceptron"):
        margin_perceptron_delta(h, logits, labels[:2], margin=1.0)
