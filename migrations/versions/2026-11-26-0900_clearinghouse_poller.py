"""clearinghouse poller cursor and unrouted files

Revision ID: e4d0f0b8d004
Revises: d3c0e0a7c003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e4d0f0b8d004"
down_revision: str | None = "d3c0e0a7c003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clearinghouse_files",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("file_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tenants", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_clearinghouse_files")),
        sa.UniqueConstraint("source", "file_id", name=op.f("uq_clearinghouse_files_source")),
    )


def downgrade() -> None:
    op.drop_table("clearinghouse_files")
