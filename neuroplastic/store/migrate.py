"""Bring a store's schema to this code's revision (alembic), safely under concurrent opens.

:func:`upgrade_store` is called by :class:`~neuroplastic.store.RunStore` on every open:

- a store at this code's head revision: one read, nothing written (the common case);
- a new, empty database: every revision from the base (the tables are created);
- a store written before migrations existed (tables, no ``alembic_version``): upgraded from the
  base too; the initial revision is ``IF NOT EXISTS`` throughout, so it keeps every row and only
  records the revision;
- a store at an older revision: the missing revisions, in order;
- a store at a revision this code does not know (written by a newer neuroplastic): refused with
  :class:`~neuroplastic.errors.StoreError` before anything is written.

Upgrades are serialised between processes: on PostgreSQL by a transaction-scoped advisory lock
(DDL is transactional there, so a failed upgrade leaves nothing behind), on SQLite by taking the
write lock first (``BEGIN IMMEDIATE``; the busy timeout makes other openers wait). The revision
is read again under the lock, so of eight processes opening a new store at once one creates the
tables and the others find them at head.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from neuroplastic.errors import StoreError
from neuroplastic.store.schema import metadata

__all__ = ["MIGRATIONS_DIR", "SCHEMA_LOCK_KEY", "head_revision", "store_revision", "upgrade_store"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
"""Alembic's script directory (``env.py``, ``versions/``)."""

SCHEMA_LOCK_KEY = 0x6E70_5343  # "npSC"
"""PostgreSQL advisory lock id that serialises schema changes between processes."""


@functools.lru_cache(maxsize=1)
def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@functools.lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """The newest schema revision this code knows (e.g. ``"0002"``)."""
    head = _script().get_current_head()
    assert head is not None, "no migrations found"
    return head


def store_revision(conn: Connection) -> str | None:
    """The revision recorded in the store (None: no ``alembic_version``, new or pre-migration)."""
    heads = MigrationContext.configure(conn).get_current_heads()
    return heads[0] if heads else None


def _check_known(revision: str | None, where: str) -> None:
    if revision is None:
        return
    try:
        known = _script().get_revision(revision) is not None
    except Exception:  # alembic raises for an id it cannot resolve
        known = False
    if not known:
        raise StoreError(
            f"store {where} has schema revision {revision!r}, newer than this neuroplastic "
            f"knows (head {head_revision()!r}); upgrade neuroplastic to open it "
            "(the store was not changed)"
        )


def _upgrade(conn: Connection) -> None:
    """Run the missing revisions on ``conn`` (inside the caller's transaction)."""
    script = _script()

    def revisions(rev: Any, context: Any) -> Any:
        return script._upgrade_revs("head", rev)  # what `alembic upgrade head` runs

    with EnvironmentContext(_config(), script, fn=revisions, destination_rev="head") as env:
        env.configure(connection=conn, target_metadata=metadata)
        with env.begin_transaction():
            env.run_migrations()


def upgrade_store(engine: Engine, where: str) -> None:
    """Bring the store behind ``engine`` to :func:`head_revision`; ``where`` names it in errors."""
    head = head_revision()
    with engine.connect() as conn:
        current = store_revision(conn)
    if current == head:
        return
    _check_known(current, where)
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, before reading again
        elif conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        try:
            current = store_revision(conn)
            if current != head:
                _check_known(current, where)
                _upgrade(conn)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
