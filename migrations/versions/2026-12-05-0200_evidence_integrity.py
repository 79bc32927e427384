"""evidence integrity: facts and key id on audit events, per-tenant ledger of chain heads

Revision ID: a11a0c0d0001
Revises: a10b0c0d0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a11a0c0d0001"
down_revision: str | None = "a10b0c0d0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("facts", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("audit_events", sa.Column("key_id", sa.String(length=32), nullable=True))
    op.create_table(
        "audit_ledger",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_audit_ledger_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_ledger")),
        sa.UniqueConstraint("tenant_id", "seq", name=op.f("uq_audit_ledger_tenant_id")),
    )
    op.create_index("ix_audit_ledger_encounter", "audit_ledger", ["encounter_id", "seq"], unique=False)
    # The ledger is evidence too: the same append-only guard as audit_events.
    op.execute(
        "CREATE TRIGGER audit_ledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON audit_ledger FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_ledger_append_only ON audit_ledger")
    op.drop_index("ix_audit_ledger_encounter", table_name="audit_ledger")
    op.drop_table("audit_ledger")
    op.drop_column("audit_events", "key_id")
    op.drop_column("audit_events", "facts")
