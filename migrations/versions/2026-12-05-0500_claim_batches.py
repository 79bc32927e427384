"""claims go out in batches: one interchange per tenant and payer, 999/TA1 answers per batch;
the encounter's service facility (837P loop 2310C)

Revision ID: a17p0c0d0001
Revises: a17f0c0d0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a17p0c0d0001"
down_revision: str | None = "a17f0c0d0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE claim_interchange_numbers MAXVALUE 999999999 CYCLE")
    op.create_table(
        "claim_batches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("payer_id", sa.String(length=64), nullable=True),
        sa.Column("interchange_number", sa.BigInteger(), nullable=False),
        sa.Column("batch_name", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claim_count", sa.Integer(), nullable=False),
        sa.Column("x12", sa.Text(), nullable=False),
        sa.Column("submission_id", sa.String(length=128), nullable=True),
        sa.Column("ack_999", sa.Text(), nullable=True),
        sa.Column("ta1", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_claim_batches_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_batches")),
        sa.UniqueConstraint("batch_name", name=op.f("uq_claim_batches_batch_name")),
    )
    op.create_index(op.f("ix_claim_batches_tenant_id"), "claim_batches", ["tenant_id"])
    op.create_index(op.f("ix_claim_batches_interchange_number"), "claim_batches", ["interchange_number"])
    op.add_column("claims", sa.Column("batch_id", sa.Uuid(), nullable=True))
    op.add_column("claims", sa.Column("transaction_control", sa.String(length=9), nullable=True))
    op.add_column("claims", sa.Column("syntax_ack", sa.String(length=16), nullable=True))
    op.add_column("claims", sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key(op.f("fk_claims_batch_id_claim_batches"), "claims", "claim_batches", ["batch_id"], ["id"])
    op.create_index(op.f("ix_claims_batch_id"), "claims", ["batch_id"])
    op.add_column("encounters", sa.Column("service_facility", postgresql.JSONB(astext_type=sa.Text()), nullable=True))


def downgrade() -> None:
    op.drop_column("encounters", "service_facility")
    op.drop_index(op.f("ix_claims_batch_id"), table_name="claims")
    op.drop_constraint(op.f("fk_claims_batch_id_claim_batches"), "claims", type_="foreignkey")
    for column in ("queued_at", "syntax_ack", "transaction_control", "batch_id"):
        op.drop_column("claims", column)
    op.drop_index(op.f("ix_claim_batches_interchange_number"), table_name="claim_batches")
    op.drop_index(op.f("ix_claim_batches_tenant_id"), table_name="claim_batches")
    op.drop_table("claim_batches")
    op.execute("DROP SEQUENCE claim_interchange_numbers")
