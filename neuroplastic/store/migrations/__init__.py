"""Alembic migrations of the run store (``versions/`` holds one file per schema revision).

Stores are upgraded on open by :func:`neuroplastic.store.migrate.upgrade_store`; nobody needs
to run ``alembic`` by hand. To change the schema: edit :mod:`neuroplastic.store.schema`, then
add a revision file ``versions/vNNNN_<what>.py`` whose ``down_revision`` is the current head
(``alembic -c neuroplastic/store/alembic.ini revision --autogenerate -m "what"`` drafts one
against ``$NEUROPLASTIC_STORE``). ``neuroplastic/store/tests/test_migrations.py`` fails while
the head revision and ``schema.py`` disagree.
"""
