"""SET (sparse evolutionary training): layer budgets, the prune/regrow step checked by hand,
and the budget held through training."""

import math

import pytest
import torch

from neuroplastic.energy.ledger import Ledger
from neuroplastic.errors import ParameterError
from neuroplastic.methods import get_method
from neuroplastic.methods.set_sparse import (
    SetSparseLearner,
    layer_budgets,
    prune_and_regrow,
    random_mask,
)
from neuroplastic.methods.tests.toy import HIDDEN, toy_data, toy_learner
from neuroplastic.params import build_params
from neuroplastic.synapses import Synapses
from neuroplastic.train import LoopSettings, Trainer


def build(seed=0, hidden=HIDDEN, **overrides) -> SetSparseLearner:
    params = {"batch_size": 8, "lr": 0.01, "budget": 60, **overrides}
    learner = toy_learner("set-sparse", seed, hidden, **params)
    assert isinstance(learner, SetSparseLearner)
    return learner


def existing(learner):
    return [g.n_existing for g in learner.weight_groups]


# ----------------------------------------------------------------- layer budgets
def test_erdos_renyi_budgets_by_hand():
    # shapes (n_out, n_in): 4x10 (40 sites) and 2x4 (8 sites)
    # budget 20: eps = 20 / (14 + 6) = 1 -> 14 and 6
    assert layer_budgets([(4, 10), (2, 4)], 20, "erdos-renyi") == [14, 6]
    # budget 45: eps = 45 / 20 = 2.25 would give the 2x4 layer 13.5 > 8 sites: it is dense,
    # and the 37 left go to the first layer
    assert layer_budgets([(4, 10), (2, 4)], 45, "erdos-renyi") == [37, 8]
    # uniform: 24 of 48 sites -> half of each layer
    assert layer_budgets([(4, 10), (2, 4)], 24, "uniform") == [20, 4]
    # more than the sites: everything dense
    assert layer_budgets([(4, 10), (2, 4)], 1000, "erdos-renyi") == [40, 8]


def test_budgets_sum_exactly_for_mnist_shapes():
    shapes = [(1000, 784), (10, 1000)]
    for budget in (10_000, 25_000, 80_000, 12_345):
        for sparsity in ("erdos-renyi", "uniform"):
            counts = layer_budgets(shapes, budget, sparsity)
            assert sum(counts) == budget
            assert all(0 <= c <= n * m for c, (n, m) in zip(counts, shapes, strict=True))
    # at 80k the readout would need density 2.9: it is dense and the input layer gets the rest
    assert layer_budgets(shapes, 80_000, "erdos-renyi") == [70_000, 10_000]


def test_bad_budget_is_refused():
    with pytest.raises(ParameterError, match="budget"):
        layer_budgets([(4, 10)], 0, "uniform")
    with pytest.raises(ParameterError, match="budget"):
        build_params(get_method("set-sparse").params_model, {"budget": "-5"}, "set-sparse")
    with pytest.raises(ParameterError, match="zeta"):
        build_params(get_method("set-sparse").params_model, {"zeta": "1.5"}, "set-sparse")


def test_random_mask_has_the_count():
    g = torch.Generator().manual_seed(3)
    mask = random_mask((7, 9), 20, g)
    assert mask.dtype == torch.bool and int(mask.sum()) == 20


# ----------------------------------------------------------------- one SET step by hand
def hand_group():
    w = torch.tensor(
        [
            [0.50, -0.05, 0.00, 0.30],
            [0.00, -0.80, 0.02, 0.00],
            [0.10, 0.00, 0.00, -0.40],
        ]
    )
    mask = w != 0
    ledger = Ledger()
    return Synapses("g", w, mask=mask, ledger=ledger), ledger


