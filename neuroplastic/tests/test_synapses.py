"""Synapses + Ledger: the counts must equal the element-wise weight differences."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplastic import Ledger, Synapses
from neuroplastic.errors import NonFiniteUpdateError, ParameterError, ShapeError


def diff_counts(before: torch.Tensor, after: torch.Tensor) -> tuple[int, float, float]:
    d = (after - before).double()
    return int(torch.count_nonzero(d)), float(d.abs().sum()), float((d * d).sum())


@st.composite
def synapse_cases(draw):
    rows = draw(st.integers(1, 12))
    cols = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(rows, cols, generator=g, dtype=torch.float64)
    mask = torch.rand(rows, cols, generator=g) < draw(st.floats(0.0, 1.0))
    use_sign = draw(st.booleans())
    sign = None
    if use_sign:
        sign = torch.randint(-1, 2, (rows, cols), generator=g, dtype=torch.int8)
        w = torch.where(sign > 0, w.abs(), torch.where(sign < 0, -w.abs(), w))
    steps = draw(st.integers(1, 5))
    sparsity = draw(st.floats(0.0, 1.0))
    alpha = draw(st.sampled_from([1.0, -0.5, 0.01]))
    return w, mask, sign, steps, sparsity, alpha, g


@settings(max_examples=60, deadline=None)
@given(synapse_cases())
def test_ledger_counts_equal_weight_differences(case):
    w, mask, sign, steps, sparsity, alpha, g = case
    ledger = Ledger()
    syn = Synapses("s", w, mask=mask, sign=sign, ledger=ledger)
    expected = [0, 0.0, 0.0]
    for _ in range(steps):
        dw = torch.randn(w.shape, generator=g, dtype=w.dtype)
        dw[torch.rand(w.shape, generator=g) < sparsity] = 0.0
        before = syn.w.detach().clone()
        stats = syn.apply(dw, alpha=alpha)
        after = syn.w.detach()
        m0, m1, m2 = diff_counts(before, after)
        assert stats.m0 == m0
        assert stats.m1 == pytest.approx(m1, rel=1e-9, abs=1e-12)
        assert stats.m2 == pytest.approx(m2, rel=1e-9, abs=1e-12)
        expected[0] += m0
        expected[1] += m1
        expected[2] += m2
        # invariants: nothing outside the mask, Dale signs respected
        assert torch.all(after[~syn.mask] == 0)
        if sign is not None:
            assert torch.all(after[sign > 0] >= 0) and torch.all(after[sign < 0] <= 0)
    counts = ledger.counts()
    assert counts.m0 == expected[0]
    assert counts.m1 == pytest.approx(expected[1], rel=1e-9, abs=1e-12)
    assert counts.m2 == pytest.approx(expected[2], rel=1e-9, abs=1e-12)
    assert counts.applies == steps
    m0_min, m1_min = ledger.minimal()
    assert m0_min == int(torch.count_nonzero(syn.w.detach() - w * mask))
    assert m1_min == pytest.approx(float((syn.w.detach() - w * mask).abs().sum()))
    assert m1_min <= counts.m1 + 1e-9  # the minimal energy is a lower bound


def test_apply_hand_computed():
    ledger = Ledger(alphas=(0.5,))
    syn = Synapses("w", torch.tensor([[1.0, -2.0], [0.5, 0.0]]), ledger=ledger)
    stats = syn.apply(torch.tensor([[0.25, 0.0], [-1.0, 4.0]]), alpha=-2.0)
    # Δw = -2 * dw = [[-0.5, 0], [2, -8]]
    assert torch.equal(syn.w.detach(), torch.tensor([[0.5, -2.0], [2.5, -8.0]]))
    assert (stats.m0, stats.m1, stats.m2) == (3.0, 10.5, 0.25 + 4 + 64)
    assert ledger.counts().m_alpha["0.5"] == pytest.approx(
        math.sqrt(0.5) + math.sqrt(2) + math.sqrt(8)
    )


def test_mask_and_dale_filter_what_is_written_and_counted():
    mask = torch.tensor([[True, False], [True, True]])
    sign = torch.tensor([[1, 1], [-1, 0]], dtype=torch.int8)
    ledger = Ledger()
    syn = Synapses(
        "w", torch.tensor([[0.2, 0.0], [-0.1, 0.3]]), mask=mask, sign=sign, ledger=ledger
    )
    syn.apply(torch.tensor([[-1.0, 5.0], [1.0, -1.0]]))
    # (0,0): 0.2-1 -> clipped to 0 (Δ=-0.2); (0,1) masked; (1,0): -0.1+1 -> clipped to 0 (Δ=+0.1)
    assert torch.allclose(syn.w.detach(), torch.tensor([[0.0, 0.0], [0.0, -0.7]]))
    c = ledger.counts()
    assert c.m0 == 3 and c.m1 == pytest.approx(0.2 + 0.1 + 1.0)


def test_prune_and_grow_are_counted():
    ledger = Ledger()
    syn = Synapses("w", torch.tensor([1.0, -2.0, 3.0, 0.0]), ledger=ledger)
    assert syn.prune(torch.tensor([True, True, False, False])) == 2
    assert syn.n_existing == 2 and torch.equal(syn.w.detach(), torch.tensor([0.0, 0.0, 3.0, 0.0]))
    # pruning an already-removed synapse counts nothing
    assert syn.prune(torch.tensor([True, False, False, False])) == 0
    # growing an existing site does nothing; new sites get the init value
    created = syn.grow(
        torch.tensor([True, False, True, False]), init=torch.tensor([0.5, 9.0, 9.0, 9.0])
    )
    assert created == 1 and syn.w.detach()[0] == 0.5 and syn.w.detach()[2] == 3.0
    c = ledger.counts()
    assert (c.pruned, c.pruned_abs, c.created) == (2, 3.0, 1)
    assert c.m0 == 1 and c.m1 == 0.5  # a creation is a write of its initial value
    # the regrown synapse is plastic again
    syn.apply(torch.ones(4))
    assert syn.w.detach()[0] == 1.5 and syn.w.detach()[1] == 0.0


def test_phases_are_counted_apart():
    ledger = Ledger()
    syn = Synapses("w", torch.zeros(3), ledger=ledger)
    syn.apply(torch.ones(3))
    with ledger.phase("personalise"):
        syn.apply(torch.tensor([1.0, 0.0, 0.0]))
    assert ledger.counts(phase="train").m0 == 3
    assert ledger.counts(phase="personalise").m0 == 1
    assert ledger.phases() == ["train", "personalise"]
    assert ledger.current_phase == "train"


def test_nonfinite_update_is_rejected_and_nothing_written():
    ledger = Ledger()
    syn = Synapses(
        "w", torch.ones(2, 2), mask=torch.tensor([[True, False], [True, True]]), ledger=ledger
    )
    before = syn.w.detach().clone()
    for bad in (float("nan"), float("inf")):
        dw = torch.zeros(2, 2)
        dw[0, 1] = bad  # even on a masked-out synapse
        with pytest.raises(NonFiniteUpdateError, match="w: the proposed update"):
            syn.apply(dw)
    assert torch.equal(syn.w.detach(), before)
    assert ledger.counts().applies == 0


def test_bad_shapes_and_parameters_give_clear_errors():
    syn = Synapses("fc1.weight", torch.zeros(2, 3))
    with pytest.raises(ShapeError, match=r"fc1.weight: dw has shape \(3, 2\)"):
        syn.apply(torch.zeros(3, 2))
    with pytest.raises(ShapeError, match="mask"):
        Synapses("x", torch.zeros(2), mask=torch.ones(3, dtype=torch.bool))
    with pytest.raises(ParameterError, match="violate their Dale sign"):
        Synapses("x", torch.tensor([-1.0]), sign=1)
    with pytest.raises(ParameterError, match="sign must be"):
        Synapses("x", torch.tensor([1.0]), sign=2)
    with pytest.raises(ParameterError, match="already in this ledger"):
        ledger = Ledger()
        Synapses("x", torch.zeros(1), ledger=ledger)
        Synapses("x", torch.zeros(1), ledger=ledger)


def test_state_dict_round_trip_keeps_mask_semantics():
    syn = Synapses("w", torch.ones(2, 2), mask=torch.tensor([[True, False], [True, True]]))
    state = syn.state_dict()
    other = Synapses("w", torch.ones(2, 2))
    other.load_state_dict(state)
    other.apply(torch.ones(2, 2))
    assert torch.equal(other.w.detach(), torch.tensor([[2.0, 0.0], [2.0, 2.0]]))


def test_ledger_state_dict_round_trip():
    ledger = Ledger()
    syn = Synapses("w", torch.zeros(3), ledger=ledger)
    syn.apply(torch.tensor([1.0, 0.0, -2.0]))
    restored = Ledger()
    Synapses("w", torch.zeros(3), ledger=restored)
    restored.load_state_dict(ledger.state_dict())
    assert restored.counts() == ledger.counts()
    assert restored.summary()["m0"] == 2


def test_nonsilent_count():
    syn = Synapses("w", torch.tensor([0.0, 1e-4, -0.5, 2.0]))
    assert syn.n_nonsilent() == 3
    assert syn.n_nonsilent(eps=1e-3) == 2


def test_module_apply_with_a_function_still_works():
    from neuroplastic.models import MLP

    seen = []
    model = MLP([3, 2, 1], ledger=Ledger())
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen.count("Synapses") == 4 and seen[-1] == "MLP"


def test_minimal_energy_counts_existing_synapses_and_grown_from_zero():
    ledger = Ledger()
    syn = Synapses("w", torch.tensor([1.0, 2.0, 3.0]), ledger=ledger)
    syn.prune(torch.tensor([True, True, False]))
    syn.grow(torch.tensor([True, False, False]), init=0.5)
    syn.apply(torch.tensor([0.0, 0.0, 1.0]))
    # site 0 regrown from 0 to 0.5; site 1 removed (not a write); site 2 moved 3 -> 4
    assert ledger.minimal() == (2, 1.5)
    c = ledger.counts()
    assert c.m1 == 1.5 and c.m1 >= ledger.minimal()[1]


def test_summary_lists_groups_recorded_without_synapses():
    """A store that keeps its own weights (e.g. bit-packed) records counts explicitly."""
    ledger = Ledger()
    syn = Synapses("fc.weight", torch.zeros(2, 2), ledger=ledger)
    syn.apply(torch.ones(2, 2))
    ledger.record_update("packed.memory", 5, 5.0, 5.0)
    summary = ledger.summary()
    assert summary["m0"] == 4 + 5
    assert summary["per_group"]["packed.memory"]["m0"] == 5
    assert summary["per_group"]["packed.memory"]["m0_min"] is None
    assert summary["per_group"]["fc.weight"]["m0_min"] == 4
