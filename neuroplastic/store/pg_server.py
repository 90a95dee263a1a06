"""A throw-away PostgreSQL server on a loopback port, for tests and benchmarks.

:class:`LocalPostgres` runs Debian's ``initdb`` and ``pg_ctl`` (package ``postgresql``, installed
by ``scripts/install_postgres.sh``) in a new temporary directory, listening on 127.0.0.1 only,
trust authentication, ``fsync`` off (a test server: durability is not what is measured). As
root, where ``initdb`` refuses to run, the server runs as the ``postgres`` system user.

>>> with LocalPostgres() as pg:  # doctest: +SKIP
...     store = RunStore(pg.url)
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from neuroplastic.errors import StoreError

__all__ = ["LocalPostgres", "find_pg_bin"]


def find_pg_bin() -> Path | None:
    """Directory holding ``initdb`` and ``pg_ctl`` (newest Debian version first), or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for directory in candidates:
        if (Path(directory) / "initdb").is_file() and (Path(directory) / "pg_ctl").is_file():
            return Path(directory)
    initdb = shutil.which("initdb")
    if initdb is not None and shutil.which("pg_ctl") is not None:
        return Path(os.path.realpath(initdb)).parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalPostgres:
    """Start a PostgreSQL server in a temporary directory; stop and delete it on exit."""

    def __init__(self, bin_dir: Path | None = None) -> None:
        found = bin_dir or find_pg_bin()
        if found is None:
            raise StoreError(
                "PostgreSQL server binaries (initdb, pg_ctl) not found; "
                "run scripts/install_postgres.sh (Debian package postgresql)"
            )
        self.bin_dir = found
        self.port = 0
        self.root = Path()
        self._user: str | None = None

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the server's ``postgres`` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _cmd(self, *args: str) -> list[str]:
        if self._user is None:
            return list(args)
        return ["runuser", "-u", self._user, "--", *args]

    def _run(self, *args: str) -> None:
        proc = subprocess.run(self._cmd(*args), capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            detail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
            raise StoreError(f"{Path(args[0]).name} failed: {detail[-1] if detail else '?'}")

    def start(self) -> LocalPostgres:
        """initdb + pg_ctl start on a free loopback port (waits until it accepts connections)."""
        self.root = Path(tempfile.mkdtemp(prefix="neuroplastic-pg-"))
        if os.geteuid() == 0:  # initdb refuses root
            self._user = "postgres"
            shutil.chown(self.root, user="postgres")
        data = self.root / "data"
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        self.port = _free_port()
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        return self

    def stop(self) -> None:
        """Stop the server and delete its directory."""
        if not self.root.parts:
            return
        data = self.root / "data"
        if (data / "postmaster.pid").exists():
            subprocess.run(
                self._cmd(str(self.bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"),
                capture_output=True,
                check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = Path()

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
