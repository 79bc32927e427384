"""Blind QA review: an auditor must not see a chart's codes before submitting their own."""

import uuid

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.access import Principal
from models.qa_tables import QaAudit, QaAuditChart, QaReview


async def blind_pending(session: AsyncSession, who: Principal, encounter_id: uuid.UUID) -> bool:
    """True while a blind, open audit holds this chart and this auditor has not submitted a review."""
    if who.role != "auditor":
        return False
    submitted = exists().where(QaReview.audit_chart_id == QaAuditChart.id, QaReview.auditor_id == who.user_id)
    stmt = (
        select(QaAuditChart.id)
        .join(QaAudit, QaAudit.id == QaAuditChart.audit_id)
        .where(
            QaAuditChart.tenant_id == who.tenant_id,
            QaAuditChart.encounter_id == encounter_id,
            QaAudit.blind.is_(True),
            QaAudit.status == "open",
            ~submitted,
        )
        .limit(1)
    )
    return await session.scalar(stmt) is not None
