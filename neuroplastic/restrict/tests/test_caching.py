"""Synaptic caching: hand-computed steps, consolidation modes, flush, ledger fields."""

import math

import pytest
import torch

from neuroplastic import Ledger, Synapses
from neuroplastic.energy.ledger import Counts
from neuroplastic.restrict import CacheParams, attach_cache


def cached(w, **kw):
    ledger = Ledger()
    syn = Synapses("g", torch.tensor(w, dtype=torch.float64), ledger=ledger)
    attach_cache([syn], CacheParams(**kw))
    return syn, ledger


def test_per_synapse_step_by_hand():
    syn, ledger = cached([[0.0, 0.0]], tau=None, c=0.5, theta=0.25)
    syn.apply(torch.tensor([[0.2, 0.3]], dtype=torch.float64))
    # entry 2 exceeds theta: moved to l; entry 1 stays transient
    assert syn.cache_s.flatten().tolist() == pytest.approx([0.2, 0.0])
    assert syn.w.flatten().tolist() == pytest.approx([0.2, 0.3])
    c = ledger.counts()
    assert (c.transient_m0, c.transient_m1) == (2, pytest.approx(0.5))
    assert (c.m0, c.m1) == (1, pytest.approx(0.3))
    assert (c.consolidation_m0, c.consolidation_m1) == (1, pytest.approx(0.3))
    assert c.maintenance == pytest.approx(0.5 * 0.2)
    syn.end_of_training()
    c = ledger.counts()
    assert (c.m0, c.m1) == (2, pytest.approx(0.5))
    assert syn.cache_s.abs().sum() == 0
    s = ledger.summary()
    assert s["energy_total"] == pytest.approx(0.5 + 0.1)
    assert s["m1_min"] == pytest.approx(0.5)


def test_decay_forgets_transient_weights():
    syn, ledger = cached([0.0], tau=2.0, c=0.0, theta=10.0, samples_per_apply=1)
    syn.apply(torch.tensor([1.0], dtype=torch.float64))
    keep = math.exp(-0.5)
    assert syn.w.item() == pytest.approx(keep)
    assert syn.cache_s.item() == pytest.approx(keep)
    syn.apply(torch.tensor([0.0], dtype=torch.float64))
    assert syn.w.item() == pytest.approx(keep**2)
    assert ledger.counts().m0 == 0  # nothing persistent yet


@pytest.mark.parametrize(
    ("mode", "moved_rows"), [("synapse", None), ("neuron-any", [0]), ("neuron-sum", [0, 1])]
)
def test_consolidation_modes(mode, moved_rows):
    syn, ledger = cached([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], tau=None, c=0.0, theta=0.5, mode=mode)
    syn.apply(torch.tensor([[0.6, 0.1, 0.0], [0.3, 0.3, 0.0]], dtype=torch.float64))
    s = syn.cache_s
    if moved_rows is None:
        assert s.flatten().tolist() == pytest.approx([0.0, 0.1, 0.0, 0.3, 0.3, 0.0])
    else:
        for r in range(2):
            assert (s[r].abs().sum() == 0) == (r in moved_rows)
    assert ledger.counts().m1 == pytest.approx(
        0.6 if mode == "synapse" else (0.7 if mode == "neuron-any" else 1.3)
    )


def test_batch_scaling_and_prune_clears_transient():
    syn, ledger = cached([0.0, 0.0], tau=100.0, c=0.01, theta=5.0, samples_per_apply=10)
    syn.apply(torch.tensor([1.0, -1.0], dtype=torch.float64))
    assert ledger.counts().maintenance == pytest.approx(0.01 * 10 * 2.0)
    assert syn.cache_s[0].item() == pytest.approx(math.exp(-0.1))
    syn.prune(torch.tensor([True, False]))
    assert syn.cache_s[0].item() == 0.0


def test_old_counts_state_loads():
    """A checkpoint written before caching existed still loads (missing fields are 0)."""
    c = Counts.from_dict(
        {
            "m0": 3.0,
            "m1": 1.5,
            "m2": 0.5,
            "created": 0,
            "pruned": 0,
            "pruned_abs": 0.0,
            "applies": 2,
            "m_alpha": {},
        }
    )
    assert c.maintenance == 0.0 and c.add(c).m0 == 6.0


