"""operator-loaded CARC/RARC root-cause table

Revision ID: f5e0a0c9e005
Revises: e4d0f0b8d004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f5e0a0c9e005"
down_revision: str | None = "e4d0f0b8d004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carc_codes",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("refinable", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carc_codes")),
    )
    op.create_index(op.f("ix_carc_codes_version"), "carc_codes", ["version"], unique=False)
    op.add_column("denials", sa.Column("cause_table_version", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("denials", "cause_table_version")
    op.drop_index(op.f("ix_carc_codes_version"), table_name="carc_codes")
    op.drop_table("carc_codes")
