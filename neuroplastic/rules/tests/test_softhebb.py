import math

import pytest
import torch

from neuroplastic.errors import ShapeError
from neuroplastic.rules.softhebb import SoftHebbParams, softhebb_delta


def test_softhebb_hand_computed():
    x = torch.tensor([[1.0, 0.0]])
    w = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # u = [1, 0]; y = softmax([1, 0] / 1) = [e/(e+1), 1/(e+1)]
    y0 = math.e / (math.e + 1)
    y1 = 1 - y0
    # Δw0 = y0 (x − 1·w0) = 0;  Δw1 = y1 (x − 0·w1) = y1 [1, 0]
    dw = softhebb_delta(x, w, SoftHebbParams(eta=0.5, temperature=1.0))
    assert torch.allclose(dw, 0.5 * torch.tensor([[0.0, 0.0], [y1, 0.0]]))


def test_softhebb_shape_error():
    with pytest.raises(ShapeError, match="softhebb"):
        softhebb_delta(torch.ones(1, 3), torch.ones(2, 2), SoftHebbParams())
