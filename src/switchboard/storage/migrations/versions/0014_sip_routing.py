"""SIP routing: trunks (ACS's fields and our own settings) and routes, under one revision.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sip_routing_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("revision", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "sip_trunks",
        sa.Column("fqdn", sa.String(249), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("sip_signaling_port", sa.Integer, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
    )
    op.create_table(
        "sip_routes",
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("description", sa.String(1024), nullable=True),
        sa.Column("number_pattern", sa.String(1024), nullable=False),
        sa.Column("trunks", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sip_routes")
    op.drop_table("sip_trunks")
    op.drop_table("sip_routing_state")
