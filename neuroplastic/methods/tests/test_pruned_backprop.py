"""Magnitude-pruned backprop: prunes at the scheduled epoch to exactly ``budget`` weights,
counts every removal, and keeps pruned synapses at zero while fine-tuning."""

import json

import pytest
import torch

from neuroplastic.data import DataSplits, Split
from neuroplastic.energy.ledger import Ledger
from neuroplastic.errors import ParameterError
from neuroplastic.methods import BuildContext
from neuroplastic.methods.pruned_backprop import (
    PrunedBackpropLearner,
    PrunedBackpropParams,
    magnitude_prune,
)
from neuroplastic.methods.tests.toy import HIDDEN, N_CLASSES, toy_data, toy_learner
from neuroplastic.params import build_params
from neuroplastic.synapses import Synapses
from neuroplastic.train import LoopSettings, Trainer, epoch_order

N_WEIGHTS = 10 * 12 + 12 * 4  # 168; biases (16) are not in the budget


def build(seed=0, hidden=HIDDEN, **overrides):
    params = {"batch_size": 8, "lr": 0.01, **overrides}
    return toy_learner("pruned-backprop", seed, hidden, **params)


def weight_groups(learner):
    return [layer.weight for layer in learner.model.layers]


def n_existing(learner):
    return sum(s.n_existing for s in weight_groups(learner))


def n_nonzero(learner):
    return sum(int(torch.count_nonzero(s.w.detach())) for s in weight_groups(learner))


class Recorder:
    """Wraps train_step: existing weights after each step, state right before each prune."""

    def __init__(self, learner):
        self.learner = learner
        self.existing_after_step = []
        self.before_prune = []
        step, prune = learner.train_step, learner.prune_round

        def train_step(x, y):
            step(x, y)
            self.existing_after_step.append(n_existing(learner))

        def prune_round():
            self.before_prune.append(
                {
                    "step": len(self.existing_after_step),
                    "w": [s.w.detach().clone() for s in weight_groups(learner)],
                }
            )
            return prune()

        learner.train_step, learner.prune_round = train_step, prune_round


def fit(learner, x, y, epochs, batch_size=8):
    """The real training loop (it may tell the learner where epochs end)."""
    settings = LoopSettings(epochs=epochs, batch_size=batch_size, seed=1)
    return Trainer(learner, settings).fit(x, y, x[:16], y[:16])


def stream(learner, x, y, epochs, batch_size=8):
    """A hand-written loop keeping the loop contract: batches in order, then ``on_epoch_end``."""
    n = x.shape[0]
    for epoch in range(epochs):
        order = epoch_order(n, 1, epoch)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            learner.train_step(x[idx], y[idx])
        learner.on_epoch_end(epoch)


@pytest.mark.parametrize("loop", [fit, stream])
def test_prunes_to_exact_budget_at_scheduled_epoch_and_keeps_mask_while_finetuning(loop):
    x, y = toy_data()  # 96 samples, batch 8: 12 steps per epoch
    learner = build(epochs=4, finetune_epochs=1, budget=50)
    rec = Recorder(learner)
    loop(learner, x, y, epochs=4)

    # dense for 3 epochs (36 steps), pruned at the first step of epoch 4, before its update
    assert [r["step"] for r in rec.before_prune] == [36]
    assert rec.existing_after_step[:36] == [N_WEIGHTS] * 36
    assert rec.existing_after_step[36:] == [50] * 12
    assert n_existing(learner) == 50 and n_nonzero(learner) == 50

    summary = learner.ledger.summary()
    assert summary["pruned"] == N_WEIGHTS - 50
    assert summary["per_phase"]["prune"]["pruned"] == N_WEIGHTS - 50
    assert summary["per_phase"]["finetune"]["m0"] > 0  # fine-tuning wrote the kept weights
    assert summary["per_phase"]["train"]["pruned"] == 0
    assert summary["per_phase"]["prune"]["m0"] == 0  # a removal is not a write

    # global magnitude: every kept weight was at least as large as every pruned one
    before = torch.cat([w.abs().reshape(-1) for w in rec.before_prune[0]["w"]])
    kept = torch.cat([s.mask.reshape(-1) for s in weight_groups(learner)])
    assert before[kept].min() >= before[~kept].max()
    # pruned synapses stayed exactly zero through fine-tuning; biases were never pruned
    for s in weight_groups(learner):
        assert torch.all(s.w.detach()[~s.mask] == 0)
    for layer in learner.model.layers:
        assert layer.bias.n_existing == layer.bias.n_total


@pytest.mark.parametrize("loop", [fit, stream])
def test_iterative_rounds_fall_geometrically_to_budget(loop):
    x, y = toy_data()
    learner = build(epochs=5, finetune_epochs=1, prune_steps=3, budget=50)
    rec = Recorder(learner)
    loop(learner, x, y, epochs=5)
    # rounds at the starts of epochs 3, 4 and 5 (after 24, 36, 48 steps)
    assert [r["step"] for r in rec.before_prune] == [24, 36, 48]
    after_rounds = [rec.existing_after_step[s] for s in (24, 36, 48)]
    assert after_rounds == [112, 75, 50]  # 168·(50/168)^(1/3), then 112·(50/112)^(1/2), 50
    assert learner.ledger.summary()["pruned"] == N_WEIGHTS - 50
    assert n_nonzero(learner) == 50


