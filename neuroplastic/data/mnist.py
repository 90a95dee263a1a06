"""Loading MNIST from its IDX files and cutting it into train / validation / test splits."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from neuroplastic.data.classes import parse_classes, validate_classes
from neuroplastic.data.idx import read_idx
from neuroplastic.data.mnist_files import (
    MNIST_FILES,
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    mnist_dir,
    verify_mnist,
)
from neuroplastic.errors import DataError, ParameterError, ShapeError

__all__ = [
    "DataSplits",
    "MnistArrays",
    "Split",
    "load_mnist",
    "load_splits",
    "make_splits",
    "parse_classes",
]

_N_DIGITS = 10


@dataclass(eq=False)
class MnistArrays:
    """The raw MNIST arrays: uint8 images ``(n, 28, 28)`` and uint8 labels ``(n,)``."""

    train_images: npt.NDArray[np.uint8]
    train_labels: npt.NDArray[np.uint8]
    test_images: npt.NDArray[np.uint8]
    test_labels: npt.NDArray[np.uint8]


@dataclass(eq=False)
class Split:
    """One split: ``x`` float32 ``(n, features)`` in [0, 1], ``y`` int64 labels 0..k-1."""

    x: torch.Tensor
    y: torch.Tensor

    def __post_init__(self) -> None:
        """Check that ``x`` and ``y`` have matching, sensible shapes and dtypes."""
        if self.x.ndim != 2 or self.y.ndim != 1 or self.x.shape[0] != self.y.shape[0]:
            raise ShapeError(
                f"Split needs x of shape (n, features) and y of shape (n,), got "
                f"{tuple(self.x.shape)} and {tuple(self.y.shape)}"
            )
        if self.x.dtype != torch.float32 or self.y.dtype != torch.int64:
            raise ShapeError(
                f"Split needs float32 x and int64 y, got {self.x.dtype} and {self.y.dtype}"
            )

    @property
    def n(self) -> int:
        """Number of examples."""
        return int(self.y.shape[0])


@dataclass(eq=False)
class DataSplits:
    """Train / validation / test splits; ``classes[i]`` is the digit behind label ``i``."""

    train: Split
    val: Split
    test: Split
    classes: list[int]
    dataset: str = "mnist"

    @property
    def n_features(self) -> int:
        """Length of one input vector (784 for MNIST)."""
        return int(self.train.x.shape[1])

    @property
    def n_classes(self) -> int:
        """Number of classes (output units)."""
        return len(self.classes)


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None, *, verify: bool = True
) -> MnistArrays:
    """Read the four MNIST files from the directory :func:`fetch_mnist` uses; never downloads.

    With ``verify`` the files' SHA-256 are checked first. Raises :class:`DataError` when
    files are missing (with how to fetch them), corrupt or inconsistent.
    """
    directory = mnist_dir(data_dir)
    missing = [name for name in MNIST_FILES if not (directory / name).is_file()]
    if missing:
        raise DataError(
            f"MNIST files not found in {directory} (missing: {', '.join(missing)}); run "
            "`neuroplastic data fetch mnist`, or set NEUROPLASTIC_DATA / --data-dir to a "
            "directory holding the four uncompressed IDX files"
        )
    if verify:
        verify_mnist(directory)
    train_images, train_labels = _read_pair(directory, TRAIN_IMAGES, TRAIN_LABELS)
    test_images, test_labels = _read_pair(directory, TEST_IMAGES, TEST_LABELS)
    if train_images.shape[1:] != test_images.shape[1:]:
        raise DataError(
            f"{directory / TRAIN_IMAGES} has images of shape {train_images.shape[1:]} but "
            f"{directory / TEST_IMAGES} has {test_images.shape[1:]}"
        )
    return MnistArrays(train_images, train_labels, test_images, test_labels)


def make_splits(
    arrays: MnistArrays,
    *,
    classes: Sequence[int] | None = None,
    val_size: int | float = 5000,
    seed: int = 0,
    train_limit: int | None = None,
    test_limit: int | None = None,
) -> DataSplits:
    """Cut ``arrays`` into train / validation / test :class:`Split` objects.

    Only ``classes`` (default all ten) are kept and relabelled 0..k-1 in sorted order.
    ``val_size`` examples (a count, or a fraction in (0, 1)) are drawn from the training
    set into the validation split. ``train_limit`` / ``test_limit`` then keep a random
    subset of the training / test split. Each random choice uses its own
    ``torch.Generator`` seeded with ``seed``, so the result is fully deterministic and
    the test subset does not depend on ``val_size`` or ``train_limit``.
    """
    chosen = validate_classes(classes)
    lookup = np.full(_N_DIGITS, -1, dtype=np.int64)
    lookup[chosen] = np.arange(len(chosen))

    pool = np.flatnonzero(np.isin(arrays.train_labels, chosen))
    if pool.size == 0:
        raise DataError(f"the training set has no examples of classes {chosen}")
    n_val = _resolve_val_size(val_size, pool.size)
    order = _permutation(pool.size, seed)
    val_idx = np.sort(pool[order[:n_val]])
    train_idx = np.sort(pool[order[n_val:]])
    train_idx = _limit(train_idx, train_limit, seed, "train_limit")

    test_idx = np.flatnonzero(np.isin(arrays.test_labels, chosen))
    test_idx = _limit(test_idx, test_limit, seed, "test_limit")

    return DataSplits(
        train=_split(arrays.train_images, arrays.train_labels, train_idx, lookup),
        val=_split(arrays.train_images, arrays.train_labels, val_idx, lookup),
        test=_split(arrays.test_images, arrays.test_labels, test_idx, lookup),
        classes=chosen,
    )


def load_splits(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    verify: bool = True,
    classes: Sequence[int] | None = None,
    val_size: int | float = 5000,
    seed: int = 0,
    train_limit: int | None = None,
    test_limit: int | None = None,
) -> DataSplits:
    """:func:`load_mnist` then :func:`make_splits` with the given options."""
    return make_splits(
        load_mnist(data_dir, verify=verify),
        classes=classes,
        val_size=val_size,
        seed=seed,
        train_limit=train_limit,
        test_limit=test_limit,
    )


def _read_pair(
    directory: Path, images_name: str, labels_name: str
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Read and cross-check one images file and its labels file."""
    images_path, labels_path = directory / images_name, directory / labels_name
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(
            f"{images_path}: expected 3-d uint8 images (n, rows, cols), got "
            f"{images.ndim}-d {images.dtype} of shape {images.shape}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DataError(
            f"{labels_path}: expected 1-d uint8 labels, got {labels.ndim}-d {labels.dtype}"
        )
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{images_path} has {images.shape[0]} images but {labels_path} has "
            f"{labels.shape[0]} labels"
        )
    if labels.size and int(labels.max()) >= _N_DIGITS:
        bad = sorted({int(v) for v in labels[labels >= _N_DIGITS]})
        raise DataError(f"{labels_path}: labels must lie in 0..9, found {bad[:10]}")
    return images.astype(np.uint8, copy=False), labels.astype(np.uint8, copy=False)


