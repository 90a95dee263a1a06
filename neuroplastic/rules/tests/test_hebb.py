import pytest
import torch

from neuroplastic.errors import ParameterError, ShapeError
from neuroplastic.params import build_params
from neuroplastic.rules.hebb import HebbParams, hebb_delta


def test_hebb_hand_computed():
    x = torch.tensor([[1.0, 2.0], [0.0, 1.0]])
    y = torch.tensor([[1.0], [2.0]])
    w = torch.tensor([[0.5, -1.0]])
    # yᵀx / B = [[1, 2 + 2]] / 2 = [[0.5, 2.0]];  − λw = −0.1·[0.5, −1] → [0.45, 2.1];  × η 0.1
    dw = hebb_delta(x, y, w, HebbParams(eta=0.1, decay=0.1))
    assert torch.allclose(dw, torch.tensor([[0.045, 0.21]]))


def test_hebb_errors():
    with pytest.raises(ShapeError, match="hebb"):
        hebb_delta(torch.zeros(2, 3), torch.zeros(2, 1), torch.zeros(1, 2), HebbParams())
    with pytest.raises(ParameterError, match=r"'eta'.*greater than 0.*-0.1"):
        build_params(HebbParams, {"eta": "-0.1"}, owner="hebb")
