"""Alembic environment for the ``alembic`` command line (drafting a new revision).

The store itself never runs this file: :func:`neuroplastic.store.migrate.upgrade_store` drives
the migrations on an open connection. Here the database is ``$NEUROPLASTIC_STORE`` (or the
default store), as :func:`neuroplastic.paths.store_url` resolves it.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from neuroplastic.paths import store_url
from neuroplastic.store.schema import metadata

url = context.config.get_main_option("sqlalchemy.url") or store_url()
if context.is_offline_mode():
    context.configure(url=url, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
