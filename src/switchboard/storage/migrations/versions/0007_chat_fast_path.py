"""Chat write path: a roster version per thread, so a send can reuse a cached participant list.

``chat_threads.roster_version`` is bumped in the transaction that adds or removes
participants. A writer that reads the thread row (locked) and finds the version it cached the
roster at skips reading the participants (chat/transaction.py).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_threads") as batch:
        batch.add_column(
            sa.Column("roster_version", sa.BigInteger, nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("chat_threads") as batch:
        batch.drop_column("roster_version")
