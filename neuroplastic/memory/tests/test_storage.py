"""Counted storage: ledger writes equal weight differences; packed Willshaw; compression."""

from __future__ import annotations

import pytest
import torch

from neuroplastic.energy.ledger import Ledger
from neuroplastic.errors import ParameterError, ShapeError
from neuroplastic.memory.packed import PackedWillshaw
from neuroplastic.memory.patterns import constant_activity, indices_to_dense
from neuroplastic.memory.patterns import constant_activity_indices as cai
from neuroplastic.memory.retrieval import RetrievalParams
from neuroplastic.memory.rules import RULES, RuleParams
from neuroplastic.memory.synaptic import AssociativeMemory


@pytest.mark.parametrize("rule", RULES)
def test_ledger_counts_equal_weight_differences_per_pattern(rule: str) -> None:
    g = torch.Generator().manual_seed(0)
    u = constant_activity(6, 30, 3, g)
    v = constant_activity(6, 20, 2, g)
    ledger = Ledger()
    mem = AssociativeMemory(30, 20, RuleParams(rule=rule), ledger=ledger)  # type: ignore[arg-type]
    for i in range(6):
        before = mem.synapses.w.detach().clone()
        c0 = ledger.counts()
        mem.store(u[i], v[i])  # one pattern: one counted update
        diff = mem.synapses.w.detach() - before
        c1 = ledger.counts()
        assert c1.applies - c0.applies == 1
        assert c1.m0 - c0.m0 == int(torch.count_nonzero(diff))
        assert c1.m1 - c0.m1 == pytest.approx(float(diff.abs().sum()), rel=1e-5)
    # the weights written are the rule's weights
    want, _ = mem.core.weights(None, False)
    assert torch.allclose(mem.synapses.w.detach(), want, atol=1e-5)
    out = mem.retrieve(u, RetrievalParams(winners=2)).output
    assert torch.equal(out, v)


def test_willshaw_writes_are_new_potentiations_and_compression() -> None:
    g = torch.Generator().manual_seed(1)
    idx = cai(20, 40, 4, g)
    x = indices_to_dense(idx, 40)
    ledger = Ledger()
    mem = AssociativeMemory(40, 40, RuleParams(rule="willshaw"), auto=True, ledger=ledger)
    mem.store(x[:10])  # a batch: one apply
    ones = int((mem.synapses.w > 0).sum())
    assert ledger.counts().m0 == ones and ledger.counts().applies == 1
    pruned = mem.compress()
    assert pruned == 40 * 40 - ones and ledger.counts().pruned == pruned
    mem.store(x[10:])  # grows the synapses the new patterns need
    ones2 = int((mem.synapses.w > 0).sum())
    assert mem.synapses.n_existing == ones2
    assert ledger.counts().created == ones2 - ones
    with pytest.raises(ParameterError, match="self_connections"):
        mem.retrieve(x, RetrievalParams(self_connections=True))
    cov = AssociativeMemory(40, 40, RuleParams(rule="covariance"), auto=True)
    with pytest.raises(ParameterError, match="Willshaw"):
        cov.compress()


def test_packed_willshaw_matches_dense_and_counts() -> None:
    g = torch.Generator().manual_seed(2)
    iu = cai(50, 37, 3, g)
    iv = cai(50, 29, 2, g)
    ledger = Ledger()
    packed = PackedWillshaw(37, 29, ledger=ledger)
    dense = AssociativeMemory(37, 29, RuleParams(rule="willshaw"), ledger=Ledger())
    new = packed.store_indices(iu[:25], iv[:25]) + packed.store_indices(iu[25:], iv[25:])
    dense.store(indices_to_dense(iu, 37), indices_to_dense(iv, 29))
    assert torch.equal(packed.dense(), dense.synapses.w.detach())
    assert new == packed.potentiated == int(dense.synapses.w.sum())
    assert ledger.counts("memory.willshaw.packed").m0 == new
    assert packed.load() == pytest.approx(new / (37 * 29))
    q = iu[:5]
    assert torch.equal(packed.potentials(q), indices_to_dense(q, 37) @ packed.dense())
    assert packed.store_indices(iu[:5], iv[:5]) == 0  # nothing new: no writes
    with pytest.raises(ShapeError, match="indices"):
        packed.store_indices(torch.tensor([[40]]), torch.tensor([[0]]))
