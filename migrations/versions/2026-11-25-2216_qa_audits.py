"""QA audit program

Revision ID: c2b0d0f6b002
Revises: b1a0c0e5a001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c2b0d0f6b002"
down_revision: str | None = "b1a0c0e5a001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONB = postgresql.JSONB(astext_type=sa.Text())
TZ = sa.DateTime(timezone=True)


def _tenant(table: str) -> tuple[sa.Column, sa.ForeignKeyConstraint]:  # type: ignore[type-arg]
    return (
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants"),
    )


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "qa_audits",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("qa_audits"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("timing", sa.String(length=16), nullable=False),
        sa.Column("blind", sa.Boolean(), nullable=False),
        sa.Column("plan", JSONB, nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("frame", JSONB, nullable=False),
        sa.Column("frame_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("frame_size", sa.Integer(), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("per_stratum", JSONB, nullable=False),
        sa.Column("encounter_ids", JSONB, nullable=False),
        sa.Column("double_review_share", sa.Float(), nullable=False),
        sa.Column("pass_threshold", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", TZ, server_default=sa.text("now()"), nullable=False),
        sa.Column("closed_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_qa_audits"),
        sa.UniqueConstraint("tenant_id", "cycle", name="uq_qa_audits_tenant_id"),
    )
    op.create_index("ix_qa_audits_tenant_id", "qa_audits", ["tenant_id"])

    op.create_table(
        "qa_audit_charts",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("qa_audit_charts"),
        sa.Column("audit_id", sa.Uuid(), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("coder_id", sa.String(length=128), nullable=False),
        sa.Column("vendor_id", sa.String(length=64), nullable=True),
        sa.Column("specialty", sa.String(length=64), nullable=False),
        sa.Column("payer_id", sa.String(length=64), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("stratum", sa.String(length=64), nullable=False),
        sa.Column("coder_codes", JSONB, nullable=False),
        sa.Column("double_review", sa.Boolean(), nullable=False),
        sa.Column("primary_auditor", sa.String(length=128), nullable=True),
        sa.Column("second_auditor", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        _fk("qa_audit_charts", "audit_id", "qa_audits"),
        _fk("qa_audit_charts", "encounter_id", "encounters"),
        sa.PrimaryKeyConstraint("id", name="pk_qa_audit_charts"),
        sa.UniqueConstraint("audit_id", "encounter_id", name="uq_qa_audit_charts_audit_id"),
    )
    for column in ("tenant_id", "audit_id", "encounter_id"):
        op.create_index(f"ix_qa_audit_charts_{column}", "qa_audit_charts", [column])

    op.create_table(
        "qa_reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("qa_reviews"),
        sa.Column("audit_chart_id", sa.Uuid(), nullable=False),
        sa.Column("auditor_id", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("codes", JSONB, nullable=False),
        sa.Column("lines_reviewed", sa.Integer(), nullable=False),
        sa.Column("submitted_at", TZ, nullable=False),
        _fk("qa_reviews", "audit_chart_id", "qa_audit_charts"),
        sa.PrimaryKeyConstraint("id", name="pk_qa_reviews"),
        sa.UniqueConstraint("audit_chart_id", "role", name="uq_qa_reviews_audit_chart_id"),
    )
    for column in ("tenant_id", "audit_chart_id"):
        op.create_index(f"ix_qa_reviews_{column}", "qa_reviews", [column])

    op.create_table(
        "qa_findings",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("qa_findings"),
        sa.Column("audit_id", sa.Uuid(), nullable=False),
        sa.Column("audit_chart_id", sa.Uuid(), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("coder_id", sa.String(length=128), nullable=False),
        sa.Column("vendor_id", sa.String(length=64), nullable=True),
        sa.Column("auditor_id", sa.String(length=128), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("code_type", sa.String(length=4), nullable=False),
        sa.Column("coder_code", sa.String(length=16), nullable=True),
        sa.Column("auditor_code", sa.String(length=16), nullable=True),
        sa.Column("financial_direction", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("reference_kind", sa.String(length=32), nullable=False),
        sa.Column("reference_citation", sa.Text(), nullable=False),
        sa.Column("reference_url", sa.Text(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("opened_at", TZ, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("resolved_at", TZ, nullable=True),
        sa.Column("events", JSONB, nullable=False),
        _fk("qa_findings", "audit_id", "qa_audits"),
        _fk("qa_findings", "audit_chart_id", "qa_audit_charts"),
        sa.PrimaryKeyConstraint("id", name="pk_qa_findings"),
    )
    for column in ("tenant_id", "audit_id", "coder_id"):
        op.create_index(f"ix_qa_findings_{column}", "qa_findings", [column])

    op.create_table(
        "qa_audit_holds",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("qa_audit_holds"),
        sa.Column("audit_id", sa.Uuid(), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("placed_at", TZ, server_default=sa.text("now()"), nullable=False),
        sa.Column("released_at", TZ, nullable=True),
        sa.Column("released_reason", sa.String(length=32), nullable=True),
        _fk("qa_audit_holds", "audit_id", "qa_audits"),
        _fk("qa_audit_holds", "encounter_id", "encounters"),
        sa.PrimaryKeyConstraint("id", name="pk_qa_audit_holds"),
        sa.UniqueConstraint("audit_id", "encounter_id", name="uq_qa_audit_holds_audit_id"),
    )
    for column in ("tenant_id", "encounter_id"):
        op.create_index(f"ix_qa_audit_holds_{column}", "qa_audit_holds", [column])

    op.create_table(
        "qa_education",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("qa_education"),
        sa.Column("coder_id", sa.String(length=128), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("audit_id", sa.Uuid(), nullable=True),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("assigned_by", sa.String(length=128), nullable=False),
        sa.Column("assigned_at", TZ, nullable=False),
        sa.Column("acknowledged_at", TZ, nullable=True),
        _fk("qa_education", "audit_id", "qa_audits"),
        sa.PrimaryKeyConstraint("id", name="pk_qa_education"),
    )
    for column in ("tenant_id", "coder_id"):
        op.create_index(f"ix_qa_education_{column}", "qa_education", [column])


def downgrade() -> None:
    for table in (
        "qa_education",
        "qa_audit_holds",
        "qa_findings",
        "qa_reviews",
        "qa_audit_charts",
        "qa_audits",
    ):
        op.drop_table(table)  # drops the table's indexes and constraints with it
