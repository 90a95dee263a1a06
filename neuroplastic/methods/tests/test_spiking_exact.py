"""The spiking-exact method: registration, the door, phase clipping, details, state."""

import copy
import json
import math

import pytest
import torch

from neuroplastic.energy.ledger import Ledger
from neuroplastic.errors import ParameterError
from neuroplastic.methods import BuildContext, default_comparison, get_method
from neuroplastic.methods.spiking_exact import SpikingExactLearner, SpikingExactParams
from neuroplastic.params import build_params
from neuroplastic.spiking.events import EventBudgetError


def build(seed=0, **overrides):
    ctx = BuildContext(
        16, 3, (7,), Ledger(), torch.Generator().manual_seed(seed), torch.device("cpu")
    )
    params = SpikingExactParams(hidden="12-8", batch_size=20, **overrides)
    return SpikingExactLearner(ctx, params)


def data(seed=0, n=20):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 16, generator=g), torch.randint(0, 3, (n,), generator=g)


def test_registered_outside_the_default_comparison():
    method = get_method("spiking-exact")
    assert method.params_model is SpikingExactParams
    assert "spiking-exact" not in default_comparison()


def test_paper_defaults():
    p = SpikingExactParams()
    assert (p.hidden, p.batch_size, p.lr, p.t_end, p.flip_prob) == (
        "100-100",
        1000,
        4e-3,
        2.0,
        0.02,
    )
    assert p.tau == pytest.approx(6 / math.pi) and p.i0 == 1.25 and p.optimizer == "adabelief"
    assert p.hidden_sizes((1000,)) == [100, 100]
    assert SpikingExactParams(hidden="experiment").hidden_sizes((5, 4)) == [5, 4]


def test_bad_parameters_fail_with_their_name():
    with pytest.raises(ParameterError, match="hidden"):
        build_params(SpikingExactParams, {"hidden": "100-x"}, "spiking-exact")
    with pytest.raises(ParameterError, match="i0"):
        build_params(SpikingExactParams, {"i0": "0.2"}, "spiking-exact")
    with pytest.raises(ParameterError, match="shorter than"):
        build(t_end=7.0)


def test_architecture_and_initial_state():
    learner = build()
    assert learner.architecture == "16-12-8-3"
    w1 = learner.network.weight_groups[0].w.detach()
    assert float(w1.abs().max()) <= 0.5 / math.sqrt(16)
    for phase in learner.network.phase_groups:
        assert torch.allclose(phase.w, torch.full_like(phase.w, 3.0))  # Θ/2 = 3


def test_every_update_is_counted_and_phases_stay_in_range():
    learner = build(lr=1.0)  # a large step drives phases against their bounds
    before = {s.name: s.w.detach().clone() for s in learner.synapses()}
    for i in range(4):
        learner.train_step(*data(i))
    for syn in learner.synapses():
        diff = syn.w.detach() - before[syn.name]
        counted = learner.ledger.counts(group=syn.name)
        assert counted.applies == 4
        assert counted.m1 >= float(diff.abs().sum()) - 1e-5
    for phase in learner.network.phase_groups:
        phi = phase.w.detach()
        assert float(phi.min()) >= 0.0 and float(phi.max()) <= 6.0 + 1e-6
    at_bound = [
        float(p.w.detach().max()) == pytest.approx(6.0) or float(p.w.detach().min()) == 0.0
        for p in learner.network.phase_groups
    ]
    assert any(at_bound)  # the clip was exercised


def test_one_step_is_exactly_the_written_difference():
    learner = build()
    before = {s.name: s.w.detach().clone() for s in learner.synapses()}
    learner.train_step(*data(0))
    for syn in learner.synapses():
        diff = (syn.w.detach() - before[syn.name]).abs().sum()
        assert learner.ledger.counts(group=syn.name).m1 == pytest.approx(float(diff), rel=1e-5)


def test_prediction_and_details():
    learner = build()
    for i in range(3):
        learner.train_step(*data(i))
    x, y = data(9, n=30)
    scores = learner.predict(x)
    assert scores.shape == (30, 3) and torch.isfinite(scores).all()  # pseudospikes: all finite
    d = learner.spiking_details(x, y, batch_size=7)
    assert 0 <= d["accuracy_no_pseudospikes"] <= 1 and 0 <= d["accuracy"] <= 1
    assert d["spikes_per_hidden_neuron"] >= 0 and d["samples"] == 30
    # at least the input volley is counted: active pixels × 12 first-layer neurons
    active = (x >= 128 / 255).sum(1).double().mean()
    assert d["synaptic_events_per_sample"] >= float(active) * 12 - 1e-6
    fields = learner.method_fields(x, y)
    assert fields.kind == "spiking"
    assert fields.accuracy_no_pseudospikes == d["accuracy_no_pseudospikes"]
    learner.on_epoch_end(0)
    assert learner.history[0]["epoch"] == 1 and learner.history[0]["samples"] == 60
    assert learner.lr == pytest.approx(4e-3 * math.exp(-1 / 100))


