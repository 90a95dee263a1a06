"""A real PostgreSQL server for the store tests, started once per test session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import count

import pytest

from neuroplastic.errors import StoreError
from neuroplastic.store.pg_server import LocalPostgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgres]:
    """Debian's PostgreSQL on a loopback port in a temporary directory (skipped if not installed)."""
    try:
        server = LocalPostgres()
    except StoreError as exc:
        pytest.skip(f"no PostgreSQL server: {exc}")
    try:
        server.start()
    except StoreError as exc:
        server.stop()
        pytest.skip(f"PostgreSQL server could not start: {exc}")
    yield server
    server.stop()


@pytest.fixture
def new_postgres_db(postgres_server: LocalPostgres) -> Callable[[], str]:
    """A factory of new, empty databases on the session's server; returns their URLs."""
    from sqlalchemy import create_engine, text

    numbers = count()
    admin = create_engine(postgres_server.url, isolation_level="AUTOCOMMIT")

    def make() -> str:
        name = f"t{id(make):x}_{next(numbers)}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return postgres_server.url.rsplit("/", 1)[0] + f"/{name}"

    yield make  # type: ignore[misc]
    admin.dispose()
