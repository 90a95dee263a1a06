"""Fetch MNIST if needed and split it as the run's settings say (quick mode: small subsets)."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from neuroplastic.data import DataSplits, fetch_mnist, load_splits
from neuroplastic.runs.settings import QUICK_TEST, QUICK_TRAIN, QUICK_VAL, Experiment


def load_data(exp: Experiment, console: Console | None = None) -> DataSplits:
    """Fetch MNIST if needed, then split it as the experiment says."""
    directory = fetch_mnist(exp.data_dir, progress=console.print if console else None)
    kwargs: dict[str, Any] = {"classes": exp.classes, "seed": exp.seed, "val_size": exp.val_size}
    if exp.quick:
        kwargs.update(val_size=QUICK_VAL, train_limit=QUICK_TRAIN, test_limit=QUICK_TEST)
    return load_splits(directory, verify=False, **kwargs)  # fetch_mnist just verified
