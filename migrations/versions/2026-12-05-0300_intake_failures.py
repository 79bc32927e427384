"""inbound messages record why their intake failed

Revision ID: a12b0c0d0001
Revises: a11a0c0d0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a12b0c0d0001"
down_revision: str | None = "a11a0c0d0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("inbound_messages", sa.Column("failure", sa.Text(), nullable=True))
    op.add_column("inbound_messages", sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("inbound_messages", "failed_at")
    op.drop_column("inbound_messages", "failure")
