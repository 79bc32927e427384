"""evidence: a QA chain per chart, ledger entries name their chain, keyed receipts of rows written outside a projection

Revision ID: a17e0c0d0001
Revises: a16b0c0d0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a17e0c0d0001"
down_revision: str | None = "a16b0c0d0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = postgresql.JSONB(astext_type=sa.Text())


def upgrade() -> None:
    op.create_table(
        "qa_chain_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("vendor", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("before", _JSON, nullable=False),
        sa.Column("after", _JSON, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("facts", _JSON, nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_qa_chain_events_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_chain_events")),
        sa.UniqueConstraint("encounter_id", "seq", name=op.f("uq_qa_chain_events_encounter_id")),
    )
    op.create_index("ix_qa_chain_events_tenant_id", "qa_chain_events", ["tenant_id"], unique=False)
    op.create_table(
        "evidence_receipts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("section", sa.String(length=16), nullable=False),
        sa.Column("row_key", sa.String(length=80), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_evidence_receipts_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_receipts")),
    )
    op.create_index("ix_evidence_receipts_encounter", "evidence_receipts", ["encounter_id", "id"], unique=False)
    op.add_column("audit_ledger", sa.Column("chain", sa.String(length=16), nullable=True))
    for table in ("qa_chain_events", "evidence_receipts"):
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )


def downgrade() -> None:
    for table in ("qa_chain_events", "evidence_receipts"):
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.drop_column("audit_ledger", "chain")
    op.drop_index("ix_evidence_receipts_encounter", table_name="evidence_receipts")
    op.drop_table("evidence_receipts")
    op.drop_index("ix_qa_chain_events_tenant_id", table_name="qa_chain_events")
    op.drop_table("qa_chain_events")
