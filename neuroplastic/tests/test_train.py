"""The training loop: exact resume after a crash, early stop at a target, checkpoints."""

import pytest
import torch

from neuroplastic.checkpoint import load_checkpoint, save_checkpoint
from neuroplastic.energy.ledger import Ledger
from neuroplastic.errors import CheckpointError
from neuroplastic.methods import BuildContext, get_method
from neuroplastic.train import LoopSettings, Trainer, epoch_order


def toy_data(n=240, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(3, 20, generator=g) * 2
    y = torch.randint(0, 3, (n,), generator=g)
    x = centers[y] + torch.randn(n, 20, generator=g)
    return x, y


def make_learner(method="backprop", **overrides):
    m = get_method(method)
    ctx = BuildContext(
        20, 3, (16,), Ledger(), torch.Generator().manual_seed(1), torch.device("cpu")
    )
    return m.build(ctx, m.params_model(**overrides))


class Crash(Exception):
    pass


@pytest.mark.parametrize("method", ["backprop", "random-projection"])
def test_resume_after_crash_equals_uninterrupted_run(tmp_path, method):
    x, y = toy_data()
    xv, yv = toy_data(60, seed=1)
    settings = LoopSettings(epochs=3, batch_size=16, seed=5, eval_every=50)
    params = {"optimizer": "sgd", "momentum": 0.9, "lr": 0.05} if method == "backprop" else {}

    reference = make_learner(method, **params)
    Trainer(reference, settings).fit(x, y, xv, yv)

    calls = {"n": 0}

    def crash_on_fourth_eval(point):
        calls["n"] += 1
        if calls["n"] == 4:
            raise Crash

    ckpt = tmp_path / "run.pt"
    first = make_learner(method, **params)
    with pytest.raises(Crash):
        Trainer(
            first, settings, checkpoint_path=ckpt, signature="sig", on_eval=crash_on_fourth_eval
        ).fit(x, y, xv, yv)
    resumed = make_learner(method, **params)
    trainer = Trainer(resumed, settings, checkpoint_path=ckpt, signature="sig")
    assert trainer.resume()
    assert 0 < trainer.outcome.samples_seen < 3 * 240
    outcome = trainer.fit(x, y, xv, yv)
    assert outcome.samples_seen == 3 * 240
    for a, b in zip(reference.synapses(), resumed.synapses()):
        torch.testing.assert_close(a.w.detach(), b.w.detach())
    assert resumed.ledger.counts().m0 == reference.ledger.counts().m0
    assert resumed.ledger.counts().m1 == pytest.approx(reference.ledger.counts().m1)


def test_early_stop_records_samples_and_ledger_at_target():
    x, y = toy_data()
    learner = make_learner("backprop", optimizer="sgd", lr=0.1)
    settings = LoopSettings(epochs=50, batch_size=8, eval_every=40, target_accuracy=0.9)
    outcome = Trainer(learner, settings).fit(x, y, x, y)
    assert outcome.samples_to_target is not None
    assert outcome.samples_seen == outcome.samples_to_target < 50 * 240
    assert outcome.curve[-1].val_accuracy >= 0.9
    assert all(p.val_accuracy < 0.9 for p in outcome.curve[:-1])
    assert outcome.ledger_at_target["m0"] == learner.ledger.counts().m0 > 0


def test_epoch_order_is_a_seeded_permutation():
    a = epoch_order(100, seed=3, epoch=2)
    assert torch.equal(a, epoch_order(100, seed=3, epoch=2))
    assert not torch.equal(a, epoch_order(100, seed=3, epoch=1))
    assert torch.equal(a.sort().values, torch.arange(100))


def test_checkpoint_errors_name_the_file(tmp_path):
    path = tmp_path / "c.pt"
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"c\.pt is unreadable"):
        load_checkpoint(path)
    save_checkpoint(path, {"signature": "a"})
    with pytest.raises(CheckpointError, match="another configuration"):
        load_checkpoint(path, expect_signature="b")
    assert load_checkpoint(path, expect_signature="a")["signature"] == "a"
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temp files left behind


def test_progress_in_a_log_is_one_plain_line_per_evaluation(capsys):
    x, y = toy_data()
    xv, yv = toy_data(60, seed=1)
    settings = LoopSettings(epochs=2, batch_size=16, seed=5, eval_every=120)
    Trainer(make_learner(), settings, progress=True).fit(x, y, xv, yv)  # stderr is captured
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 4  # 2 epochs x 240 samples / 120
    assert lines[-1].startswith("progress: 30/30 batches (100%), val ")
    assert all("\x1b" not in line and "\r" not in line for line in lines)  # no live bar codes
