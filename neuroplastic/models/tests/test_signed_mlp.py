"""Sign constraints on MLP / DenseLayer construction: weights and biases separately."""

import pytest
import torch

from neuroplastic.energy.ledger import Ledger
from neuroplastic.models.layers import DenseLayer
from neuroplastic.models.mlp import MLP


def test_default_is_unconstrained_and_unchanged():
    a = MLP([5, 4, 3], ledger=Ledger(), generator=torch.Generator().manual_seed(0))
    b = MLP([5, 4, 3], ledger=Ledger(), generator=torch.Generator().manual_seed(0), sign=None)
    for sa, sb in zip(a.synapses(), b.synapses()):
        assert sa.sign is None and torch.equal(sa.w, sb.w)
    assert any(bool((s.w < 0).any()) for s in a.synapses())


def test_nonnegative_weights_free_biases():
    free = MLP([5, 4, 3], ledger=Ledger(), generator=torch.Generator().manual_seed(0))
    mlp = MLP(
        [5, 4, 3],
        ledger=Ledger(),
        generator=torch.Generator().manual_seed(0),
        sign=1,
        bias_sign=None,
    )
    for layer, ref in zip(mlp.layers, free.layers):
        assert bool((layer.weight.sign == 1).all())
        torch.testing.assert_close(layer.weight.w, ref.weight.w.abs())  # |w| of the same draw
        assert layer.bias.sign is None
        torch.testing.assert_close(layer.bias.w, ref.bias.w)  # biases keep their sign
    # a step that would make weights negative is clipped at 0; biases may go negative
    for s in mlp.synapses():
        s.apply(torch.full_like(s.w, -1.0))
    for layer in mlp.layers:
        assert bool((layer.weight.w == 0).all())
        assert bool((layer.bias.w < 0).all())


@pytest.mark.parametrize("sign", [1, -1])
def test_bias_sign_follows_sign_by_default(sign):
    layer = DenseLayer("fc", 6, 3, ledger=None, sign=sign, generator=torch.Generator())
    assert bool((layer.bias.sign == sign).all())
    assert bool((layer.bias.w * sign >= 0).all()) and bool((layer.weight.w * sign >= 0).all())


def test_bias_sign_alone():
    layer = DenseLayer("fc", 6, 3, ledger=None, bias_sign=-1, generator=torch.Generator())
    assert layer.weight.sign is None
    assert bool((layer.bias.w <= 0).all()) and bool((layer.bias.sign == -1).all())
