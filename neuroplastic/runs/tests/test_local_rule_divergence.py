"""A local rule whose update becomes non-finite ends its run ``diverged`` in the store, with the
step, and writes no NaN: not into the weights, not into the stored metrics or a result."""

from __future__ import annotations

import math

import pytest
import torch

from neuroplastic.data import DataSplits
from neuroplastic.data.mnist import Split
from neuroplastic.errors import DivergedError
from neuroplastic.runs import run_method


def test_a_diverging_hebbian_run_is_stored_as_diverged_with_its_step(toy_exp, toy_data, store):
    huge = DataSplits(
        Split(toy_data.train.x * 1e30, toy_data.train.y),  # Hebbian growth overflows float32
        toy_data.val,
        toy_data.test,
        toy_data.classes,
        dataset="blobs-huge",
    )
    settings = {"epochs": 1, "batch_size": 20, "eta": 1.0, "decay": 0.0, "readout": "nlms"}
    with pytest.raises(DivergedError, match=r"diverged at step \d+") as info:
        run_method("hebb", settings, toy_exp, store, data=huge)
    assert info.value.step >= 1
    run = store.get_run(1)
    assert run.status == "diverged"
    assert f"step {info.value.step}" in (run.error or "")
    assert store.get_result(1) is None
    assert all(math.isfinite(m.value) for m in store.get_metrics(1))


def test_the_adam_readout_stays_finite_on_a_huge_code(toy_exp, toy_data, store):
    """The Adam readout normalises the code by its running RMS: a code near 1e29 (whose square overflows) trains."""
    big = DataSplits(
        Split(toy_data.train.x * 1e6, toy_data.train.y),
        toy_data.val,
        toy_data.test,
        toy_data.classes,
        dataset="blobs-big",
    )
    settings = {"epochs": 1, "batch_size": 20, "code_power": 4.5, "unsupervised_epochs": 0}
    record = run_method("bcm", settings, toy_exp, store, data=big)
    assert record.run_id == 1 and store.get_run(1).status == "finished"
    assert torch.isfinite(torch.tensor([m.value for m in store.get_metrics(1)])).all()