def _resolve_val_size(val_size: int | float, n: int) -> int:
    """Turn a count or a fraction into a validation count that leaves training data."""
    if isinstance(val_size, bool) or not isinstance(
        val_size, (int, float, np.integer, np.floating)
    ):
        raise ParameterError(f"val_size must be a count or a fraction, got {val_size!r}")
    if isinstance(val_size, (int, np.integer)):
        n_val = int(val_size)
        if n_val < 0:
            raise ParameterError(f"val_size must be >= 0, got {n_val}")
    else:
        if not 0.0 < float(val_size) < 1.0:
            raise ParameterError(f"a fractional val_size must lie in (0, 1), got {val_size}")
        n_val = round(float(val_size) * n)
    if n_val >= n:
        raise ParameterError(
            f"val_size={val_size} takes {n_val} of the {n} training examples and leaves "
            "none for training"
        )
    return n_val


def _limit(
    indices: npt.NDArray[np.intp], limit: int | None, seed: int, name: str
) -> npt.NDArray[np.intp]:
    """Keep a seeded random subset of at most ``limit`` indices (in their original order)."""
    if limit is None:
        return indices
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
        raise ParameterError(f"{name} must be a positive integer or None, got {limit!r}")
    if limit >= indices.size:
        return indices
    return np.sort(indices[_permutation(indices.size, seed)[: int(limit)]])


def _permutation(n: int, seed: int) -> npt.NDArray[np.int64]:
    """A random permutation of ``range(n)`` from a ``torch.Generator`` seeded with ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ParameterError(f"seed must be an integer, got {seed!r}")
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randperm(n, generator=generator).numpy()


def _split(
    images: npt.NDArray[np.uint8],
    labels: npt.NDArray[np.uint8],
    indices: npt.NDArray[np.intp],
    lookup: npt.NDArray[np.int64],
) -> Split:
    """Gather ``indices`` into a flattened, [0, 1]-scaled, relabelled :class:`Split`."""
    flat = images[indices].reshape(len(indices), int(np.prod(images.shape[1:])))
    x = torch.from_numpy(flat).to(torch.float32).div_(255.0)
    y = torch.from_numpy(lookup[labels[indices]])
    return Split(x=x, y=y)
