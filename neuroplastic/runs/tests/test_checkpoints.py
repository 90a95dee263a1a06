"""Checkpoints belong to their store and run; a refused resume says so and changes nothing;
a finished run's checkpoint is deleted unless kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from neuroplastic.checkpoint import load_checkpoint
from neuroplastic.errors import CheckpointError
from neuroplastic.runs import run_method
from neuroplastic.store import RunStore
from neuroplastic.train import Trainer

SETTINGS = {"epochs": 3, "batch_size": 20}  # 120 samples a epoch: 360 in all


@pytest.fixture
def toy_exp(toy_exp):
    toy_exp.eval_every = 40  # an evaluation and a checkpoint every two batches
    return toy_exp


def interrupt_after_checkpoints(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """Make the next run stop like Ctrl-C right after its ``n``-th checkpoint."""
    original = Trainer._checkpoint
    written = []

    def checkpoint_then_interrupt(self: Trainer) -> None:
        original(self)
        written.append(self.outcome.samples_seen)
        if len(written) == n:
            raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "_checkpoint", checkpoint_then_interrupt)


def interrupted_run(store, toy_exp, toy_data, monkeypatch) -> Path:
    """Run 1 of ``store``, interrupted after its checkpoint at 80 samples; its checkpoint."""
    with monkeypatch.context() as patch:
        interrupt_after_checkpoints(patch, 2)
        with pytest.raises(KeyboardInterrupt):
            run_method("backprop", SETTINGS, toy_exp, store, data=toy_data)
    run = store.get_run(1)
    assert run.status == "interrupted" and run.checkpoint is not None
    return Path(run.checkpoint)


def test_two_stores_with_a_run_1_each_keep_and_resume_their_own(
    toy_exp, toy_data, tmp_path, home, monkeypatch
):
    with RunStore(tmp_path / "a.sqlite") as a, RunStore(tmp_path / "b.sqlite") as b:
        ckpt_a = interrupted_run(a, toy_exp, toy_data, monkeypatch)
        assert load_checkpoint(ckpt_a)["outcome"]["samples_seen"] == 80

        # the same run, to the end, in another store whose first run is run 1 too
        rec_b = run_method("backprop", SETTINGS, toy_exp, b, data=toy_data, keep_checkpoint=True)
        assert rec_b.run_id == 1 and rec_b.samples_seen == 360
        ckpt_b = Path(b.get_run(1).checkpoint or "")
        assert ckpt_b.is_file() and ckpt_b != ckpt_a
        assert home in ckpt_a.parents and home in ckpt_b.parents
        # store a's checkpoint is untouched: still its own run at 80 samples
        assert load_checkpoint(ckpt_a)["outcome"]["samples_seen"] == 80

        rec_a = run_method("backprop", SETTINGS, toy_exp, a, data=toy_data, resume=True)
        assert rec_a.run_id == 1 and a.get_run(1).status == "finished"
        assert rec_a.provenance is not None and rec_a.provenance.resumed_at is not None
        # resumed from its own 80 samples, it ends exactly where the uninterrupted run ended
        assert rec_a.samples_seen == 360
        assert rec_a.test_accuracy == rec_b.test_accuracy
        assert rec_a.ledger.m0 == rec_b.ledger.m0 and rec_a.ledger.m1 == rec_b.ledger.m1


@pytest.mark.parametrize("how", ["missing", "foreign store", "old, without owner"])
def test_a_refused_resume_says_why_and_leaves_the_run_as_it_was(
    how, toy_exp, toy_data, tmp_path, home, monkeypatch
):
    with RunStore(tmp_path / "a.sqlite") as a, RunStore(tmp_path / "b.sqlite") as b:
        ckpt_a = interrupted_run(a, toy_exp, toy_data, monkeypatch)
        before = a.get_run(1)
        if how == "missing":
            ckpt_a.unlink()
            expected = "missing"
        elif how == "foreign store":
            interrupted_run(b, toy_exp, toy_data, monkeypatch)
            shutil.copy(b.get_run(1).checkpoint or "", ckpt_a)
            expected = "belongs to b-"
        else:
            state = load_checkpoint(ckpt_a)
            del state["owner"]
            import torch

            torch.save(state, ckpt_a)
            expected = "does not say which store and run"
        with pytest.raises(CheckpointError) as caught:
            run_method("backprop", SETTINGS, toy_exp, a, data=toy_data, resume=True)
        message = str(caught.value)
        assert "\n" not in message and expected in message
        assert message.startswith("cannot resume backprop run 1") and "stays interrupted" in message
        after = a.get_run(1)
        assert (after.status, after.error, after.ended_at) == (
            before.status,
            before.error,
            before.ended_at,
        )
        assert a.get_result(1) is None


def test_a_finished_runs_checkpoint_is_deleted_unless_kept(toy_exp, toy_data, store, home):
    run_method("backprop", SETTINGS, toy_exp, store, data=toy_data)
    assert store.get_run(1).checkpoint is None
    assert not list(home.rglob("*.pt"))
    run_method("backprop", SETTINGS, toy_exp, store, data=toy_data, keep_checkpoint=True)
    kept = store.get_run(2).checkpoint
    assert kept is not None and Path(kept).is_file()
    assert [p for p in home.rglob("*.pt")] == [Path(kept)]
    assert Path(kept) == store.checkpoint_path(2)


def test_a_named_experiment_checkpoints_under_its_store_and_run(tmp_path, home):
    """run_experiment hands the experiment the store's path for the run, and deletes the
    checkpoint when the run finished."""
    from pydantic import BaseModel

    from neuroplastic.experiments.registry import (
        ExperimentContext,
        ExperimentOutput,
        NamedExperiment,
    )
    from neuroplastic.runs import run_experiment

    class NoParams(BaseModel):
        pass

    seen: list[Path] = []

    def checkpointing(params: NoParams, ctx: ExperimentContext) -> ExperimentOutput:
        assert ctx.checkpoint_path is not None
        ctx.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        ctx.checkpoint_path.write_bytes(b"state")
        seen.append(ctx.checkpoint_path)
        return ExperimentOutput(payload={"ok": True})

    named = NamedExperiment("checkpointing", NoParams, checkpointing, "writes a checkpoint")
    ctx = ExperimentContext(device="cpu")
    with RunStore(tmp_path / "a.sqlite") as a, RunStore(tmp_path / "b.sqlite") as b:
        run_experiment(named, NoParams(), ctx, a)
        run_experiment(named, NoParams(), ctx, b)
        assert seen == [a.checkpoint_path(1), b.checkpoint_path(1)] and seen[0] != seen[1]
        assert all(home in p.parents for p in seen)
        assert not any(p.exists() for p in seen)  # deleted once finished
        assert a.get_run(1).checkpoint is None and a.get_run(1).status == "finished"
