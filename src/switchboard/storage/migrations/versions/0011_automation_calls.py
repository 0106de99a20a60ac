"""Call Automation: call connections, readable on every node (the owner node runs the call).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "automation_call_connections",
        sa.Column("call_connection_id", sa.String(64), primary_key=True),
        sa.Column("server_call_id", sa.String(200), nullable=False),
        sa.Column("owner_node", sa.String(100), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("properties", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_automation_calls_server_call", "automation_call_connections", ["server_call_id"]
    )
    op.create_index(
        "ix_automation_calls_state_updated",
        "automation_call_connections",
        ["state", "updated_ms"],
    )


def downgrade() -> None:
    op.drop_table("automation_call_connections")
