"""One contract for every registered method (cf. scikit-learn's check_estimator)."""

import pytest
import torch
from pydantic import TypeAdapter

from neuroplastic.energy.ledger import Ledger
from neuroplastic.methods import BuildContext, available_methods, get_method
from neuroplastic.results import MethodFields


def build(name, seed=0, hidden=(12,)):
    method = get_method(name)
    ctx = BuildContext(
        10, 4, hidden, Ledger(), torch.Generator().manual_seed(seed), torch.device("cpu")
    )
    params = method.params_model(batch_size=8)
    return method.build(ctx, params)


def batch(seed=0, n=8):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 10, generator=g), torch.randint(0, 4, (n,), generator=g)


@pytest.mark.parametrize("name", available_methods())
def test_shapes_and_architecture(name):
    learner = build(name)
    x, _ = batch()
    assert learner.predict(x).shape == (8, 4)
    assert learner.architecture.startswith("10-") and learner.architecture.endswith("-4")
    names = [s.name for s in learner.synapses()]
    assert len(names) == len(set(names)) > 0
    assert set(names) == set(learner.ledger.groups)


@pytest.mark.parametrize("name", available_methods())
def test_method_fields_are_a_typed_part_of_the_record(name):
    learner = build(name)
    x, y = batch()
    fields = learner.method_fields(x, y)
    if fields is not None:  # one of the record's typed kinds, and round-trips through JSON
        assert TypeAdapter(MethodFields).validate_json(fields.model_dump_json()) == fields


@pytest.mark.parametrize("name", available_methods())
def test_ledger_counts_equal_weight_differences_over_training(name):
    learner = build(name)
    before = {s.name: s.w.detach().clone() for s in learner.synapses()}
    for i in range(5):
        learner.train_step(*batch(i))
    diff_m0 = sum(
        int(torch.count_nonzero(s.w.detach() - before[s.name])) for s in learner.synapses()
    )
    m0_min, m1_min = learner.ledger.minimal()
    assert m0_min == diff_m0
    counts = learner.ledger.counts()
    assert counts.m0 >= m0_min and counts.m1 >= m1_min - 1e-6
    assert counts.m0 > 0, "training changed nothing"


@pytest.mark.parametrize("name", available_methods())
def test_deterministic_under_seed(name):
    a, b = build(name, seed=3), build(name, seed=3)
    for i in range(3):
        a.train_step(*batch(i))
        b.train_step(*batch(i))
    for sa, sb in zip(a.synapses(), b.synapses()):
        assert torch.equal(sa.w.detach(), sb.w.detach())
    c = build(name, seed=4)
    assert not all(torch.equal(sa.w, sc.w) for sa, sc in zip(a.synapses(), c.synapses()))


@pytest.mark.parametrize("name", available_methods())
def test_masks_respected(name):
    learner = build(name)
    for syn in learner.synapses():
        syn.prune(torch.rand(syn.w.shape, generator=torch.Generator().manual_seed(0)) < 0.3)
    for i in range(3):
        learner.train_step(*batch(i))
    for syn in learner.synapses():
        assert torch.all(syn.w.detach()[~syn.mask] == 0)


def test_local_baseline_builds_no_autograd_graph():
    learner = build("random-projection")
    x, y = batch()
    with torch.autograd.graph.saved_tensors_hooks(
        lambda t: pytest.fail("graph built"), lambda t: t
    ):
        learner.train_step(x, y)
    assert all(not s.w.requires_grad for s in learner.synapses())
