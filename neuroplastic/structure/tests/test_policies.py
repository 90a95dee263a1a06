import pytest
import torch

from neuroplastic import Ledger, Synapses
from neuroplastic.errors import ParameterError, ShapeError
from neuroplastic.structure import (
    SilentTracker,
    grow_from_coincidence,
    prune_to_budget,
    prune_unconnected_units,
)


def make(w, **kw):
    ledger = Ledger()
    return Synapses("h", torch.tensor(w), ledger=ledger, **kw), ledger


def test_prune_to_budget_keeps_strongest_per_unit_and_counts():
    syn, ledger = make([[0.1, 0.5, 0.3, 0.0], [0.9, 0.2, 0.05, 0.4]])
    assert prune_to_budget(syn, 2) == 4
    assert syn.mask.tolist() == [[False, True, True, False], [True, False, False, True]]
    assert ledger.counts().pruned == 4
    assert ledger.counts().pruned_abs == pytest.approx(0.1 + 0.0 + 0.2 + 0.05)
    assert prune_to_budget(syn, 2) == 0  # idempotent
    with pytest.raises(ParameterError):
        prune_to_budget(syn, -1)
    with pytest.raises(ShapeError):
        prune_to_budget(Synapses("v", torch.zeros(3)), 1)


def test_silent_tracker_waits_for_patience():
    syn, _ledger = make([[0.0, 0.5, 1e-4]])
    tracker = SilentTracker(eps=1e-3, patience=2)
    assert tracker.check(syn) == 0
    syn.apply(torch.tensor([[0.0, 0.0, 0.5]]))  # the third synapse recovers
    assert tracker.check(syn) == 1  # only the first stayed silent twice
    assert syn.mask.tolist() == [[False, True, True]]


def test_grow_from_coincidence_imprints_mean_input():
    syn, ledger = make(
        [[0.5, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]],
        mask=torch.tensor([[True, False, False, False], [False] * 4]),
    )
    trace = torch.tensor([[9.0, 3.0, 1.0, 0.0], [2.0, 0.0, 4.0, 0.0]])
    activity = torch.tensor([4.0, 0.0])  # unit 1 was never active: it stays in reserve
    created = grow_from_coincidence(syn, trace, activity, budget=2)
    assert created == 1
    assert syn.mask.tolist() == [[True, True, False, False], [False] * 4]
    assert syn.w[0, 1].item() == pytest.approx(3.0 / 4.0)
    c = ledger.counts()
    assert c.created == 1 and c.m0 == 1 and c.m1 == pytest.approx(0.75)


def test_prune_unconnected_units():
    syn, _ledger = make([[0.1, 0.2], [0.3, 0.4]])
    assert prune_unconnected_units(syn, torch.tensor([0.0, 3.0])) == 2
    assert syn.mask.tolist() == [[False, False], [True, True]]
