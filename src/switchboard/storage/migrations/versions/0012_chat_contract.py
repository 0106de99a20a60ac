"""Chat 2025-03-15: thread metadata and retention policy, participant metadata.

``expires_ms`` (creation + deleteThreadAfterDays) is indexed for the retention sweeper.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_threads") as batch:
        batch.add_column(sa.Column("metadata", sa.Text, nullable=True))
        batch.add_column(sa.Column("retention", sa.Text, nullable=True))
        batch.add_column(sa.Column("expires_ms", sa.BigInteger, nullable=True))
    op.create_index("ix_chat_threads_expires", "chat_threads", ["expires_ms"])
    with op.batch_alter_table("chat_participants") as batch:
        batch.add_column(sa.Column("metadata", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_participants") as batch:
        batch.drop_column("metadata")
    op.drop_index("ix_chat_threads_expires", "chat_threads")
    with op.batch_alter_table("chat_threads") as batch:
        batch.drop_column("expires_ms")
        batch.drop_column("retention")
        batch.drop_column("metadata")
