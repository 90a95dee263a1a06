"""The structural-plasticity learner: no backprop, counted structure, switchable ingredients."""

import pytest
import torch

from neuroplastic.energy.ledger import Ledger
from neuroplastic.errors import ParameterError
from neuroplastic.methods import BuildContext, get_method
from neuroplastic.params import build_params
from neuroplastic.train import LoopSettings, Trainer, accuracy


def blobs(n=600, seed=0, classes=3, dim=20):
    g = torch.Generator().manual_seed(seed)
    centers = torch.zeros(classes, dim)
    for c in range(classes):  # each class drives its own block of inputs
        centers[c, c * 6 : (c + 1) * 6] = 1.0
    y = torch.randint(0, classes, (n,), generator=g)
    x = (centers[y] + 0.2 * torch.rand(n, dim, generator=g)).clamp(0, 1)
    return x, y


def learner(hidden=12, **overrides):
    """A small learner in the Table-2 setting (the tests below were written for it) unless
    ``preset`` is given."""
    method = get_method("structural")
    values = {"batch_size": 20, "preset": "table2", **overrides}
    params = build_params(method.params_model, values, "structural")
    ctx = BuildContext(
        20, 3, (hidden,), Ledger(), torch.Generator().manual_seed(0), torch.device("cpu")
    )
    return method.build(ctx, params)


def test_learns_without_any_autograd_graph():
    x, y = blobs()
    model = learner(epochs=4, prune_epoch=2, budget=5, k=2)
    assert all(not s.w.requires_grad for s in model.synapses())
    with torch.autograd.graph.saved_tensors_hooks(
        lambda t: pytest.fail("graph built"), lambda t: t
    ):
        Trainer(model, LoopSettings(epochs=4, batch_size=20)).fit(x, y, x, y)
    assert accuracy(model, x, y) > 0.9


def test_first_hidden_step_matches_hand_computation():
    model = learner(competition="hard", homeostasis=False)
    x, y = blobs(n=20)
    w0 = model.hidden.w.detach().clone()
    scores = x @ w0.T - 0.5 * (w0 * w0).sum(1)
    winners = torch.zeros_like(scores).scatter_(1, scores.argmax(1, keepdim=True), 1.0)
    expected = w0 + 0.05 * (winners.T @ x - winners.sum(0)[:, None] * w0) / 20
    model.train_step(x, y)
    assert torch.allclose(model.hidden.w.detach(), expected.clamp(min=0), atol=1e-6)


def test_budget_pruning_and_growth_are_ledger_events():
    x, y = blobs()
    model = learner(epochs=3, prune_epoch=1, budget=4, k=2)
    Trainer(model, LoopSettings(epochs=3, batch_size=20)).fit(x, y, x, y)
    per_unit = model.hidden.mask.sum(1)
    assert int(per_unit.max()) <= 4
    counts = model.ledger.counts(group="hidden.weight")
    assert counts.pruned == 12 * 20 - model.hidden.n_existing + counts.created
    assert torch.all(model.hidden.w.detach()[~model.hidden.mask] == 0)
    assert torch.all(model.hidden.w.detach() >= 0)  # Dale: excitatory


def test_reserve_units_keep_no_synapses():
    x, y = blobs()
    model = learner(hidden=40, epochs=3, prune_epoch=1, budget=4, k=1, homeostasis=False)
    Trainer(model, LoopSettings(epochs=3, batch_size=20)).fit(x, y, x, y)
    assert 0 < model.connected_units() < 40  # some units never won and stay in reserve


@pytest.mark.parametrize(
    "ablation",
    [
        {"competition": "none"},
        {"homeostasis": False},
        {"nonnegative": False},
        {"budget": 0, "growth": False, "silent_pruning": False, "reserve": False},
        {"readout": "perturbation"},
    ],
)
def test_each_ingredient_can_be_switched_off(ablation):
    x, y = blobs(n=200)
    model = learner(epochs=3, prune_epoch=1, **ablation)
    Trainer(model, LoopSettings(epochs=3, batch_size=20)).fit(x, y, x, y)
    assert model.ledger.counts().m0 > 0
    if ablation.get("budget") == 0:
        assert model.ledger.counts().pruned == 0


def test_bad_schedule_is_rejected_with_names():
    with pytest.raises(ParameterError, match="prune_epoch"):
        build_params(
            get_method("structural").params_model, {"epochs": 2, "prune_epoch": 5}, "structural"
        )
    with pytest.raises(ParameterError, match="readout learns after the 3 hidden epochs"):
        build_params(
            get_method("structural").params_model,
            {"preset": "table2", "epochs": 3, "prune_epoch": 2},
            "structural",
        )
    with pytest.raises(ParameterError, match="raise hidden_epochs"):
        build_params(get_method("structural").params_model, {"prune_epoch": 3}, "structural")
    with pytest.raises(ParameterError, match="exceeds"):
        learner(hidden=3, k=5)


