"""Small synthetic data and a private home/store, so run lifecycle tests need no MNIST."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from neuroplastic.data import DataSplits
from neuroplastic.data.mnist import Split
from neuroplastic.runs import Experiment
from neuroplastic.store import RunStore

N_CLASSES = 3
N_FEATURES = 8


def blobs(n: int, seed: int) -> Split:
    """``n`` samples of three well separated Gaussian blobs in 8 dimensions."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.eye(N_CLASSES, N_FEATURES) * 3.0
    y = torch.arange(n) % N_CLASSES
    x = centres[y] + 0.3 * torch.randn(n, N_FEATURES, generator=gen)
    return Split(x.float(), y.long())


@pytest.fixture
def toy_data() -> DataSplits:
    """Train 120, validation 60, test 60 samples; a linear readout separates them."""
    return DataSplits(
        blobs(120, 0), blobs(60, 1), blobs(60, 2), list(range(N_CLASSES)), dataset="blobs"
    )


@pytest.fixture
def toy_exp() -> Experiment:
    """A tiny network on the CPU, no progress bar."""
    return Experiment(hidden=[6], device="cpu", progress=False)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private ``NEUROPLASTIC_HOME`` (checkpoints go below it)."""
    path = tmp_path / "home"
    monkeypatch.setenv("NEUROPLASTIC_HOME", str(path))
    return path


@pytest.fixture
def store(home: Path, tmp_path: Path) -> Iterator[RunStore]:
    """An SQLite store of its own."""
    with RunStore(tmp_path / "runs.sqlite") as opened:
        yield opened
