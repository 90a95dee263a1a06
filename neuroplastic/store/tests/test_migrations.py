"""Schema by migrations: new, pre-migration, current and newer stores (SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from neuroplastic.errors import StoreError
from neuroplastic.store import RunStore, migrate
from neuroplastic.store.schema import metadata

FIXTURES = Path(__file__).parent / "fixtures"
PRE_MIGRATION_STORE = FIXTURES / "records_v0.1.0.sqlite"
CURRENT_STORE = FIXTURES / "store_r0002.sqlite"
"""Written by this code at revision 0002 (a run, two metric steps, a result, a sweep row)."""


def _diff(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return migrate.store_revision(conn)
    finally:
        engine.dispose()


def _dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


def test_the_head_revision_creates_exactly_the_tables_of_schema_py(tmp_path):
    """Fails when schema.py changes without a migration (or a migration without schema.py)."""
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    RunStore(url).close()
    assert _revision(url) == migrate.head_revision()
    assert _diff(url) == [], "schema.py and migrations/versions disagree: add a migration"


def test_the_head_revision_matches_schema_py_on_postgresql(new_postgres_db):
    url = new_postgres_db()
    RunStore(url).close()
    assert _revision(url) == migrate.head_revision()
    assert _diff(url) == [], "schema.py and migrations/versions disagree: add a migration"


def test_a_pre_migration_store_is_upgraded_in_place_keeping_its_runs(tmp_path):
    path = tmp_path / "old.sqlite"
    shutil.copy(PRE_MIGRATION_STORE, path)
    url = f"sqlite:///{path}"
    assert _revision(url) is None
    with RunStore(url) as store:
        assert store.count_runs() == 3
        assert store.get_result(1) is not None
    assert _revision(url) == migrate.head_revision()
    assert _diff(url) == []
    assert {"sweeps", "sweep_runs"} <= set(inspect(create_engine(url)).get_table_names())


def test_a_store_written_by_the_current_version_opens(tmp_path):
    path = tmp_path / "current.sqlite"
    shutil.copy(CURRENT_STORE, path)
    with RunStore(f"sqlite:///{path}") as store:
        run = store.get_run(1)
        assert (run.method, run.seed, run.status) == ("backprop", 3, "finished")
        assert sorted((m.samples_seen, m.name, m.value) for m in store.get_metrics(1)) == [
            (1000, "m1", 12.5),
            (1000, "val_accuracy", 0.5),
            (2000, "m1", 20.0),
            (2000, "val_accuracy", 0.75),
        ]
        assert store.get_result(1) == {"method": "backprop", "test_accuracy": 0.8}
    assert _revision(f"sqlite:///{path}") == migrate.head_revision()


def test_a_store_newer_than_the_code_is_refused_and_left_unchanged(tmp_path):
    path = tmp_path / "newer.sqlite"
    shutil.copy(CURRENT_STORE, path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    before = _dump(path)
    with pytest.raises(StoreError, match=r"revision '9999', newer than this neuroplastic"):
        RunStore(f"sqlite:///{path}")
    assert _dump(path) == before  # every table and row as it was (opening may switch it to WAL)


def test_a_newer_postgresql_store_is_refused_and_left_unchanged(new_postgres_db):
    url = new_postgres_db()
    RunStore(url).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff'")
    with pytest.raises(StoreError, match="newer than this neuroplastic"):
        RunStore(url)
    assert _revision(url) == "ffff"
    assert set(inspect(engine).get_table_names()) >= {"runs", "sweep_runs"}
    engine.dispose()


def test_a_failed_upgrade_leaves_a_new_sqlite_store_empty(tmp_path, monkeypatch):
    """The upgrade runs in one transaction: a failure half-way writes nothing."""
    real_upgrade = migrate._upgrade

    def upgrade_then_fail(conn):
        real_upgrade(conn)  # tables created inside the transaction ...
        raise RuntimeError("power cut")  # ... then the process fails before commit

    monkeypatch.setattr(migrate, "_upgrade", upgrade_then_fail)
    url = f"sqlite:///{tmp_path / 'half.sqlite'}"
    with pytest.raises(StoreError, match="power cut"):
        RunStore(url)
    assert inspect(create_engine(url)).get_table_names() == []
    monkeypatch.setattr(migrate, "_upgrade", real_upgrade)
    with RunStore(url) as store:
        assert store.count_runs() == 0
