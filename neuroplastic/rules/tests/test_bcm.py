import pytest
import torch

from neuroplastic.errors import ParameterError, ShapeError
from neuroplastic.params import build_params
from neuroplastic.rules.bcm import BCMParams, bcm_delta, bcm_threshold


def test_bcm_hand_computed():
    x = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([[2.0], [0.5]])
    w = torch.zeros(1, 2)
    theta = torch.tensor([1.0])
    # y(y − θ) = [2·1, 0.5·(−0.5)] = [2, −0.25];  ᵀx / B = [2 − 0.25, −0.25] / 2
    dw = bcm_delta(x, y, w, theta, BCMParams(eta=0.1))
    assert torch.allclose(dw, 0.1 * torch.tensor([[1.75, -0.25]]) / 2)
    # θ ← 1 + (mean y² − 1)/τ = 1 + ((4 + 0.25)/2 − 1)/10
    assert torch.allclose(bcm_threshold(theta, y, BCMParams(tau_theta=10)), torch.tensor([1.1125]))


def test_bcm_errors():
    with pytest.raises(ShapeError, match="theta"):
        bcm_delta(
            torch.zeros(2, 2), torch.zeros(2, 1), torch.zeros(1, 2), torch.zeros(2), BCMParams()
        )
    with pytest.raises(ParameterError, match=r"'tau_theta'.*greater than or equal to 1.*'0'"):
        build_params(BCMParams, {"tau_theta": "0"}, owner="bcm")