def _fit(model, x, y, epochs):
    Trainer(model, LoopSettings(epochs=epochs, batch_size=20)).fit(x, y, x, y)


def test_consolidated_units_keep_their_synapses_in_a_new_phase():
    x, y = blobs(classes=3)
    first, second = y < 2, y == 2
    model = learner(
        hidden=16, epochs=4, prune_epoch=2, budget=5, k=2, consolidate=True, competition="hard"
    )
    model.begin_phase("A")
    assert not model.consolidated.any()  # nothing learned yet: nothing to protect
    _fit(model, x[first], y[first], 4)
    connected_a = model.hidden.mask.any(1).clone()
    assert 0 < int(connected_a.sum()) < 16  # some units left in reserve
    w_a, mask_a = model.hidden.w.detach().clone(), model.hidden.mask.clone()
    model.begin_phase("B")
    assert torch.equal(model.consolidated, connected_a)
    _fit(model, x[second], y[second], 4)
    rows = connected_a
    assert torch.equal(model.hidden.mask[rows], mask_a[rows])  # not released, not re-pruned
    assert torch.equal(model.hidden.w.detach()[rows], w_a[rows])  # no learning
    recruited = model.hidden.mask.any(1) & ~connected_a
    assert int(recruited.sum()) >= 1  # the new class went to reserve units


def test_readout_learns_only_seen_classes():
    x, y = blobs(classes=3)
    model = learner(epochs=3, prune_epoch=1, readout_seen_classes_only=True)
    keep = y < 2
    _fit(model, x[keep], y[keep], 3)
    assert torch.count_nonzero(model.readout.w.detach()[2]) == 0  # class 2 never taught
    assert float(model.readout_bias.w.detach()[2]) == 0.0
    assert torch.count_nonzero(model.readout.w.detach()[:2]) > 0


def test_without_consolidation_old_units_keep_learning():
    x, y = blobs(classes=3)
    first, second = y < 2, y == 2
    model = learner(
        hidden=16, epochs=4, prune_epoch=2, budget=5, k=2, consolidate=False, competition="hard"
    )
    model.begin_phase("A")
    _fit(model, x[first], y[first], 4)
    rows = model.hidden.mask.any(1).clone()
    w_a = model.hidden.w.detach().clone()
    model.begin_phase("B")
    assert not model.consolidated.any()
    _fit(model, x[second], y[second], 4)
    assert not torch.equal(model.hidden.w.detach()[rows], w_a[rows])


def _params(**values):
    return build_params(get_method("structural").params_model, values, "structural")


def test_presets_fill_only_what_is_not_set():
    ten, table2 = _params(), _params(preset="table2")
    assert (ten.competition, ten.budget, ten.readout, ten.reserve) == ("hard", 15, "softmax", False)
    assert (ten.receptive_field, table2.receptive_field) == (12, 0)
    assert ten.readout_centred and ten.readout_batches == 1
    assert (table2.competition, table2.k, table2.budget, table2.readout) == ("kwta", 5, 7, "delta")
    assert (table2.epochs, table2.prune_epoch, table2.hidden_epochs) == (10, 4, None)
    mixed = _params(preset="table2", budget=9, readout="softmax")
    assert (mixed.budget, mixed.readout, mixed.k) == (9, "softmax", 5)
    with pytest.raises(ParameterError, match="preset"):
        _params(preset="nine")


@pytest.mark.parametrize("preset", ["ten", "table2"])
def test_quick_keeps_readout_epochs_after_the_hidden_ones(preset):
    quick = _params(preset=preset).quick(3)
    assert quick.epochs == 3
    assert quick.plastic_epochs() == 1 and quick.prune_epoch == 1  # two readout epochs remain


def test_quick_takes_small_batches_unless_the_batch_size_is_set():
    from neuroplastic.methods.structural import QUICK_BATCH

    assert _params().quick(3).batch_size == QUICK_BATCH < _params().batch_size
    assert _params(batch_size=7).quick(3).batch_size == 7
    assert _params(batch_size=500).quick(3).batch_size == 500


def test_softmax_readout_is_the_local_cross_entropy_delta_rule():
    x, y = blobs(n=60)
    model = learner(
        preset="ten", epochs=3, prune_epoch=1, hidden_epochs=1, budget=5, readout_centred=False
    )
    _fit(model, x, y, 1)  # the hidden epoch: the readout has not learned yet
    assert torch.count_nonzero(model.readout.w.detach()) == 0
    xb, yb = x[:20], y[:20]
    h = model.hidden_code(xb)
    w0, b0 = model.readout.w.detach().clone(), model.readout_bias.w.detach().clone()
    p = torch.softmax(h @ w0.T + b0, dim=1)
    err = torch.nn.functional.one_hot(yb, 3).float() - p
    model.train_step(xb, yb)
    eta = model.p.eta_softmax
    assert torch.allclose(model.readout.w.detach(), w0 + eta * err.T @ h / 20, atol=1e-6)
    assert torch.allclose(model.readout_bias.w.detach(), b0 + eta * err.mean(0), atol=1e-6)
    _fit(model, x, y, 2)
    assert accuracy(model, x, y) > 0.9


