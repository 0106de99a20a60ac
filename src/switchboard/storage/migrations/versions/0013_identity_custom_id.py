"""Identity: customId (the app's own key for a user) and when a token was last issued, as
api-version 2025-03-02-preview answers them.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.add_column(sa.Column("custom_id", sa.String(256), nullable=True))
        batch.add_column(sa.Column("last_token_issued_ms", sa.BigInteger, nullable=True))
    op.create_index("ux_identities_custom_id", "identities", ["custom_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_identities_custom_id", table_name="identities")
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("last_token_issued_ms")
        batch.drop_column("custom_id")
