"""Audit cycles as the QA report, coaching and the quality dashboard read them: each audit with
its charts, reviews and findings, oldest first, scoped to what the caller may read."""

from models.qa.report import CycleData
from models.repositories.qa_audits import AuditRepository


async def audit_cycles(repo: AuditRepository, upto: int | None = None) -> list[CycleData]:
    """Every audit up to cycle `upto` (all when None)."""
    audits = await repo.audits(upto_cycle=upto)
    charts = await repo.charts([a.id for a in audits])
    reviews = await repo.reviews([c.id for c in charts])
    findings = await repo.findings([a.id for a in audits])
    return [
        CycleData(a, [c for c in charts if c.audit_id == a.id], reviews, [f for f in findings if f.audit_id == a.id])
        for a in audits
    ]