def test_prune_and_regrow_by_hand():
    syn, ledger = hand_group()
    before_mask = syn.mask.clone()
    before_w = syn.w.detach().clone()
    # 7 existing, zeta 0.43 -> round(3.01) = 3 pruned: |w| 0.02, 0.05, 0.10 are the smallest
    pruned, grown = prune_and_regrow(syn, 0.43, torch.Generator().manual_seed(0), 0.5)
    expected_pruned = torch.zeros(3, 4, dtype=torch.bool)
    expected_pruned[1, 2] = expected_pruned[0, 1] = expected_pruned[2, 0] = True
    assert torch.equal(pruned, expected_pruned)
    assert int(grown.sum()) == 3
    assert not (grown & before_mask).any()  # regrown sites were empty before the step
    assert syn.n_existing == 7  # count preserved
    assert torch.equal(syn.mask, (before_mask & ~pruned) | grown)
    # survivors untouched, pruned at zero, new values inside U(±0.5) and non-zero
    keep = before_mask & ~pruned
    assert torch.equal(syn.w.detach()[keep], before_w[keep])
    assert (syn.w.detach()[pruned & ~grown] == 0).all()
    new = syn.w.detach()[grown]
    assert (new.abs() <= 0.5).all() and (new != 0).all()
    counts = ledger.counts()
    assert counts.pruned == 3 and counts.created == 3
    assert counts.m0 == 3  # a creation is one write of its initial value
    assert math.isclose(counts.m1, float(new.abs().sum()), rel_tol=1e-6)


def test_regrow_uses_just_pruned_sites_only_when_too_few_are_empty():
    w = torch.tensor([[0.1, 0.2, 0.3, 0.0]])
    syn = Synapses("g", w, mask=w != 0, ledger=Ledger())
    # 3 existing, zeta 0.6 -> 2 pruned (0.1, 0.2); only 1 empty site, so one freed site is reused
    pruned, grown = prune_and_regrow(syn, 0.6, torch.Generator().manual_seed(1), None)
    assert pruned.tolist() == [[True, True, False, False]]
    assert bool(grown[0, 3]) and int(grown.sum()) == 2
    assert syn.n_existing == 3
    assert (syn.w.detach()[grown] == 0).all()  # regrow_init zero


def test_a_dense_group_is_left_alone():
    syn = Synapses("g", torch.ones(2, 3), ledger=Ledger())
    pruned, grown = prune_and_regrow(syn, 0.3, torch.Generator().manual_seed(0), 0.1)
    assert not pruned.any() and not grown.any() and syn.n_existing == 6


# ----------------------------------------------------------------- the learner
def test_the_budget_holds_through_training_and_rewiring():
    learner = build(epochs=4, zeta=0.3)
    counts = layer_budgets([(12, 10), (4, 12)], 60, "erdos-renyi")
    assert existing(learner) == counts and sum(counts) == 60
    masks = []
    rewire = learner.rewire

    def recording_rewire():
        out = rewire()
        masks.append([g.mask.clone() for g in learner.weight_groups])
        assert existing(learner) == counts  # the count after every rewiring
        return out

    learner.rewire = recording_rewire  # type: ignore[method-assign]
    x, y = toy_data()
    Trainer(learner, LoopSettings(epochs=4, batch_size=8, seed=0)).fit(x, y, x[:32], y[:32])
    assert len(masks) == 3  # after epochs 1, 2, 3, not after the last
    assert learner.rewirings == 3
    assert existing(learner) == counts
    nonsilent = sum(g.n_nonsilent() for g in learner.weight_groups)
    assert nonsilent == 60  # random regrowth: every existing weight is non-zero
    assert not torch.equal(masks[0][0], masks[1][0])  # connectivity did move
    summary = learner.ledger.summary()
    assert summary["pruned"] == summary["created"] > 0
    assert "rewire" in summary["per_phase"]


def test_regrown_sites_start_with_fresh_adam_moments():
    learner = build(epochs=3)
    x, y = toy_data()
    for i in range(0, 48, 8):
        learner.train_step(x[i : i + 8], y[i : i + 8])
    steps = learner.rewire()
    for syn, (_, grown) in zip(learner.weight_groups, steps, strict=True):
        state = learner.optimizer.state[syn.name]
        assert grown.any()
        assert (state["m"][grown] == 0).all() and (state["v"][grown] == 0).all()


def test_a_restored_learner_rewires_identically():
    a, b = build(seed=5), build(seed=5)
    x, y = toy_data()
    a.train_step(x[:8], y[:8])
    b.load_state_dict(a.state_dict())
    b.load_learner_state(a.learner_state())
    a.rewire()
    b.rewire()
    for ga, gb in zip(a.weight_groups, b.weight_groups, strict=True):
        assert torch.equal(ga.mask, gb.mask)
        assert torch.equal(ga.w.detach(), gb.w.detach())
