"""queue counters kept by a trigger on encounters, so queue statistics cost O(queues); an index
for the dashboards' date window; each tenant's audit ledger head in a row of its own

Revision ID: a17f0c0d0001
Revises: a17e0c0d0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a17f0c0d0001"
down_revision: str | None = "a17e0c0d0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Charts per (tenant, queue, status, overdue), split over 16 shards by chart id so concurrent
# projections of different charts of one queue rarely update the same counter row.
FUNCTION = """
CREATE FUNCTION encounters_queue_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.queue_id IS NOT NULL THEN
        IF TG_OP = 'UPDATE' AND OLD.queue_id IS NOT DISTINCT FROM NEW.queue_id
           AND OLD.status IS NOT DISTINCT FROM NEW.status AND OLD.overdue IS NOT DISTINCT FROM NEW.overdue
           AND OLD.tenant_id IS NOT DISTINCT FROM NEW.tenant_id THEN
            RETURN NULL;
        END IF;
        UPDATE queue_counts SET n = n - 1
         WHERE tenant_id = OLD.tenant_id AND queue_id = OLD.queue_id AND status = OLD.status
           AND overdue = coalesce(OLD.overdue, false) AND shard = abs(hashtext(OLD.id::text)) % 16;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.queue_id IS NOT NULL THEN
        INSERT INTO queue_counts AS c (tenant_id, queue_id, status, overdue, shard, n)
        VALUES (NEW.tenant_id, NEW.queue_id, NEW.status, coalesce(NEW.overdue, false), abs(hashtext(NEW.id::text)) % 16, 1)
        ON CONFLICT (tenant_id, queue_id, status, overdue, shard) DO UPDATE SET n = c.n + 1;
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "queue_counts",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("queue_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "queue_id", "status", "overdue", "shard"),
    )
    op.execute(FUNCTION)
    op.execute(
        "CREATE TRIGGER encounters_queue_counts AFTER INSERT OR DELETE OR UPDATE OF tenant_id, queue_id, status, overdue "
        "ON encounters FOR EACH ROW EXECUTE FUNCTION encounters_queue_counts()"
    )
    op.execute(
        """
        INSERT INTO queue_counts (tenant_id, queue_id, status, overdue, shard, n)
        SELECT tenant_id, queue_id, status, coalesce(overdue, false), abs(hashtext(id::text)) % 16, count(*)
          FROM encounters WHERE queue_id IS NOT NULL GROUP BY 1, 2, 3, 4, 5
        """
    )
    # The dashboards' window (charts received between two dates), counted and joined index-only.
    op.create_index("ix_encounters_received", "encounters", ["tenant_id", "received_at", "id"])
    # Each tenant's ledger head: appending locks this row instead of an advisory lock + a read.
    op.create_table(
        "audit_ledger_heads",
        sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.execute(
        "INSERT INTO audit_ledger_heads (tenant_id, seq, hash) "
        "SELECT DISTINCT ON (tenant_id) tenant_id, seq, hash FROM audit_ledger ORDER BY tenant_id, seq DESC"
    )


def downgrade() -> None:
    op.drop_table("audit_ledger_heads")
    op.drop_index("ix_encounters_received", table_name="encounters")
    op.execute("DROP TRIGGER encounters_queue_counts ON encounters")
    op.execute("DROP FUNCTION encounters_queue_counts()")
    op.drop_table("queue_counts")
