"""The four MNIST files: their names, checksums, where they live, and verification."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from neuroplastic import paths
from neuroplastic.errors import DataError

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
#: The uncompressed MNIST files, in the order train images/labels, test images/labels.
MNIST_FILES: tuple[str, ...] = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

#: Name of the per-dataset subdirectory of the data directory.
MNIST_SUBDIR = "mnist"

_CHECKSUM_RESOURCE = "mnist.sha256"


def mnist_checksums() -> dict[str, str]:
    """SHA-256 of each uncompressed MNIST file, read from the shipped ``mnist.sha256``."""
    text = resources.files("neuroplastic.data").joinpath(_CHECKSUM_RESOURCE).read_text("ascii")
    table: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        digest, _, name = line.strip().partition(" ")
        name = name.strip().lstrip("*")
        if len(digest) != 64 or not name:
            raise DataError(f"{_CHECKSUM_RESOURCE} line {number}: malformed entry {line!r}")
        table[name] = digest.lower()
    missing = [name for name in MNIST_FILES if name not in table]
    if missing:
        raise DataError(f"{_CHECKSUM_RESOURCE}: no checksum for {', '.join(missing)}")
    return table


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 digest of a file's contents."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def has_all_files(directory: str | os.PathLike[str], names: tuple[str, ...] = MNIST_FILES) -> bool:
    """Whether ``directory`` directly contains every file in ``names``."""
    directory = Path(directory)
    return all((directory / name).is_file() for name in names)


def mnist_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Directory holding the MNIST files for ``data_dir`` (or ``$NEUROPLASTIC_DATA``).

    If the data directory itself directly contains the four files, that directory is
    used as is; otherwise its ``mnist`` subdirectory.
    """
    base = paths.data_dir(data_dir)
    return base if has_all_files(base) else base / MNIST_SUBDIR


def verify_mnist(
    directory: str | os.PathLike[str], *, checksums: Mapping[str, str] | None = None
) -> None:
    """Check every MNIST file in ``directory`` against its SHA-256.

    Raises :class:`DataError` naming the first file that is missing or whose checksum is
    wrong. ``checksums`` (file name -> hex digest) defaults to :func:`mnist_checksums`.
    """
    table = mnist_checksums() if checksums is None else checksums
    directory = Path(directory)
    for name, expected in table.items():
        path = directory / name
        if not path.is_file():
            raise DataError(f"{path}: MNIST file is missing")
        actual = sha256_file(path)
        if actual != expected.lower():
            raise DataError(
                f"{path}: checksum mismatch: expected sha256 {expected.lower()}, got {actual}"
            )
