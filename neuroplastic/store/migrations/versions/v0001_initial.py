"""The schema of neuroplastic 0.1.0: runs, metrics, results.

Stores written before migrations existed hold exactly these tables and no ``alembic_version``;
every statement here is ``IF NOT EXISTS``, so upgrading such a store from the base creates
nothing, loses nothing and records this revision.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create runs, metrics and results (and their indexes) where missing."""
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("method", sa.String(128), nullable=False),
        sa.Column("dataset", sa.String(128), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("code_version", sa.String(128), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("checkpoint", sa.String(1024), nullable=True),
        sa.Column("params_hash", sa.String(64), nullable=False),
        if_not_exists=True,
    )
    op.create_index("ix_runs_params_hash", "runs", ["params_hash"], if_not_exists=True)
    op.create_index("ix_runs_status_host", "runs", ["status", "host"], if_not_exists=True)
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey("runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("samples_seen", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        if_not_exists=True,
    )
    op.create_index("ix_metrics_run_id", "metrics", ["run_id"], if_not_exists=True)
    op.create_table(
        "results",
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey("runs.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("record", sa.JSON(), nullable=False),
        if_not_exists=True,
    )


def downgrade() -> None:
    """Drop the three tables (everything stored is lost)."""
    op.drop_table("results")
    op.drop_index("ix_metrics_run_id", table_name="metrics")
    op.drop_table("metrics")
    op.drop_index("ix_runs_status_host", table_name="runs")
    op.drop_index("ix_runs_params_hash", table_name="runs")
    op.drop_table("runs")
