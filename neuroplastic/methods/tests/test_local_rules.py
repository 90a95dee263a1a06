"""What is specific to the unsupervised local rules with a delta-rule readout."""

import pytest
import torch

from neuroplastic.energy.ledger import Ledger
from neuroplastic.errors import DivergedError, ParameterError
from neuroplastic.methods import BuildContext, get_method
from neuroplastic.params import build_params
from neuroplastic.train import LoopSettings, Trainer

LOCAL = ["hebb", "oja", "bcm", "krotov-hopfield", "softhebb"]


def build(name, hidden=(16,), **over):
    method = get_method(name)
    ctx = BuildContext(
        12, 3, hidden, Ledger(), torch.Generator().manual_seed(0), torch.device("cpu")
    )
    params = (
        build_params(method.params_model, {"batch_size": 8, "k": 2, **over}, name)
        if (name == "krotov-hopfield")
        else build_params(method.params_model, {"batch_size": 8, **over}, name)
    )
    return method.build(ctx, params)


def data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 12, generator=g), torch.randint(0, 3, (n,), generator=g)


@pytest.mark.parametrize("name", LOCAL)
def test_builds_no_autograd_graph(name):
    learner = build(name)
    x, y = data()
    learner.train_step(x[:8], y[:8])
    assert all(not s.w.requires_grad for s in learner.synapses())
    assert learner.predict(x).grad_fn is None


@pytest.mark.parametrize("name", LOCAL)
def test_hidden_layer_stops_learning_after_unsupervised_epochs(name):
    learner = build(name, unsupervised_epochs=1)
    x, y = data()
    learner.train_step(x[:8], y[:8])
    w1 = learner.hidden.weight.w.detach().clone()
    learner.on_epoch_end(0)
    learner.train_step(x[8:16], y[8:16])
    assert torch.equal(w1, learner.hidden.weight.w.detach())


def test_readout_learns_a_separable_task():
    g = torch.Generator().manual_seed(1)
    y = torch.randint(0, 3, (600,), generator=g)
    x = torch.rand(600, 12, generator=g) * 0.2
    x[torch.arange(600), y * 4] += 1.0
    learner = build("softhebb", hidden=(24,))
    settings = LoopSettings(epochs=3, batch_size=8)
    Trainer(learner, settings).fit(x, y, x[:200], y[:200])
    acc = (learner.predict(x).argmax(1) == y).float().mean()
    assert acc > 0.9


def test_divergence_stops_the_run_without_writing_nan():
    learner = build("hebb", eta=10.0, decay=0.0)
    x, y = data(256)
    x = x * 1e30  # Hebbian growth overflows float32 at once
    before = learner.hidden.weight.w.detach().clone()
    with pytest.raises(DivergedError, match="diverged at step 1") as info:
        Trainer(learner, LoopSettings(epochs=1, batch_size=8)).fit(x, y, x[:8], y[:8])
    assert info.value.step == 1
    assert torch.isfinite(learner.hidden.weight.w).all()
    assert torch.equal(before, learner.hidden.weight.w.detach())


def test_bad_rule_parameters_fail_with_name_bound_and_value():
    with pytest.raises(ParameterError, match=r"'p'.*greater than or equal to 1.*0.5"):
        build("krotov-hopfield", p="0.5")
    with pytest.raises(ParameterError, match=r"'tau_theta'.*greater than or equal to 1.*'0'"):
        build("bcm", tau_theta="0")
    with pytest.raises(ParameterError, match=r"'eta'.*greater than 0.*-1"):
        build("oja", eta="-1")
    with pytest.raises(ParameterError, match="one hidden layer"):
        build("softhebb", hidden=(8, 8))


def test_localised_receptive_fields_mask_one_patch_per_unit():
    from neuroplastic.methods.random_projection import receptive_field_mask

    mask = receptive_field_mask(50, 784, 5, torch.Generator().manual_seed(0))
    assert mask.shape == (50, 784) and (mask.sum(1) == 25).all()
    image = mask.reshape(50, 28, 28)
    rows = image.any(2).sum(1)
    cols = image.any(1).sum(1)
    assert (rows == 5).all() and (cols == 5).all()  # a contiguous 5 × 5 square per unit
    method = get_method("random-projection")
    ctx = BuildContext(
        784, 10, (30,), Ledger(), torch.Generator().manual_seed(0), torch.device("cpu")
    )
    learner = method.build(ctx, method.params_model(receptive_field=5))
    assert learner.hidden[0].weight.n_existing == 30 * 25
    with pytest.raises(ParameterError, match="square input"):
        ctx12 = BuildContext(12, 3, (4,), Ledger(), torch.Generator(), torch.device("cpu"))
        method.build(ctx12, method.params_model(receptive_field=2))


@pytest.mark.parametrize("readout", ["adam", "nlms"])
def test_both_readouts_learn_a_separable_task(readout):
    g = torch.Generator().manual_seed(1)
    y = torch.randint(0, 3, (600,), generator=g)
    x = torch.rand(600, 12, generator=g) * 0.2
    x[torch.arange(600), y * 4] += 1.0
    learner = build("krotov-hopfield", hidden=(24,), readout=readout, code_power=2.0)
    Trainer(learner, LoopSettings(epochs=3, batch_size=8)).fit(x, y, x[:200], y[:200])
    assert (learner.predict(x).argmax(1) == y).float().mean() > 0.9


def test_linear_rule_schedule_scales_the_step_down_per_epoch():
    learner = build("krotov-hopfield", unsupervised_epochs=4)
    assert learner.p.rule_schedule == "linear"
    scales = []
    for epoch in range(4):
        learner.epoch = epoch
        scales.append(learner.rule_scale())
    assert scales == [1.0, 0.75, 0.5, 0.25]
    assert build("softhebb").rule_scale() == 1.0


def test_random_projection_adam_readout_learns():
    g = torch.Generator().manual_seed(1)
    y = torch.randint(0, 3, (600,), generator=g)
    x = torch.rand(600, 12, generator=g) * 0.2
    x[torch.arange(600), y * 4] += 1.0
    method = get_method("random-projection")
    ctx = BuildContext(
        12, 3, (64,), Ledger(), torch.Generator().manual_seed(0), torch.device("cpu")
    )
    learner = method.build(ctx, method.params_model(readout="adam", batch_size=8))
    Trainer(learner, LoopSettings(epochs=3, batch_size=8)).fit(x, y, x[:200], y[:200])
    assert (learner.predict(x).argmax(1) == y).float().mean() > 0.9