def test_new_phase_repotentiates_the_reserve_and_new_classes_read_only_recruits():
    x, y = blobs(classes=3)
    first, second = y < 2, y == 2
    model = learner(
        hidden=16,
        epochs=4,
        prune_epoch=2,
        budget=5,
        competition="hard",
        readout="delta",
        phase_gate="template",  # phase B has one class: no within-phase confidence to compare
    )
    model.begin_phase("A")
    _fit(model, x[first], y[first], 4)
    reserve = ~model.hidden.mask.any(1)
    assert reserve.any()
    created = model.ledger.counts().created
    model.begin_phase("B")
    assert model.hidden.mask[reserve].all()  # full potential connectivity again ...
    assert model.ledger.counts().created - created == int(reserve.sum()) * 20  # ... counted
    _fit(model, x[second], y[second], 4)
    old = model.consolidated
    assert torch.all(model.readout.w.detach()[2][old] == 0)
    assert not model.readout.mask[2][old].any()  # class 2 reads only units recruited with it
    assert model.readout.mask[:2][:, old].all()  # the old classes keep theirs
    assert accuracy(model, x[second], y[second]) > 0.9
    assert accuracy(model, x[first], y[first]) > 0.9


def test_receptive_field_keeps_synapses_and_growth_in_each_units_window():
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(200, 64, generator=g) > 0.5).float()
    y = torch.randint(0, 3, (200,), generator=g)
    method = get_method("structural")
    values = {"batch_size": 20, "receptive_field": 3, "budget": 4, "epochs": 3}
    params = build_params(method.params_model, values, "structural")
    ctx = BuildContext(
        64, 3, (10,), Ledger(), torch.Generator().manual_seed(0), torch.device("cpu")
    )
    model = method.build(ctx, params)
    window = model.potential.clone()
    assert torch.equal(window.sum(1), torch.full((10,), 9))  # a 3 x 3 window of the 8 x 8 image
    for row in window.view(10, 8, 8):
        rows, cols = row.nonzero(as_tuple=True)
        assert rows.max() - rows.min() == 2 and cols.max() - cols.min() == 2
    _fit(model, x, y, 3)
    assert not (model.hidden.mask & ~window).any()
    with pytest.raises(ParameterError, match="receptive_field = 9 exceeds the image side 8"):
        method.build(ctx, build_params(method.params_model, {"receptive_field": 9}, "s"))


def test_calibrated_gate_records_each_phases_own_outputs_and_z_scores_them():
    x, y = blobs(classes=3)
    first, second = y < 2, y == 2
    model = learner(
        hidden=16, epochs=4, prune_epoch=2, budget=5, competition="hard", phase_gate="calibrated"
    )
    model.begin_phase("A")
    _fit(model, x[first], y[first], 4)
    moments_a = model.gate_moments[0].clone()
    assert moments_a[0] == int(first.sum())  # every phase-A sample of the last epoch, once
    assert torch.all(model.gate_moments[1:] == 0)
    model.begin_phase("B")
    _fit(model, x[second], y[second], 4)
    assert torch.equal(model.gate_moments[0], moments_a)  # phase B leaves A's reference alone
    assert model.gate_moments[1, 0] == int(second.sum())
    assert accuracy(model, x[first], y[first]) > 0.9
    assert accuracy(model, x[second], y[second]) > 0.9
    # the gate itself: phase p wins where (max output of p − μ_p) / σ_p is largest
    model.gate_moments[:2] = torch.tensor(
        [[4.0, 4 * 10.0, 4 * (100.0 + 4.0)], [4.0, 4 * 1.0, 4 * (1.0 + 1.0)]], dtype=torch.float64
    )  # phase A: μ 10, σ 2; phase B: μ 1, σ 1
    out = torch.tensor([[9.0, 0.0, 1.5], [11.0, 0.0, 1.6], [12.0, 0.0, 4.0]])
    # z_A = −0.5 vs z_B = 0.5; z_A = 0.5 vs z_B = 0.6; z_A = 1 vs z_B = 3
    assert model.p.gate_margin == 0.25  # phase B (index 1) needs 0.25 s.d. more than A
    assert model._gate_by_calibrated_output(out).argmax(1).tolist() == [2, 0, 2]
    model.p = model.p.model_copy(update={"gate_margin": 0.0})
    assert model._gate_by_calibrated_output(out).argmax(1).tolist() == [2, 2, 2]


