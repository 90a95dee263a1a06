"""Few-shot protocol on synthetic data: draws, bad shot counts, the rows."""

from __future__ import annotations

import pytest
import torch

from neuroplastic.energy.ledger import Ledger
from neuroplastic.errors import ParameterError
from neuroplastic.methods import BuildContext, get_method
from neuroplastic.metrics.few_shot import (
    FewShotSettings,
    backprop_fit,
    draw_examples,
    probe_fit,
    run_rows,
)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def blobs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Three classes of 16-pixel inputs, each brighter on its own third of the pixels."""
    g = gen(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.rand(n, 16, generator=g) * 0.6
    for c in range(3):
        x[y == c, c * 5 : c * 5 + 5] += 0.4
    return x, y


def test_draws_take_k_of_each_class_reproducibly() -> None:
    _, y = blobs(300, 0)
    idx = draw_examples(y, 3, 5, seed=7)
    assert torch.bincount(y[idx], minlength=3).tolist() == [5, 5, 5]
    assert torch.equal(idx, draw_examples(y, 3, 5, seed=7))
    assert not torch.equal(idx, draw_examples(y, 3, 5, seed=8))


def test_more_shots_than_examples_names_the_class() -> None:
    y = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2])
    with pytest.raises(
        ParameterError, match=r"3 shots per class exceed the 2 training examples of class 1"
    ):
        run_rows(torch.zeros(8, 4), y, 3, FewShotSettings(shots=[1, 3], draws=1), {})


def test_rows_learn_from_few_examples() -> None:
    x, y = blobs(600, 1)
    xt, yt = blobs(300, 2)
    s = FewShotSettings(shots=[1, 10], draws=3, probe_steps=50, backprop_steps=30)
    spec = get_method("random-projection")
    learner = spec.build(
        BuildContext(16, 3, (32,), Ledger(), gen(), torch.device("cpu")), spec.params_model()
    )
    rows = {
        "probe": probe_fit(learner, x, xt, yt, 3, s),
        "bp": backprop_fit((32,), 3, xt, yt, s),
        "bp-init": backprop_fit(
            (32,), 3, xt, yt, s, init_weights=learner.input_synapses().w.detach()
        ),
    }
    out = run_rows(x, y, 3, s, rows)
    for name, results in out.items():
        assert [r.shots for r in results] == [1, 10]
        assert all(len(r.accuracies) == 3 for r in results)
        assert results[-1].mean > 0.6, name  # well above chance (1/3) from 10 shots
        assert results[0].sd >= 0
