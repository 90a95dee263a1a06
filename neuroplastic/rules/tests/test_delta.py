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
