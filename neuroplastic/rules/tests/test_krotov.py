import pytest
import torch

from neuroplastic.errors import ParameterError, ShapeError
from neuroplastic.params import build_params
from neuroplastic.rules.krotov import KrotovParams, krotov_delta


def test_krotov_hand_computed():
    x = torch.tensor([[3.0, 4.0]])  # normalised: [0.6, 0.8]
    w = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    p = KrotovParams(eta=0.5, p=2.0, k=2, delta=0.4)
    # currents (p = 2: I = W x): [0.6, 0.8, −0.6] → winner unit 1, 2nd-ranked unit 0
    # g = [−0.4, 1, 0];  drive = g ⊙ I = [−0.24, 0.8, 0]
    # D0 = −0.4·[0.6, 0.8] + 0.24·[1, 0] = [0.0, −0.32];  D1 = [0.6, 0.8] − 0.8·[0, 1] = [0.6, 0]
    d = torch.tensor([[0.0, -0.32], [0.6, 0.0], [0.0, 0.0]])
    assert torch.allclose(krotov_delta(x, w, p), 0.5 * d / 0.6)


def test_krotov_lebesgue_p_currents():
    x = torch.tensor([[1.0, 0.0]])
    w = torch.tensor([[-2.0, 0.0], [1.0, 0.0]])
    # p = 3: I = sign(w)|w|² · x = [−4, 1]: winner unit 1, 2nd unit 0 (k = 2)
    dw = krotov_delta(x, w, KrotovParams(eta=1.0, p=3.0, k=2, delta=0.0))
    # D1 = x − 1·w1 = 0; D0 = 0 (Δ = 0) → no change
    assert torch.equal(dw, torch.zeros_like(w))


def test_krotov_errors():
    with pytest.raises(ParameterError, match=r"'p'.*greater than or equal to 1.*'0.5'"):
        build_params(KrotovParams, {"p": "0.5"}, owner="krotov-hopfield")
    with pytest.raises(ParameterError, match="'k' = 7 exceeds the 3"):
        krotov_delta(torch.ones(1, 2), torch.ones(3, 2), KrotovParams())
    with pytest.raises(ShapeError, match="krotov"):
        krotov_delta(torch.ones(1, 3), torch.ones(3, 2), KrotovParams(k=2))


def test_krotov_precomputed_currents_and_dense_reference_agree():
    from neuroplastic.rules.krotov import krotov_currents

    g = torch.Generator().manual_seed(3)
    x, w = torch.rand(9, 6, generator=g), torch.randn(5, 6, generator=g)
    p = KrotovParams(eta=0.1, p=3.0, k=3, delta=0.4, normalise_input=False)
    currents = krotov_currents(x, w, p.p)
    ranked = currents.topk(3, dim=1).indices
    gmat = torch.zeros(9, 5)
    gmat[torch.arange(9), ranked[:, 0]] += 1.0
    gmat[torch.arange(9), ranked[:, 2]] -= 0.4
    dense = gmat.T @ x - (gmat * currents).sum(0)[:, None] * w  # the dense formula
    expected = 0.1 * dense / dense.abs().max()
    assert torch.allclose(krotov_delta(x, w, p), expected, atol=1e-6)
    assert torch.allclose(krotov_delta(x, w, p, currents=currents), expected, atol=1e-6)
    with pytest.raises(ShapeError, match="currents"):
        krotov_delta(x, w, p, currents=currents[:, :2])
