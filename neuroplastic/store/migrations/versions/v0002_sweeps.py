"""Sweeps: a sweep's spec, and one row per configuration with its status and run.

``sweep_runs.config_key`` is SHA-256 of the configuration and the code version; one row per
(sweep, key), so re-running a sweep finds what is already finished.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create sweeps and sweep_runs."""
    op.create_table(
        "sweeps",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "sweep_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "sweep_id",
            sa.String(128),
            sa.ForeignKey("sweeps.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("config_key", sa.String(64), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("code_version", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey("runs.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("sweep_id", "config_key", name="uq_sweep_runs_key"),
    )
    op.create_index("ix_sweep_runs_sweep_id", "sweep_runs", ["sweep_id"])


def downgrade() -> None:
    """Drop sweep_runs and sweeps."""
    op.drop_index("ix_sweep_runs_sweep_id", table_name="sweep_runs")
    op.drop_table("sweep_runs")
    op.drop_table("sweeps")
