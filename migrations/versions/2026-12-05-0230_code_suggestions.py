"""code suggestions (computer-assisted coding) with the coder's decision

Revision ID: a16b0c0d0001
Revises: a15b0c0d0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a16b0c0d0001"
down_revision: str | None = "a15b0c0d0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "code_suggestions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("matched_term", sa.Text(), nullable=False),
        sa.Column("spans", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("engine_version", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_vendor", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_code_suggestions_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_suggestions")),
        sa.UniqueConstraint("encounter_id", "engine_version", "code", name=op.f("uq_code_suggestions_encounter_id")),
    )
    op.create_index(op.f("ix_code_suggestions_encounter_id"), "code_suggestions", ["encounter_id"], unique=False)
    op.create_index(op.f("ix_code_suggestions_tenant_id"), "code_suggestions", ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_code_suggestions_tenant_id"), table_name="code_suggestions")
    op.drop_index(op.f("ix_code_suggestions_encounter_id"), table_name="code_suggestions")
    op.drop_table("code_suggestions")