def test_readout_batches_write_the_summed_update_once_every_n_batches():
    x, y = blobs(n=60)
    model = learner(
        preset="ten",
        epochs=3,
        prune_epoch=1,
        hidden_epochs=1,
        budget=5,
        readout_batches=3,
        readout_centred=False,
    )
    _fit(model, x, y, 1)
    w0, b0 = model.readout.w.detach().clone(), model.readout_bias.w.detach().clone()
    writes = model.ledger.counts(group="readout.weight").m0
    expected_w, expected_b = w0.clone(), b0.clone()
    for i in range(3):
        xb, yb = x[20 * i : 20 * (i + 1)], y[20 * i : 20 * (i + 1)]
        h = model.hidden_code(xb)
        err = torch.nn.functional.one_hot(yb, 3).float() - torch.softmax(h @ w0.T + b0, dim=1)
        expected_w += model.p.eta_softmax * err.T @ h / 20
        expected_b += model.p.eta_softmax * err.mean(0)
        model.train_step(xb, yb)
        if i < 2:  # summed in the trace, not written: nothing counted yet
            assert torch.equal(model.readout.w.detach(), w0)
            assert model.ledger.counts(group="readout.weight").m0 == writes
    assert torch.allclose(model.readout.w.detach(), expected_w, atol=1e-5)
    assert torch.allclose(model.readout_bias.w.detach(), expected_b, atol=1e-5)
    model.train_step(x[:20], y[:20])
    model.on_epoch_end(1)  # the epoch's remainder is written at its end
    assert int(model.readout_pending) == 0
    assert not torch.allclose(model.readout.w.detach(), expected_w, atol=1e-5)
    _fit(model, x, y, 3)
    assert accuracy(model, x, y) > 0.9


def test_perceptron_readout_learns_and_correct_samples_write_nothing():
    x, y = blobs(n=120)
    model = learner(
        preset="ten",
        epochs=4,
        prune_epoch=1,
        hidden_epochs=1,
        budget=5,
        readout="perceptron",
        perceptron_margin=0.5,
        eta_softmax=0.5,
    )
    _fit(model, x, y, 4)
    assert accuracy(model, x, y) > 0.9
    out = model.predict(x)
    top2 = out.topk(2, dim=1).values
    fine = (out.argmax(1) == y) & (top2[:, 0] - top2[:, 1] >= 0.5)
    assert fine.any()
    w = model.readout.w.detach().clone()
    model.train_step(x[fine][:20], y[fine][:20])
    assert torch.equal(model.readout.w.detach(), w)


def test_rank_competition_and_ink_normalisation_learn():
    x, y = blobs()
    model = learner(
        preset="ten",
        epochs=4,
        prune_epoch=2,
        hidden_epochs=2,
        budget=5,
        competition="rank",
        k=3,
        rank_decay=0.5,
        input_norm="ink",
        ink=4.0,
    )
    assert model.target_rate == pytest.approx(1.75 / 12)  # 1 + 0.5 + 0.25 credit per input
    xb = x[:20]
    scaled = model._normalise(xb)
    assert torch.allclose(scaled.sum(1), torch.full((20,), 4.0))
    _fit(model, x, y, 4)
    assert accuracy(model, x, y) > 0.9


def test_centred_readout_reads_h_minus_its_running_mean():
    x, y = blobs(n=120)
    model = learner(
        preset="ten", epochs=3, prune_epoch=1, hidden_epochs=1, budget=5, readout_centred=True
    )
    _fit(model, x, y, 3)
    assert model.h_mean.any()
    h = model.hidden_code(x)
    expected = (h - model.h_mean) @ model.readout.w.detach().T + model.readout_bias.w.detach()
    assert torch.allclose(model.predict(x), expected, atol=1e-5)
    assert accuracy(model, x, y) > 0.9


def test_no_at_chance_warning_before_the_readout_has_learned():
    """After the Hebbian-only epochs the untaught readout is at chance by construction; the
    trainer warns only once the readout has had an epoch (here it stays at chance: unrelated
    validation labels, all one class)."""
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(400, 20, generator=g), torch.randint(0, 3, (400,), generator=g)
    xv, yv = torch.rand(300, 20, generator=g), torch.zeros(300, dtype=torch.long)
    model = learner(preset="ten", epochs=3, hidden_epochs=2, budget=5, receptive_field=0)
    assert not model.readout_trained
    warnings: list[str] = []
    Trainer(model, LoopSettings(epochs=3, batch_size=20), on_warning=warnings.append).fit(
        x, y, xv, yv
    )
    assert model.readout_trained
    assert len(warnings) == 1 and "after 1,200 samples" in warnings[0]
