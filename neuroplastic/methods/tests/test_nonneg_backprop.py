"""Non-negative backprop: weights stay >= 0 through Synapses' sign clip, biases are free, and
the ledger is charged for the clipped write, not for the optimizer's proposal."""

import pytest
import torch
import torch.nn.functional as F

from neuroplastic.energy.ledger import Ledger
from neuroplastic.methods import BuildContext, get_method
from neuroplastic.methods.backprop import BackpropParams, NonnegBackpropParams
from neuroplastic.params import build_params, split_overrides


def build(seed=0, hidden=(12,), n_features=10, n_classes=4, **overrides):
    method = get_method("nonneg-backprop")
    ctx = BuildContext(
        n_features,
        n_classes,
        hidden,
        Ledger(),
        torch.Generator().manual_seed(seed),
        torch.device("cpu"),
    )
    return method.build(ctx, method.params_model(batch_size=8, **overrides))


def batch(seed=0, n=8, n_features=10, n_classes=4):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, n_features, generator=g), torch.randint(0, n_classes, (n,), generator=g)


def weights_and_biases(learner):
    weights = [layer.weight for layer in learner.model.layers]
    biases = [layer.bias for layer in learner.model.layers]
    return weights, biases


def test_weights_constrained_biases_free_from_the_start():
    learner = build(hidden=(12, 7))
    weights, biases = weights_and_biases(learner)
    assert [s.name for s in weights] == ["fc1.weight", "fc2.weight", "fc3.weight"]
    for s in weights:
        assert s.sign is not None and bool((s.sign == 1).all())
        assert bool((s.w >= 0).all()) and bool((s.w > 0).any())
    for s in biases:
        assert s.sign is None
    assert any(bool((s.w < 0).any()) for s in biases)  # U(±1/√n) biases keep their sign


@pytest.mark.parametrize("optimizer, lr", [("adam", 0.05), ("sgd", 2.0)])
def test_weights_stay_nonnegative_and_ledger_equals_differences(optimizer, lr):
    learner = build(optimizer=optimizer, lr=lr)
    weights, biases = weights_and_biases(learner)
    before = {s.name: s.w.detach().clone() for s in learner.synapses()}
    on_bound = []
    for i in range(20):
        learner.train_step(*batch(i))
        for s in weights:
            assert bool((s.w >= 0).all())
        on_bound.append(sum(int((s.w == 0).sum()) for s in weights))
    assert max(on_bound) > 0, "this learning rate should drive some weights onto the bound"
    assert any(bool((s.w < 0).any()) for s in biases)
    diff = {name: learner.ledger.groups[name].w.detach() - w0 for name, w0 in before.items()}
    m0_min, m1_min = learner.ledger.minimal()
    assert m0_min == sum(int(torch.count_nonzero(d)) for d in diff.values())
    assert m1_min == pytest.approx(sum(float(d.abs().sum()) for d in diff.values()), rel=1e-5)


def test_the_clip_is_what_is_counted_by_hand():
    """One SGD step computed independently: w_new = max(w − lr·g, 0); M1 = Σ|w_new − w|."""
    lr = 2.0
    learner = build(optimizer="sgd", lr=lr)
    x, y = batch(0)
    w1, b1 = (
        t.detach().clone().requires_grad_()
        for t in (learner.model.layers[0].weight.w, learner.model.layers[0].bias.w)
    )
    w2, b2 = (
        t.detach().clone().requires_grad_()
        for t in (learner.model.layers[1].weight.w, learner.model.layers[1].bias.w)
    )
    logits = F.linear(torch.sigmoid(F.linear(x, w1, b1)), w2, b2)  # sigmoid: the default
    grads = torch.autograd.grad(F.cross_entropy(logits, y), [w1, b1, w2, b2])
    old = [w1.detach(), b1.detach(), w2.detach(), b2.detach()]
    proposed = [w - lr * g for w, g in zip(old, grads)]
    expected = [
        proposed[0].clamp(min=0),
        proposed[1],  # biases are free
        proposed[2].clamp(min=0),
        proposed[3],
    ]
    clipped = int((proposed[0] < 0).sum() + (proposed[2] < 0).sum())
    assert clipped > 0, "the example must exercise the clip"

    learner.train_step(x, y)

    names = ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    for name, w_old, w_exp, w_prop in zip(names, old, expected, proposed):
        syn = learner.ledger.groups[name]
        torch.testing.assert_close(syn.w.detach(), w_exp)
        counted = learner.ledger.counts(group=name)
        written = (w_exp - w_old).abs()
        assert counted.m1 == pytest.approx(float(written.sum()), rel=1e-5)
        assert counted.m0 == int(torch.count_nonzero(w_exp - w_old))
        hit = w_prop < 0
        if name.endswith("weight") and hit.any():
            # a clipped synapse is charged |w_old| (it went to 0), less than the proposal |lr·g|
            assert counted.m1 < float((w_prop - w_old).abs().sum())
            torch.testing.assert_close(written[hit], w_old[hit])
            torch.testing.assert_close(syn.w.detach()[hit], torch.zeros(int(hit.sum())))


def test_clip_counts_at_synapse_level():
    """The smallest hand example: w = [0.3, 0.05, 0] (sign +1), proposal −0.1 each."""
    from neuroplastic.synapses import Synapses

    ledger = Ledger()
    syn = Synapses("w", torch.tensor([0.3, 0.05, 0.0]), sign=1, ledger=ledger)
    stats = syn.apply(torch.full((3,), -0.1))
    torch.testing.assert_close(syn.w.detach(), torch.tensor([0.2, 0.0, 0.0]))
    assert stats.m0 == 2  # the weight already at 0 is not written at all
    assert stats.m1 == pytest.approx(0.1 + 0.05)  # not 3 × 0.1


def test_params_share_backprop_fields_with_own_defaults():
    assert set(BackpropParams.model_fields) == set(NonnegBackpropParams.model_fields)
    p = NonnegBackpropParams()
    assert p.activation == "sigmoid" and p.lr == pytest.approx(3e-3)
    assert build_params(NonnegBackpropParams, {"lr": "0.01"}, "nonneg-backprop").lr == 0.01
    routed = split_overrides(
        {"lr": "0.1", "optimizer": "sgd"},
        {"backprop": BackpropParams, "nonneg-backprop": NonnegBackpropParams},
    )
    assert routed["nonneg-backprop"] == routed["backprop"] == {"lr": "0.1", "optimizer": "sgd"}

    from neuroplastic.methods import available_methods, default_comparison

    assert "nonneg-backprop" in available_methods()
    assert "nonneg-backprop" not in default_comparison()  # run it with --methods


def test_learns_a_separable_task():
    g = torch.Generator().manual_seed(0)
    centers = torch.rand(3, 20, generator=g)
    y = torch.randint(0, 3, (300,), generator=g)
    x = (centers[y] + 0.1 * torch.rand(300, 20, generator=g)).clamp(0, 1)
    learner = build(n_features=20, n_classes=3, hidden=(16,), lr=0.03)
    for _epoch in range(15):
        for start in range(0, 300, 30):
            learner.train_step(x[start : start + 30], y[start : start + 30])
    accuracy = float((learner.predict(x).argmax(1) == y).float().mean())
    assert accuracy > 0.9
    assert all(bool((s.w >= 0).all()) for s in weights_and_biases(learner)[0])
