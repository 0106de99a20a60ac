"""Foundation: resource secrets, signing keys, identities, repeatability, operations.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resource_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("private_pem", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("verify_until_ms", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "identities",
        sa.Column("id", sa.String(160), primary_key=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("deleted_ms", sa.BigInteger, nullable=True),
        sa.Column("tokens_revoked_ms", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "repeatable_responses",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_repeatable_responses_created", "repeatable_responses", ["created_ms"])
    op.create_table(
        "operations",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("resource_location", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("operations")
    op.drop_index("ix_repeatable_responses_created", "repeatable_responses")
    op.drop_table("repeatable_responses")
    op.drop_table("identities")
    op.drop_table("signing_keys")
    op.drop_table("resource_secrets")
