"""claim-next index; per-encounter progress of bundles taken in the background

Revision ID: a14b0c0d0001
Revises: a13b0c0d0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a14b0c0d0001"
down_revision: str | None = "a13b0c0d0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The claim's ORDER BY (priority DESC, received_at, id) read straight off a partial index of
    # ready charts: the first unlocked row is found without sorting the whole queue.
    op.create_index(
        "ix_encounters_next_ready",
        "encounters",
        ["tenant_id", "queue_id", sa.text("priority DESC"), "received_at", "id"],
        postgresql_where=sa.text("status = 'ready'"),
    )
    op.create_table(
        "inbound_items",
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("bundle_index", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("encounter_status", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["inbound_messages.id"], name=op.f("fk_inbound_items_message_id_inbound_messages")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_inbound_items_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("message_id", "bundle_index", name=op.f("pk_inbound_items")),
    )
    op.create_index(op.f("ix_inbound_items_tenant_id"), "inbound_items", ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_inbound_items_tenant_id"), table_name="inbound_items")
    op.drop_table("inbound_items")
    op.drop_index("ix_encounters_next_ready", table_name="encounters")