@pytest.mark.parametrize("loop", [fit, stream])
def test_epoch_length_found_with_a_short_last_batch(loop):
    x, y = toy_data(n=90)  # 11 full batches of 8 and one of 2
    learner = build(epochs=3, finetune_epochs=1, budget=30)
    rec = Recorder(learner)
    loop(learner, x, y, epochs=3)
    assert [r["step"] for r in rec.before_prune] == [24]
    assert n_existing(learner) == 30


def test_no_pruning_when_budget_covers_every_weight():
    x, y = toy_data()
    learner = build(epochs=3, budget=N_WEIGHTS)
    fit(learner, x, y, epochs=3)
    assert n_existing(learner) == N_WEIGHTS
    assert learner.ledger.summary()["pruned"] == 0


def test_state_round_trip_prunes_at_the_same_step():
    """Resume from the learner's state mid-run; pruning happens at the same point."""
    x, y = toy_data(n=48)  # 6 steps per epoch
    for cut in (3, 9, 13):  # mid epoch 1, mid epoch 2, mid epoch 3 (after the pruning)
        reference, first = (build(epochs=3, budget=40) for _ in range(2))
        resumed = None
        steps = [(e, b) for e in range(3) for b in range(6)]
        for i, (e, b) in enumerate(steps):
            idx = epoch_order(48, 0, e)[b * 8 : (b + 1) * 8]
            if i == cut:
                resumed = build(epochs=3, budget=40)
                resumed.load_state_dict(first.state_dict())
                resumed.ledger.load_state_dict(first.ledger.state_dict())
            for learner in (reference, resumed if i >= cut else first):
                learner.train_step(x[idx], y[idx])
                if b == 5:
                    learner.on_epoch_end(e)
        for a, b in zip(reference.synapses(), resumed.synapses()):
            assert torch.equal(a.w.detach(), b.w.detach()) and torch.equal(a.mask, b.mask)
        assert resumed.ledger.summary()["pruned"] == reference.ledger.summary()["pruned"]
        assert n_existing(resumed) == 40


def test_magnitude_prune_by_hand():
    a = Synapses("a", torch.tensor([[0.5, -0.1], [0.0, 0.3]]), ledger=Ledger())
    b = Synapses("b", torch.tensor([-0.3, 0.2, 0.05]), ledger=Ledger())
    removed = magnitude_prune([a, b], keep=3)
    # |w| ranking: 0.5, 0.3 (a, first on ties), 0.3 (b), 0.2, 0.1, 0.05, 0
    assert removed == 4
    assert a.mask.tolist() == [[True, False], [False, True]]
    assert b.mask.tolist() == [True, False, False]
    assert magnitude_prune([a, b], keep=3) == 0  # already at the budget
    assert magnitude_prune([a, b], keep=10) == 0
    with pytest.raises(ParameterError):
        magnitude_prune([a, b], keep=-1)


def test_parameters_bounds_and_consistency():
    p = PrunedBackpropParams()
    assert (p.budget, p.finetune_epochs, p.prune_steps, p.epochs) == (25_000, 1, 1, 20)
    with pytest.raises(ParameterError, match="'budget'"):
        build_params(PrunedBackpropParams, {"budget": "0"}, "pruned-backprop")
    with pytest.raises(ParameterError, match="'finetune_epochs' must be smaller than epochs"):
        build_params(PrunedBackpropParams, {"epochs": "3", "finetune_epochs": "3"}, "p")
    with pytest.raises(ParameterError, match="'prune_steps' must be at most"):
        build_params(PrunedBackpropParams, {"epochs": "4", "prune_steps": "4"}, "p")
    # quick mode lowers epochs after validation: the builder catches what no longer fits
    params = PrunedBackpropParams(epochs=10, finetune_epochs=2, prune_steps=3)
    params.epochs = 3
    ctx = BuildContext(4, 2, (3,), Ledger(), torch.Generator(), torch.device("cpu"))
    with pytest.raises(ParameterError, match="epochs >= finetune_epochs \\+ prune_steps"):
        PrunedBackpropLearner(ctx, params)


def test_result_record_counts_budget_plus_biases(tmp_path, monkeypatch):
    from neuroplastic.runs import Experiment, run_method
    from neuroplastic.store import RunStore

    monkeypatch.setenv("NEUROPLASTIC_HOME", str(tmp_path))
    x, y = toy_data()
    xv, yv = toy_data(n=32, seed=1)
    data = DataSplits(Split(x, y), Split(xv, yv), Split(xv, yv), list(range(N_CLASSES)))
    exp = Experiment(hidden=list(HIDDEN), device="cpu", progress=False)
    overrides = {"epochs": 3, "batch_size": 8, "budget": 60}
    with RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}") as store:
        record = run_method("pruned-backprop", overrides, exp, store, data=data)
    n_biases = 12 + 4
    assert record.ledger.pruned == N_WEIGHTS - 60
    assert record.synapses_total == record.synapses_nonsilent == 60 + n_biases
    assert record.synapses_dense == N_WEIGHTS + n_biases
    assert json.loads(record.model_dump_json())["params"]["budget"] == 60
