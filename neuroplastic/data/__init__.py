"""Datasets: the IDX format, fetching and verifying MNIST, and train/val/test splits."""

from __future__ import annotations

from neuroplastic.data.classes import parse_classes, validate_classes
from neuroplastic.data.download import Downloader, download_tarball
from neuroplastic.data.fetch import fetch_mnist
from neuroplastic.data.idx import read_idx, write_idx
from neuroplastic.data.mnist import (
    DataSplits,
    MnistArrays,
    Split,
    load_mnist,
    load_splits,
    make_splits,
)
from neuroplastic.data.mnist_files import MNIST_FILES, mnist_checksums, mnist_dir, verify_mnist

__all__ = [
    "MNIST_FILES",
    "DataSplits",
    "Downloader",
    "MnistArrays",
    "Split",
    "download_tarball",
    "fetch_mnist",
    "load_mnist",
    "load_splits",
    "make_splits",
    "mnist_checksums",
    "mnist_dir",
    "parse_classes",
    "read_idx",
    "validate_classes",
    "verify_mnist",
    "write_idx",
]