def test_state_dict_carries_transient_weights():
    syn, _ = cached([0.0, 0.0], tau=None, c=0.0, theta=5.0)
    syn.apply(torch.tensor([1.0, 2.0], dtype=torch.float64))
    other, _ = cached([0.0, 0.0], tau=None, c=0.0, theta=5.0)
    other.load_state_dict(syn.state_dict())
    assert other.cache_s.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("tau", [None, 50.0])
def test_sparse_topk_write_equals_dense_path(tau):
    """apply_outer with top-k + cache (index path) == apply(outer) (dense path), step by step."""
    from neuroplastic.restrict import RestrictParams, attach_restriction
    from neuroplastic.roles import Roles, SynapseRole

    gen = torch.Generator().manual_seed(0)
    w0 = torch.randn(300, 400, generator=gen, dtype=torch.float64) * 0.01
    runs = []
    for sparse in (True, False):
        ledger = Ledger()
        syn = Synapses("g", w0.clone(), ledger=ledger)
        attach_restriction(
            Roles([syn], [SynapseRole("g", "weight", "input", "input", "h")], "t"),
            RestrictParams(policy="top", p=0.05),
        )
        attach_cache([syn], CacheParams(tau=tau, c=0.01, theta=0.002))
        g = torch.Generator().manual_seed(1)
        for step in range(30):
            a = torch.randn(300, generator=g, dtype=torch.float64) * 0.05
            b = torch.randn(400, generator=g, dtype=torch.float64) * 0.05
            if step == 20:  # s changed outside the cache; later writes take the masked path
                assert syn._sparse_steps == (20 if sparse else 0)
                syn.prune(torch.rand(300, 400, generator=g) < 0.01)
            if sparse:
                syn.apply_outer(a, b, alpha=-0.5)
            else:
                syn.apply(torch.outer(a, b), alpha=-0.5)
        syn.end_of_training()
        runs.append((syn.w.detach().clone(), ledger.counts()))
    (w_s, c_s), (w_d, c_d) = runs
    assert torch.allclose(w_s, w_d, atol=1e-12)
    assert c_s.consolidation_m0 == c_d.consolidation_m0 > 0
    for field in ("m0", "m1", "m2", "transient_m0", "transient_m1", "maintenance"):
        assert getattr(c_s, field) == pytest.approx(getattr(c_d, field), rel=1e-9), field


def test_frozen_group_with_cache_still_pays_maintenance_and_decays():
    """A skipped (frozen) batch-1 write still runs the cache's maintenance and decay."""
    from neuroplastic.restrict import RestrictParams, attach_restriction
    from neuroplastic.roles import Roles, SynapseRole

    results = []
    for outer in (True, False):
        ledger = Ledger()
        syn = Synapses("g", torch.zeros(300, 400, dtype=torch.float64), ledger=ledger)
        attach_cache([syn], CacheParams(tau=10.0, c=0.5, theta=1.0))
        syn.apply(torch.full((300, 400), 0.1, dtype=torch.float64))  # s = 0.1 (decayed once)
        attach_restriction(
            Roles([syn], [SynapseRole("g", "weight", "input", "input", "h")], "t"),
            RestrictParams(policy="frozen-hidden"),
        )
        a = torch.ones(300, dtype=torch.float64)
        b = torch.ones(400, dtype=torch.float64)
        if outer:
            syn.apply_outer(a, b)
        else:
            syn.apply(torch.outer(a, b))
        results.append((syn.cache_s.clone(), ledger.counts().maintenance))
    (s_outer, m_outer), (s_dense, m_dense) = results
    assert torch.allclose(s_outer, s_dense)
    assert s_outer[0, 0].item() == pytest.approx(0.1 * math.exp(-0.2))
    assert m_outer == pytest.approx(m_dense) and m_outer > 0.5 * 0.1 * 120_000
