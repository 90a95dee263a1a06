"""Parameter sets: the simulator's named configurations (one row per simulation and name).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create parameter_sets."""
    op.create_table(
        "parameter_sets",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("simulation", sa.String(128), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_run_id", sa.Integer(), nullable=True),
        sa.UniqueConstraint("simulation", "name", name="uq_parameter_sets_simulation_name"),
    )


def downgrade() -> None:
    """Drop parameter_sets."""
    op.drop_table("parameter_sets")
