"""PHI access log

Revision ID: b1a0c0e5a001
Revises: cff2118037ce
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b1a0c0e5a001"
down_revision: str | None = "cff2118037ce"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "phi_access_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column("vendor_id", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=True),
        sa.Column("status_code", sa.SmallInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=256), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phi_access_log")),
    )
    op.create_index("ix_phi_access_log_tenant_time", "phi_access_log", ["tenant_id", "id"])
    op.create_index("ix_phi_access_log_encounter", "phi_access_log", ["encounter_id"])
    # Like audit_events: the record of who read PHI cannot be edited or removed by the app.
    op.execute(
        """
        CREATE FUNCTION phi_access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'phi_access_log is append-only: % refused', TG_OP;
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER phi_access_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON phi_access_log FOR EACH STATEMENT EXECUTE FUNCTION phi_access_log_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER phi_access_log_append_only ON phi_access_log")
    op.execute("DROP FUNCTION phi_access_log_append_only()")
    op.drop_index("ix_phi_access_log_encounter", table_name="phi_access_log")
    op.drop_index("ix_phi_access_log_tenant_time", table_name="phi_access_log")
    op.drop_table("phi_access_log")
