"""claims remittances denials appeals

Revision ID: d3c0e0a7c003
Revises: c2b0d0f6b002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d3c0e0a7c003"
down_revision: str | None = "c2b0d0f6b002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("patients", sa.Column("address_line", sa.Text(), nullable=True))
    op.add_column("patients", sa.Column("city", sa.Text(), nullable=True))
    op.add_column("patients", sa.Column("state", sa.String(length=2), nullable=True))
    op.add_column("patients", sa.Column("postal_code", sa.String(length=10), nullable=True))
    op.create_table(
        "code_table_versions",
        sa.Column("table_name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column(
            "loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("table_name", name=op.f("pk_code_table_versions")),
    )
    op.create_table(
        "mue_limits",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("limit", sa.Integer(), nullable=False),
        sa.Column("adjudication_indicator", sa.String(length=1), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mue_limits")),
    )
    op.create_index(op.f("ix_mue_limits_code"), "mue_limits", ["code"], unique=False)
    op.create_index(op.f("ix_mue_limits_version"), "mue_limits", ["version"], unique=False)
    op.create_table(
        "ptp_edits",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("column1", sa.String(length=5), nullable=False),
        sa.Column("column2", sa.String(length=5), nullable=False),
        sa.Column("modifier_indicator", sa.String(length=1), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ptp_edits")),
    )
    op.create_index("ix_ptp_edits_pair", "ptp_edits", ["column1", "column2"], unique=False)
    op.create_index(op.f("ix_ptp_edits_version"), "ptp_edits", ["version"], unique=False)
    op.create_table(
        "fee_schedule",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("payer_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("modifier", sa.String(length=2), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_fee_schedule_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_schedule")),
    )
    op.create_index(op.f("ix_fee_schedule_tenant_id"), "fee_schedule", ["tenant_id"], unique=False)
    op.create_table(
        "inbound_files",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_inbound_files_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_files")),
        sa.UniqueConstraint("tenant_id", "kind", "sha256", name=op.f("uq_inbound_files_tenant_id")),
    )
    op.create_index(
        op.f("ix_inbound_files_tenant_id"), "inbound_files", ["tenant_id"], unique=False
    )
    op.create_table(
        "claims",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("control_number", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payer_id", sa.String(length=64), nullable=True),
        sa.Column("payer_name", sa.Text(), nullable=True),
        sa.Column("total_charge_cents", sa.BigInteger(), nullable=False),
        sa.Column("expected_cents", sa.BigInteger(), nullable=True),
        sa.Column("paid_cents", sa.BigInteger(), nullable=True),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("x12", sa.Text(), nullable=False),
        sa.Column("submission_id", sa.String(length=128), nullable=True),
        sa.Column("ack_999", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejection", sa.Text(), nullable=True),
        sa.Column("filed", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"], ["encounters.id"], name=op.f("fk_claims_encounter_id_encounters")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_claims_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
        sa.UniqueConstraint("control_number", name=op.f("uq_claims_control_number")),
    )
    op.create_index(op.f("ix_claims_encounter_id"), "claims", ["encounter_id"], unique=False)
    op.create_index(op.f("ix_claims_tenant_id"), "claims", ["tenant_id"], unique=False)
    op.create_table(
        "scrub_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("run_no", sa.Integer(), nullable=False),
        sa.Column("edits", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("checks_ran", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("checks_skipped", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("table_versions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("hard_count", sa.Integer(), nullable=False),
        sa.Column("soft_count", sa.Integer(), nullable=False),
        sa.Column("acknowledgments", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"], ["encounters.id"], name=op.f("fk_scrub_runs_encounter_id_encounters")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_scrub_runs_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scrub_runs")),
        sa.UniqueConstraint("encounter_id", "run_no", name=op.f("uq_scrub_runs_encounter_id")),
    )
    op.create_index(
        op.f("ix_scrub_runs_encounter_id"), "scrub_runs", ["encounter_id"], unique=False
    )
    op.create_index(op.f("ix_scrub_runs_tenant_id"), "scrub_runs", ["tenant_id"], unique=False)
    op.create_table(
        "payments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("file_id", sa.Uuid(), nullable=False),
        sa.Column("claim_id", sa.Uuid(), nullable=True),
        sa.Column("control_number", sa.String(length=38), nullable=False),
        sa.Column("status_code", sa.String(length=4), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("charge_cents", sa.BigInteger(), nullable=False),
        sa.Column("paid_cents", sa.BigInteger(), nullable=False),
        sa.Column("patient_responsibility_cents", sa.BigInteger(), nullable=False),
        sa.Column("expected_cents", sa.BigInteger(), nullable=True),
        sa.Column("variance_cents", sa.BigInteger(), nullable=True),
        sa.Column("payer_claim_number", sa.String(length=64), nullable=True),
        sa.Column("adjustments", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("remarks", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_payments_claim_id_claims")
        ),
        sa.ForeignKeyConstraint(
            ["file_id"], ["inbound_files.id"], name=op.f("fk_payments_file_id_inbound_files")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_payments_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index(op.f("ix_payments_claim_id"), "payments", ["claim_id"], unique=False)
    op.create_index(op.f("ix_payments_file_id"), "payments", ["file_id"], unique=False)
    op.create_index(op.f("ix_payments_tenant_id"), "payments", ["tenant_id"], unique=False)
    op.create_table(
        "denials",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("claim_id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("group_code", sa.String(length=2), nullable=False),
        sa.Column("carc", sa.String(length=8), nullable=False),
        sa.Column("rarcs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("line_index", sa.Integer(), nullable=True),
        sa.Column("payer_id", sa.String(length=64), nullable=True),
        sa.Column("appealable", sa.Boolean(), nullable=False),
        sa.Column("not_appealable_reason", sa.Text(), nullable=True),
        sa.Column("notice_date", sa.Date(), nullable=False),
        sa.Column("appeal_deadline", sa.Date(), nullable=True),
        sa.Column("work_queue", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_denials_claim_id_claims")
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"], ["encounters.id"], name=op.f("fk_denials_encounter_id_encounters")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_denials_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_denials_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_denials")),
    )
    op.create_index(op.f("ix_denials_claim_id"), "denials", ["claim_id"], unique=False)
    op.create_index(op.f("ix_denials_encounter_id"), "denials", ["encounter_id"], unique=False)
    op.create_index(op.f("ix_denials_tenant_id"), "denials", ["tenant_id"], unique=False)
    op.create_table(
        "appeals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("denial_id", sa.Uuid(), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("reason_sha256", sa.String(length=64), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("filed_by", sa.String(length=128), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("recovered_cents", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["denial_id"], ["denials.id"], name=op.f("fk_appeals_denial_id_denials")
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"], ["encounters.id"], name=op.f("fk_appeals_encounter_id_encounters")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_appeals_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
    )
    op.create_index(op.f("ix_appeals_denial_id"), "appeals", ["denial_id"], unique=False)
    op.create_index(op.f("ix_appeals_encounter_id"), "appeals", ["encounter_id"], unique=False)
    op.create_index(op.f("ix_appeals_tenant_id"), "appeals", ["tenant_id"], unique=False)
    op.create_index(
        "uq_appeals_one_open_per_denial",
        "appeals",
        ["denial_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )


def downgrade() -> None:
    for column in ("address_line", "city", "state", "postal_code"):
        op.drop_column("patients", column)
    op.drop_index(
        "uq_appeals_one_open_per_denial",
        table_name="appeals",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_index(op.f("ix_appeals_tenant_id"), table_name="appeals")
    op.drop_index(op.f("ix_appeals_encounter_id"), table_name="appeals")
    op.drop_index(op.f("ix_appeals_denial_id"), table_name="appeals")
    op.drop_table("appeals")
    op.drop_index(op.f("ix_denials_tenant_id"), table_name="denials")
    op.drop_index(op.f("ix_denials_encounter_id"), table_name="denials")
    op.drop_index(op.f("ix_denials_claim_id"), table_name="denials")
    op.drop_table("denials")
    op.drop_index(op.f("ix_payments_tenant_id"), table_name="payments")
    op.drop_index(op.f("ix_payments_file_id"), table_name="payments")
    op.drop_index(op.f("ix_payments_claim_id"), table_name="payments")
    op.drop_table("payments")
    op.drop_index(op.f("ix_scrub_runs_tenant_id"), table_name="scrub_runs")
    op.drop_index(op.f("ix_scrub_runs_encounter_id"), table_name="scrub_runs")
    op.drop_table("scrub_runs")
    op.drop_index(op.f("ix_claims_tenant_id"), table_name="claims")
    op.drop_index(op.f("ix_claims_encounter_id"), table_name="claims")
    op.drop_table("claims")
    op.drop_index(op.f("ix_inbound_files_tenant_id"), table_name="inbound_files")
    op.drop_table("inbound_files")
    op.drop_index(op.f("ix_fee_schedule_tenant_id"), table_name="fee_schedule")
    op.drop_table("fee_schedule")
    op.drop_index(op.f("ix_ptp_edits_version"), table_name="ptp_edits")
    op.drop_index("ix_ptp_edits_pair", table_name="ptp_edits")
    op.drop_table("ptp_edits")
    op.drop_index(op.f("ix_mue_limits_version"), table_name="mue_limits")
    op.drop_index(op.f("ix_mue_limits_code"), table_name="mue_limits")
    op.drop_table("mue_limits")
    op.drop_table("code_table_versions")
