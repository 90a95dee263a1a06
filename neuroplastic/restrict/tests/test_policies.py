"""Restriction policies: what is written, the batch-1 fast path, composition with every rule."""

import pytest
import torch

from neuroplastic import Ledger, Synapses
from neuroplastic.errors import ParameterError
from neuroplastic.methods import BuildContext, available_methods, get_method
from neuroplastic.restrict import RestrictParams, attach_restriction, count_k, describe
from neuroplastic.roles import Roles, dense_layer_roles


def net(n_in=12, n_hid=8, n_out=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    ledger = Ledger()
    groups = [
        Synapses("fc1.weight", torch.randn(n_hid, n_in, generator=g), ledger=ledger),
        Synapses("fc1.bias", torch.randn(n_hid, generator=g), ledger=ledger),
        Synapses("fc2.weight", torch.randn(n_out, n_hid, generator=g), ledger=ledger),
        Synapses("fc2.bias", torch.randn(n_out, generator=g), ledger=ledger),
    ]
    return groups, ledger, g


def mlp_roles(groups):
    """Declared roles of ``net()``'s groups (or of any [weight, bias, weight, bias] pair)."""
    w1, b1, w2, b2 = (g.name for g in groups)
    declared = [
        *dense_layer_roles(w1, b1, "input", "input", "hidden1"),
        *dense_layer_roles(w2, b2, "output", "hidden1", "output"),
    ]
    return Roles(groups, declared, "test net")


def one_layer(groups):
    """Roles of one input layer: a weight group and optionally its bias."""
    bias = groups[1].name if len(groups) > 1 else None
    return Roles(groups, dense_layer_roles(groups[0].name, bias, "input", "input", "hidden1"), "t")


def written(syn, dw):
    before = syn.w.detach().clone()
    stats = syn.apply(dw)
    delta = syn.w.detach() - before
    assert stats.m0 == int(torch.count_nonzero(delta))
    return delta


def test_top_writes_the_largest_fraction_per_group():
    groups, _, g = net()
    attach_restriction(mlp_roles(groups), RestrictParams(policy="top", p=0.25, bias="own"))
    for syn in groups:
        dw = torch.randn(syn.w.shape, generator=g)
        delta = written(syn, dw)
        k = count_k(0.25, dw.numel())
        assert int(torch.count_nonzero(delta)) == k
        kept = dw.abs()[delta != 0]
        assert kept.min() >= dw.abs()[delta == 0].max()


def test_balanced_uses_ratio_on_later_layers():
    groups, _, _g = net(n_in=12, n_out=3)
    attach_restriction(mlp_roles(groups), RestrictParams(policy="balanced", p=0.1))
    assert [f.fraction for f in (s.restriction for s in groups)] == pytest.approx(
        [0.1, 0.1, 0.4, 0.4]
    )
    groups, _, _ = net(n_in=12, n_out=3)
    attach_restriction(mlp_roles(groups), RestrictParams(policy="balanced", p=0.5))
    assert groups[2].restriction.fraction == 1.0


def test_per_neuron_keeps_p_per_row():
    groups, _, g = net()
    attach_restriction(mlp_roles(groups), RestrictParams(policy="per-neuron", p=0.25))
    delta = written(groups[0], torch.randn(8, 12, generator=g))
    assert (torch.count_nonzero(delta, dim=1) == 3).all()


def test_path_only_touches_k_hidden_units():
    groups, ledger, g = net()
    attach_restriction(mlp_roles(groups), RestrictParams(policy="path", k=3, seed=1))
    units = groups[0].restriction.rows
    assert int(units.sum()) == 3
    d1 = written(groups[0], torch.randn(8, 12, generator=g))
    d1b = written(groups[1], torch.randn(8, generator=g))
    d2 = written(groups[2], torch.randn(3, 8, generator=g))
    d2b = written(groups[3], torch.randn(3, generator=g))
    assert (d1[~units] == 0).all() and (d1[units] != 0).all()
    assert (d1b[~units] == 0).all()
    assert (d2[:, ~units] == 0).all() and (d2[:, units] != 0).all()
    assert (d2b != 0).all()  # the output biases are not hidden-unit synapses
    assert ledger.counts().m0 == 3 * 12 + 3 + 3 * 3 + 3


def test_path_top_selects_within_the_path():
    groups, _, g = net()
    attach_restriction(mlp_roles(groups), RestrictParams(policy="path-top", k=4, p=0.5, seed=2))
    units = groups[0].restriction.rows
    d1 = written(groups[0], torch.randn(8, 12, generator=g))
    assert (d1[~units] == 0).all()
    assert int(torch.count_nonzero(d1)) == count_k(0.5, 4 * 12)


def test_controls_random_weight_frozen():
    groups, _, g = net()
    attach_restriction(mlp_roles(groups), RestrictParams(policy="random", p=0.25, seed=3))
    fixed = groups[0].restriction.fixed.clone()
    for _ in range(3):
        delta = written(groups[0], torch.randn(8, 12, generator=g))
        assert torch.equal(delta != 0, fixed)
    assert int(fixed.sum()) == count_k(0.25, 96)

    groups, _, g = net()
    attach_restriction(mlp_roles(groups), RestrictParams(policy="weight", p=0.25))
    w0 = groups[0].w.detach().abs().clone()
    delta = written(groups[0], torch.randn(8, 12, generator=g))
    assert w0[delta != 0].min() >= w0[delta == 0].max()

    groups, _ledger, g = net()
    attach_restriction(mlp_roles(groups), RestrictParams(policy="frozen-hidden"))
    assert (written(groups[0], torch.randn(8, 12, generator=g)) == 0).all()
    assert (written(groups[1], torch.randn(8, generator=g)) == 0).all()
    assert (written(groups[2], torch.randn(3, 8, generator=g)) != 0).all()


@pytest.mark.parametrize(
    "params",
    [
        RestrictParams(),
        RestrictParams(policy="top", p=0.1),
        RestrictParams(policy="top", p=0.003),
        RestrictParams(policy="per-neuron", p=0.1),
        RestrictParams(policy="path", k=30),
        RestrictParams(policy="path-top", k=100, p=0.1),
        RestrictParams(policy="random", p=0.1),
        RestrictParams(policy="weight", p=0.1),
        RestrictParams(policy="frozen-hidden"),
    ],
    ids=describe,
)
def test_apply_outer_equals_dense_apply(params):
    """The batch-1 fast path writes and counts what the dense path writes (large layer)."""
    g = torch.Generator().manual_seed(5)
    w0 = torch.randn(400, 300, generator=g, dtype=torch.float64)
    fast = Synapses("fc1.weight", w0, ledger=Ledger())
    slow = Synapses("fc1.weight", w0, ledger=Ledger())
    attach_restriction(one_layer([fast]), params)
    attach_restriction(one_layer([slow]), params)
    for _ in range(3):
        a = torch.randn(400, generator=g, dtype=torch.float64)
        b = torch.randn(300, generator=g, dtype=torch.float64)
        fast.apply_outer(a, b, alpha=-0.01)
        slow.apply(torch.outer(a, b), alpha=-0.01)
        assert torch.allclose(fast.w, slow.w, rtol=0, atol=1e-12)
    cf, cs = fast.ledger.counts(), slow.ledger.counts()
    assert cf.m0 == cs.m0
    assert cf.m1 == pytest.approx(cs.m1, rel=1e-9)
    assert cf.m2 == pytest.approx(cs.m2, rel=1e-9)


def test_apply_outer_shape_error():
    syn = Synapses("w", torch.zeros(3, 4))
    with pytest.raises(Exception, match="apply_outer"):
        syn.apply_outer(torch.zeros(4), torch.zeros(3))


def test_path_k_too_large_is_a_parameter_error():
    groups, _, _ = net()
    with pytest.raises(ParameterError, match="path k=9"):
        attach_restriction(mlp_roles(groups), RestrictParams(policy="path", k=9))


@pytest.mark.parametrize("name", available_methods())
def test_every_method_composes_with_top_p(name):
    """Each registered rule runs unchanged under a restriction; each write respects it."""
    method = get_method(name)
    ctx = BuildContext(
        10, 4, (12,), Ledger(), torch.Generator().manual_seed(0), torch.device("cpu")
    )
    learner = method.build(ctx, method.params_model(batch_size=8))
    groups = learner.synapses()
    attach_restriction(learner.roles(), RestrictParams(policy="top", p=0.2))
    g = torch.Generator().manual_seed(1)
    for _ in range(4):
        learner.train_step(torch.rand(8, 10, generator=g), torch.randint(0, 4, (8,), generator=g))
    for syn in groups:
        c = learner.ledger.counts(group=syn.name)
        filt = syn.restriction
        if filt is not None and filt.partner is not None:
            continue  # a bias selected by its weights' threshold: see the joint-bias test
        assert c.m0 <= c.applies * count_k(0.2, syn.n_total)


def test_bias_is_selected_with_its_weights_by_one_threshold():
    """The papers' bias is input n_in + 1: one top-p selection over [W | b]."""
    w = Synapses("fc.weight", torch.zeros(3, 4))
    b = Synapses("fc.bias", torch.zeros(3))
    attach_restriction(one_layer([w, b]), RestrictParams(policy="top", p=0.25))  # 3 of 12 weights
    assert b.restriction.partner is w.restriction
    dw = torch.tensor([[9.0, 1, 1, 1], [1, 8, 1, 1], [1, 1, 7, 1]])
    w.apply(dw)
    assert torch.count_nonzero(w.w.detach()) == 3  # 9, 8, 7
    b.apply(torch.tensor([7.5, 6.9, 100.0]))  # >= 7 (the weights' 3rd largest) is written
    assert b.w.detach().tolist() == [7.5, 0.0, 100.0]
    own_w = Synapses("g.weight", torch.zeros(3, 4))
    own_b = Synapses("g.bias", torch.zeros(3))
    attach_restriction(one_layer([own_w, own_b]), RestrictParams(policy="top", p=0.25, bias="own"))
    own_w.apply(dw)
    own_b.apply(torch.tensor([7.5, 6.9, 100.0]))  # its own top 25 %: one entry
    assert own_b.w.detach().tolist() == [0.0, 0.0, 100.0]
