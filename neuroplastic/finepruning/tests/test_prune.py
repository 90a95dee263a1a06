"""Fine-pruning: label-free, gradient-free, through the door, with a stated stopping rule."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from neuroplastic.errors import DataError, ParameterError
from neuroplastic.finepruning.door import SynapticModel
from neuroplastic.finepruning.prune import FinePruneParams, fine_prune, reestimate_batchnorm
from neuroplastic.testing import check_no_bypass

NO_STOP = {"stop": "none", "min_samples": 16}


@pytest.mark.parametrize("granularity", ["weight", "neuron", "channel"])
@pytest.mark.parametrize("criterion", ["activation", "frequency"])
def test_reaches_the_target_through_the_door(
    tiny_cnn: nn.Module, images: torch.Tensor, granularity: str, criterion: str
) -> None:
    params = FinePruneParams(
        granularity=granularity,
        criterion=criterion,
        target_sparsity=0.6,
        allocation="uniform",
        **NO_STOP,
    )
    model = SynapticModel(tiny_cnn)
    before = model.masks()
    check_no_bypass(model.groups(), lambda: fine_prune(model, images, params))
    rec = fine_prune(model, images, params).record  # again: nothing left to do
    after = model.masks()
    for name, mask in after.items():
        assert not (mask & ~before[name]).any(), f"{name}: a removed synapse came back"
    for g in model.groups():
        assert bool((g.w[~g.mask] == 0).all()), g.name
    conv2, fc1, fc2 = (layer.weight for layer in model.layers[1:])
    if granularity == "channel":  # only convolution channels are removed (and unused outputs)
        assert fc1.n_existing == fc1.n_total
        assert bool((fc2.mask == fc2.mask.any(1, keepdim=True)).all())
        assert 1 - conv2.n_existing / conv2.n_total >= 0.6
    elif granularity == "neuron":  # whole input units; the conv's single input channel stays
        for layer in model.layers[1:]:
            assert 1 - layer.weight.n_existing / layer.weight.n_total >= 0.6
    else:
        assert model.sparsity() >= 0.6 - 0.01
    counts = model.ledger.counts(phase="personalise")
    removed = sum(int((before[n] & ~after[n]).sum()) for n in after)
    assert counts.pruned == removed  # every mask write counted, in the personalise phase
    for layer in model.layers:  # masks are written, weight values never; biases compensate
        assert model.ledger.counts(group=layer.weight.name).m0 == 0
        assert model.ledger.counts(group=layer.bias.name).m0 <= 6 * layer.n_out
    assert model.ledger.counts(phase="train").pruned == 0
    assert rec.stopping_rule.startswith("none")


def test_no_gradient_is_ever_computed(
    tiny_cnn: nn.Module, images: torch.Tensor, monkeypatch: pytest.MonkeyPatch
) -> None:
    for p in tiny_cnn.parameters():
        p.requires_grad_(True)
    calls: list[str] = []
    monkeypatch.setattr(torch.autograd, "backward", lambda *a, **k: calls.append("backward"))
    monkeypatch.setattr(torch.autograd, "grad", lambda *a, **k: calls.append("grad"))
    params = FinePruneParams(target_sparsity=0.5, bn_reestimate=True, min_samples=16)
    with torch.autograd.set_grad_enabled(False):
        res = fine_prune(tiny_cnn, images, params)
    with torch.inference_mode():  # and with autograd switched off entirely
        res2 = fine_prune(tiny_cnn, images, params)
    res3 = fine_prune(tiny_cnn, images, params)  # grad mode on: still no graph
    assert calls == []
    for model in (res.model, res2.model, res3.model):
        for p in model.parameters():
            assert p.grad is None and not p.requires_grad
        out = model(images[:4])
        assert out.grad_fn is None
    assert all(p.grad is None for p in tiny_cnn.parameters())
    assert res3.record.gradients is False and res3.record.backward_samples == 0


def test_the_base_model_is_never_modified(tiny_cnn: nn.Module, images: torch.Tensor) -> None:
    state = copy.deepcopy(tiny_cnn.state_dict())
    fine_prune(
        tiny_cnn, images, FinePruneParams(target_sparsity=0.8, bn_reestimate=True, **NO_STOP)
    )
    for key, value in tiny_cnn.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_unused_inputs_are_lost_first(tiny_mlp: nn.Module, features: torch.Tensor) -> None:
    x = features.clone()
    x[:, :4] = 0.0  # this user never activates inputs 0..3
    params = FinePruneParams(
        target_sparsity=0.4, prune_outputs=False, rounds=1, allocation="uniform", **NO_STOP
    )
    model = fine_prune(tiny_mlp, x, params).model
    mask = model.layers[0].weight.mask
    assert not mask[:, :4].any()  # the 64 silent weights of 192 went first ...
    assert int((~mask[:, 4:]).sum()) == round(0.4 * 192) - 64  # ... then 13 of the used ones


def test_neuron_granularity_removes_whole_units(
    tiny_mlp: nn.Module, features: torch.Tensor
) -> None:
    params = FinePruneParams(
        granularity="neuron",
        target_sparsity=0.5,
        prune_outputs=False,
        allocation="uniform",
        **NO_STOP,
    )
    model = fine_prune(tiny_mlp, features, params).model
    for layer in model.layers:
        cols = layer.weight.mask.any(0)
        assert bool((layer.weight.mask == cols[None, :]).all())  # a column is all in or all out
        assert 0 < int(cols.sum()) < layer.n_in


def test_channel_granularity_needs_a_convolution(
    tiny_mlp: nn.Module, features: torch.Tensor
) -> None:
    with pytest.raises(ParameterError, match="channel"):
        fine_prune(tiny_mlp, features, FinePruneParams(granularity="channel", **NO_STOP))


def test_unused_output_units_are_removed_and_cannot_fire(tiny_mlp: nn.Module) -> None:
    features = torch.randn(400, 12, generator=torch.Generator().manual_seed(2)) * 3
    with torch.no_grad():
        pred = tiny_mlp(features).argmax(1)
    user = features[pred != 0]  # the model never answers class 0 on this user's data
    res = fine_prune(tiny_mlp, user, FinePruneParams(target_sparsity=0.0, **NO_STOP))
    assert res.record.removed_outputs == [0]
    assert not res.model.layers[-1].weight.mask[0].any()
    logits = res.model(features)
    assert bool(torch.isinf(logits[:, 0]).all()) and int((logits.argmax(1) == 0).sum()) == 0
    exported = res.model.export()
    assert int((exported(features).argmax(1) == 0).sum()) == 0


def test_agreement_rule_stops_and_says_why(tiny_mlp: nn.Module) -> None:
    x = torch.randn(400, 12, generator=torch.Generator().manual_seed(2)) * 3
    strict = FinePruneParams(
        target_sparsity=0.95, min_agreement=1.0, min_samples=16, retries=1, rounds=2
    )
    rec = fine_prune(tiny_mlp, x, strict).record
    assert "agree" in rec.stopping_rule and "1.000" in rec.stopping_rule
    assert rec.sparsity < 0.95
    assert rec.stop_reason.startswith("stopping rule")
    rejected = [r for r in rec.rounds if not r.accepted]
    assert len(rejected) == 2 and all(r.agreement is not None and r.agreement < 1 for r in rejected)
    assert rec.n_holdout == 100 and rec.n_adapt == 300
    # a held-out forward pass for the reference, a statistics pass and a trial per round
    assert rec.forward_samples == 100 + len(rec.rounds) * (300 + 100)


def test_entropy_rule(tiny_cnn: nn.Module, images: torch.Tensor) -> None:
    params = FinePruneParams(
        stop="entropy", max_entropy_increase=0.0, target_sparsity=0.9, min_samples=16
    )
    rec = fine_prune(tiny_cnn, images, params).record
    assert "entropy" in rec.stopping_rule
    assert all(r.entropy is not None for r in rec.rounds)


def test_batchnorm_reestimation_is_an_option(tiny_cnn: nn.Module, images: torch.Tensor) -> None:
    plain = fine_prune(tiny_cnn, images, FinePruneParams(target_sparsity=0.3, **NO_STOP))
    bn = fine_prune(
        tiny_cnn, images, FinePruneParams(target_sparsity=0.3, bn_reestimate=True, **NO_STOP)
    )
    assert plain.record.bn_entries_changed == 0
    assert bn.record.bn_entries_changed == 8  # 4 means and 4 variances
    assert bn.record.forward_samples == plain.record.forward_samples + 200
    assert torch.equal(plain.model.net.bn.running_mean, tiny_cnn.bn.running_mean)
    assert not torch.equal(bn.model.net.bn.running_mean, tiny_cnn.bn.running_mean)
    net = copy.deepcopy(tiny_cnn)
    changed, n = reestimate_batchnorm(net, images)
    with torch.no_grad():
        h = tiny_cnn.conv(images)
    assert torch.allclose(net.bn.running_mean, h.mean((0, 2, 3)), atol=1e-5)
    assert changed == 8 and n == 200 and not net.training


def test_too_little_adaptation_data_is_refused(tiny_cnn: nn.Module, images: torch.Tensor) -> None:
    with pytest.raises(DataError, match="adaptation data too small: 40 samples"):
        fine_prune(tiny_cnn, images[:40], FinePruneParams())


def test_target_sparsity_is_bounded() -> None:
    from pydantic import ValidationError

    for bad in (1.0, -0.1):
        with pytest.raises(ValidationError, match="target_sparsity"):
            FinePruneParams(target_sparsity=bad)


def test_a_model_without_layers_to_prune_is_refused(images: torch.Tensor) -> None:
    with pytest.raises(ParameterError, match=r"no nn\.Linear or nn\.Conv"):
        SynapticModel(nn.Sequential(nn.ReLU()))


def test_bias_compensation_keeps_each_units_mean_input(
    tiny_mlp: nn.Module, features: torch.Tensor
) -> None:
    params = FinePruneParams(target_sparsity=0.5, rounds=1, prune_outputs=False, **NO_STOP)
    model = fine_prune(tiny_mlp, features, params).model
    with torch.no_grad():
        before = tiny_mlp.fc1(features).mean(0)
        after = model.net.fc1(features).mean(0)
        plain = (
            fine_prune(tiny_mlp, features, params.model_copy(update={"compensate_bias": False}))
            .model.net.fc1(features)
            .mean(0)
        )
    assert torch.allclose(after, before, atol=1e-5)
    assert not torch.allclose(plain, before, atol=1e-3)
    assert model.ledger.counts(group="fc1.bias", phase="personalise").m0 == 16


def test_erk_allocation_keeps_small_layers_denser(tiny_cnn: nn.Module) -> None:
    from neuroplastic.finepruning.prune import layer_targets

    layers = SynapticModel(tiny_cnn).layers
    sizes = [layer.weight.n_total for layer in layers]
    for overall in (0.3, 0.7, 0.9):
        targets = layer_targets(layers, overall, "erk")
        removed = sum(t * n for t, n in zip(targets, sizes, strict=True))
        assert removed == pytest.approx(overall * sum(sizes))
        assert all(0.0 <= t < 1.0 for t in targets)
        assert targets[0] <= targets[2]  # conv 1→4 (36 weights) denser than fc1 (192)
    assert layer_targets(layers, 0.5, "uniform") == [0.5] * 4
