"""tenant policy versions; operator-loaded ICD-10-CM releases

Revision ID: a13b0c0d0001
Revises: a12b0c0d0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a13b0c0d0001"
down_revision: str | None = "a12b0c0d0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenant_policy_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("policy", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("changed", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_policy_versions_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_policy_versions")),
        sa.UniqueConstraint("tenant_id", "version", name=op.f("uq_tenant_policy_versions_tenant_id_version")),
    )
    op.create_index(op.f("ix_tenant_policy_versions_tenant_id"), "tenant_policy_versions", ["tenant_id"], unique=False)
    op.create_table(
        "icd10cm_releases",
        sa.Column("fiscal_year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("codes", sa.Integer(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("fiscal_year", name=op.f("pk_icd10cm_releases")),
    )
    op.create_table(
        "icd10cm_codes",
        sa.Column("fiscal_year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("billable", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("fiscal_year", "code", name=op.f("pk_icd10cm_codes")),
    )


def downgrade() -> None:
    op.drop_table("icd10cm_codes")
    op.drop_table("icd10cm_releases")
    op.drop_index(op.f("ix_tenant_policy_versions_tenant_id"), table_name="tenant_policy_versions")
    op.drop_table("tenant_policy_versions")