def test_event_budget_too_small_is_a_clear_error():
    learner = build(max_events=1, phase_init=0.9)  # neurons start near threshold and spike
    with pytest.raises(EventBudgetError, match="max_events=1"):
        learner.train_step(*data(0))


def test_state_round_trip_continues_identically():
    a = build(seed=2)
    for i in range(2):
        a.train_step(*data(i))
    b = build(seed=5)
    b.load_state_dict(copy.deepcopy(a.state_dict()))  # as a checkpoint file would
    a.train_step(*data(7))
    b.train_step(*data(7))
    for sa, sb in zip(a.synapses(), b.synapses(), strict=True):
        assert torch.equal(sa.w.detach(), sb.w.detach())


def _bright_images(n, seed):
    """Synthetic 28×28 'images': about 20 % bright pixels, labels from the brightest quarter
    of the image (learnable, so training moves the weights)."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 784, generator=g) < 0.2).float()
    y = x.view(n, 4, 196).sum(2).argmax(1)
    return x, y


def test_quick_run_is_bit_identical_for_one_seed_and_thread_count(tmp_path, monkeypatch):
    """Issue 14: two ``--quick`` runs with the same seed and two threads give the same record
    and weights bit for bit. Full-width layers (784-100-100-10) and an active network, so the
    multi-threaded kernels that used float atomics (the backward of the weight-column gather)
    are exercised; the record's wall time and provenance are the only fields allowed to differ."""
    from neuroplastic.data.mnist import DataSplits, Split
    from neuroplastic.runs import Experiment, run_method
    from neuroplastic.store import RunStore

    monkeypatch.setenv("NEUROPLASTIC_HOME", str(tmp_path))
    x, y = _bright_images(400, 0)
    xv, yv = _bright_images(50, 1)
    data = DataSplits(Split(x, y), Split(xv, yv), Split(xv, yv), list(range(10)))
    exp = Experiment(hidden=[100], device="cpu", quick=True, progress=False)
    overrides = {"phase_init": 0.64, "epochs": 1}
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        records = []
        for run in range(2):
            with RunStore(f"sqlite:///{tmp_path / f'runs{run}.sqlite'}") as store:
                record = run_method("spiking-exact", overrides, exp, store, data=data)
            # wall time and provenance (start/end times) are the only fields allowed to differ
            exclude = {"wall_s", "run_id", "provenance"}
            records.append(json.loads(record.model_dump_json(exclude=exclude)))
    finally:
        torch.set_num_threads(threads)
    spiking = records[0]["method_fields"]
    assert records[0]["epochs_done"] == 1 and spiking["spikes_per_hidden_neuron"] > 0
    assert records[0] == records[1]


def test_checkpoint_of_another_configuration_is_refused_by_name(tmp_path):
    """Bad input (issue 14): resuming from a checkpoint written under another configuration
    raises a CheckpointError naming the file, and leaves the learner as built."""
    from neuroplastic.errors import CheckpointError
    from neuroplastic.train import LoopSettings, Trainer

    ckpt = tmp_path / "spiking.pt"
    x, y = data(0, n=40)
    settings = LoopSettings(epochs=1, batch_size=20, checkpoint_every=20)
    Trainer(build(), settings, checkpoint_path=ckpt, signature="hidden-12-8").fit(x, y, x, y)
    assert ckpt.is_file()
    ctx = BuildContext(16, 3, (7,), Ledger(), torch.Generator().manual_seed(0), torch.device("cpu"))
    learner = SpikingExactLearner(ctx, SpikingExactParams(hidden="12-6", batch_size=20))
    before = [s.w.detach().clone() for s in learner.synapses()]
    trainer = Trainer(learner, settings, checkpoint_path=ckpt, signature="hidden-12-6")
    with pytest.raises(CheckpointError, match=r"spiking\.pt belongs to another configuration"):
        trainer.resume()
    assert all(torch.equal(b, s.w) for b, s in zip(before, learner.synapses(), strict=True))
