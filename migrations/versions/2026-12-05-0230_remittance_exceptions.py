"""remittance exceptions work queue, poller heartbeat, the sandbox clearinghouse mailbox, the
per-tenant payer table and the Coverage member id on encounters

Revision ID: a10b0c0d0001
Revises: f5e0a0c9e005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a10b0c0d0001"
down_revision: str | None = "f5e0a0c9e005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONB = postgresql.JSONB(astext_type=sa.Text())


def upgrade() -> None:
    op.create_table(
        "payers",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("payer_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("x12_payer_id", sa.String(length=80), nullable=False),
        sa.Column("filing_indicator", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_payers_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "payer_id", name=op.f("pk_payers")),
    )
    op.add_column("encounters", sa.Column("member_id", sa.String(length=80), nullable=True))
    op.add_column("encounters", sa.Column("subscriber_relationship", sa.String(length=16), nullable=True))
    op.add_column("encounters", sa.Column("subscriber", JSONB, nullable=True))
    op.add_column("encounters", sa.Column("practitioner", JSONB, nullable=True))
    op.create_table(
        "remittance_exceptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("file_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("control_number", sa.String(length=38), nullable=False),
        sa.Column("claim_id", sa.Uuid(), nullable=True),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("facts", JSONB, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.String(length=128), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_remittance_exceptions_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["file_id"], ["inbound_files.id"], name=op.f("fk_remittance_exceptions_file_id_inbound_files")),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_remittance_exceptions_claim_id_claims")),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_remittance_exceptions_payment_id_payments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remittance_exceptions")),
        sa.UniqueConstraint("file_id", "position", "reason", name=op.f("uq_remittance_exceptions_file_id")),
    )
    op.create_index(op.f("ix_remittance_exceptions_tenant_id"), "remittance_exceptions", ["tenant_id"])
    op.create_index(op.f("ix_remittance_exceptions_file_id"), "remittance_exceptions", ["file_id"])
    op.create_index(op.f("ix_remittance_exceptions_claim_id"), "remittance_exceptions", ["claim_id"])
    op.create_index(
        "ix_remittance_exceptions_open", "remittance_exceptions", ["tenant_id", "status"],
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "clearinghouse_poller_status",
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("files_failed", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_clearinghouse_poller_status")),
    )
    op.create_table(
        "sandbox_clearinghouse_files",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_sandbox_clearinghouse_files")),
    )
    op.create_table(
        "sandbox_clearinghouse_submissions",
        sa.Column("batch_name", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("receipt", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("batch_name", name=op.f("pk_sandbox_clearinghouse_submissions")),
    )
    op.execute("CREATE SEQUENCE sandbox_clearinghouse_numbers")
    op.create_table(
        "sandbox_clearinghouse_scripts",
        sa.Column("control_number", sa.String(length=38), nullable=False),
        sa.Column("script", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("control_number", name=op.f("pk_sandbox_clearinghouse_scripts")),
    )


def downgrade() -> None:
    op.drop_column("encounters", "practitioner")
    op.drop_column("encounters", "subscriber")
    op.drop_column("encounters", "subscriber_relationship")
    op.drop_column("encounters", "member_id")
    op.drop_table("payers")
    op.drop_table("sandbox_clearinghouse_scripts")
    op.execute("DROP SEQUENCE sandbox_clearinghouse_numbers")
    op.drop_table("sandbox_clearinghouse_submissions")
    op.drop_table("sandbox_clearinghouse_files")
    op.drop_table("clearinghouse_poller_status")
    op.drop_index("ix_remittance_exceptions_open", table_name="remittance_exceptions")
    op.drop_table("remittance_exceptions")
