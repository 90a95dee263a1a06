"""Baselines: each works on a copy, writes through the door, and reports its compute."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from neuroplastic.errors import DataError
from neuroplastic.finepruning.baselines import (
    Tent,
    bn_adapt,
    finetune_last_layer,
    magnitude_prune,
    tent,
)


def _entropy(model: nn.Module, x: torch.Tensor) -> float:
    with torch.no_grad():
        logp = torch.log_softmax(model(x), 1)
    return float(-(logp.exp() * logp).sum(1).mean())


def test_tent_lowers_entropy_and_counts_backward_passes(
    tiny_cnn: nn.Module, images: torch.Tensor
) -> None:
    state = copy.deepcopy(tiny_cnn.state_dict())
    t = Tent(tiny_cnn, lr=1e-2, batch_size=50)
    first = t.adapt(images)
    assert first.forward_samples == first.backward_samples == 200
    assert first.backward_scope == "full" and first.compute == 600
    assert first.weight_writes > 0 and first.mask_writes == 0
    again = t.adapt(images, samples=120)
    assert again.forward_samples == 320  # cumulative over passes
    more = t.adapt(images, samples=2000)
    assert _entropy(more.model, images) < _entropy(bn_adapt(tiny_cnn, images).model, images)
    # only batch-norm affine parameters changed, through the door
    groups = {g.name for g in t.groups}
    assert groups == {"bn.weight", "bn.bias"}
    for key, value in tiny_cnn.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert torch.equal(t.model.net.conv.weight, tiny_cnn.conv.weight)


def test_bn_adapt_uses_one_forward_pass(tiny_cnn: nn.Module, images: torch.Tensor) -> None:
    out = bn_adapt(tiny_cnn, images)
    assert out.forward_samples == 200 and out.backward_samples == 0
    assert out.extra["bn_entries_changed"] == 8
    with pytest.raises(DataError, match="no batch-norm"):
        bn_adapt(nn.Sequential(nn.Linear(3, 2)), torch.rand(10, 3))
    with pytest.raises(DataError, match="no batch-norm"):
        tent(nn.Sequential(nn.Linear(3, 2)), torch.rand(10, 3))


def test_magnitude_pruning_uses_no_data(tiny_cnn: nn.Module, images: torch.Tensor) -> None:
    a = magnitude_prune(tiny_cnn, images, 0.5)
    b = magnitude_prune(tiny_cnn, torch.rand_like(images), 0.5)
    assert a.forward_samples == 0 and a.sparsity == pytest.approx(0.5, abs=0.02)
    for layer_a, layer_b in zip(a.model.layers, b.model.layers, strict=True):
        assert torch.equal(layer_a.weight.mask, layer_b.weight.mask)


def test_finetuning_the_last_layer_uses_labels(tiny_mlp: nn.Module) -> None:
    x = torch.randn(300, 12, generator=torch.Generator().manual_seed(0))
    y = (x[:, 0] > 0).long()  # a rule the base model does not know
    out = finetune_last_layer(tiny_mlp, x, y, epochs=20, lr=1e-2)
    with torch.no_grad():
        before = float((tiny_mlp(x).argmax(1) == y).float().mean())
        after = float((out.model(x).argmax(1) == y).float().mean())
    assert after > before + 0.1
    assert out.backward_scope == "last layer" and out.backward_samples == 20 * 300
    assert out.weight_writes > 0
    assert torch.equal(out.model.net.fc1.weight, tiny_mlp.fc1.weight)  # only the last layer
    assert all(p.grad is None for p in tiny_mlp.parameters())
