"""All QA audit SQL, scoped to the caller's tenant and, for coders and leads, to their own work.

The rules are pure (models.qa.sampling, models.qa.findings, models.qa.rules); this module loads rows,
applies a rule and stores its result. Nothing commits here: the request is the transaction.
Every write that touches a chart also seals an event on that chart's QA chain (models.repositories.qa_chain)
in the same transaction, so the evidence chain covers what the auditor found and what came of it.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.access import Principal
from models.encounters.tables import AuditEvent, Encounter
from models.errors import AccessDenied, InvalidRequest, NotVisible, StateConflict
from models.evidence.chain import Keyring
from models.qa.findings import (
    Finding,
    FindingEvent,
    FindingTransitionError,
    apply_event,
    compare_coding,
)
from models.qa.plan import (
    PRE_BILL,
    PRE_CODING,
    chart_coding,
    event_to_json,
    finding_of,
    frame_item,
    frame_to_json,
    plan_to_json,
    store_finding,
)
from models.qa.rules import Refusal, ReviewRole, ReviewSlot, review_role
from models.qa.sampling import (
    FrameItem,
    SamplingPlan,
    apply_filter,
    draw_sample,
    select_double_review,
    stratum_of,
)
from models.qa.tables import QaAudit, QaAuditChart, QaAuditHold, QaEducation, QaFinding, QaReview
from models.repositories.qa_chain import Actor, coached_charts, seal_qa_event


@dataclass(frozen=True)
class AuditOptions:
    name: str
    timing: str
    blind: bool
    double_review_share: float
    auditors: list[str]
    pass_threshold: float
    high_dollar_cents: int


def now() -> datetime:
    return datetime.now(UTC)


class AuditRepository:
    def __init__(self, session: AsyncSession, principal: Principal, keys: Keyring | None = None) -> None:
        self.session = session
        self.principal = principal
        self.tenant = principal.tenant_id
        self.released: list[uuid.UUID] = []
        self.keys = keys  # the chain keys: needed by every write, never by a read

    async def seal(
        self, encounter_id: uuid.UUID, action: str, before: dict[str, Any], after: dict[str, Any], reason: str | None = None
    ) -> None:
        """One event on the chart's QA chain, its facts read after this transaction's writes."""
        if self.keys is None:
            raise RuntimeError("a QA write needs the chain keys: construct AuditRepository with keys")
        who = Actor(self.principal.user_id, self.principal.role, self.principal.vendor_id)
        await seal_qa_event(
            self.session, self.keys, tenant_id=self.tenant, encounter_id=encounter_id, actor=who, action=action,
            before=before, after=after, reason=reason,
        )  # fmt: skip

    # ---- the frame and the sample ---------------------------------------------------------

    async def coded_charts(
        self, timing: str, high_dollar_cents: int
    ) -> list[tuple[FrameItem, dict[str, Any]]]:
        """Coded charts of the tenant with their coder (the latest 'submit_coding' actor)."""
        stmt = select(Encounter).where(
            Encounter.tenant_id == self.tenant,
            Encounter.status.not_in(PRE_CODING),
            Encounter.codes.is_not(None),
        )
        if timing == "prospective":
            stmt = stmt.where(Encounter.status.in_(PRE_BILL))
        encounters = (await self.session.scalars(stmt)).all()
        events = await self.session.execute(
            select(AuditEvent.encounter_id, AuditEvent.actor, AuditEvent.vendor)
            .where(AuditEvent.tenant_id == self.tenant, AuditEvent.action == "submit_coding")
            .order_by(AuditEvent.encounter_id, AuditEvent.seq)
        )
        coder = {row[0]: (row[1], row[2]) for row in events.all()}  # the last one wins
        return [
            (
                frame_item(
                    str(e.id),
                    coder=coder[e.id][0],
                    vendor=coder[e.id][1],
                    specialty=e.specialty,
                    payer=e.payer_id,
                    service_date=e.date_of_service or e.received_at.date(),
                    codes=e.codes,
                    charge_cents=e.charges_cents,
                    high_dollar_cents=high_dollar_cents,
                ),
                e.codes or {},
            )
            for e in encounters
            if e.id in coder
        ]

    async def frame(self, plan: SamplingPlan, opts: AuditOptions) -> list[FrameItem]:
        charts = await self.coded_charts(opts.timing, opts.high_dollar_cents)
        return apply_filter([item for item, _ in charts], plan.universe)

    async def create(self, plan: SamplingPlan, opts: AuditOptions) -> QaAudit:
        charts = await self.coded_charts(opts.timing, opts.high_dollar_cents)
        codes = {item.encounter_id: c for item, c in charts}
        frame = apply_filter([item for item, _ in charts], plan.universe)
        if not frame:
            scope = "not-yet-billed coded" if opts.timing == "prospective" else "coded"
            raise InvalidRequest(f"no {scope} chart matches the universe filter; widen the dates or filters")
        try:
            sample = draw_sample(frame, plan)
        except ValueError as exc:
            raise InvalidRequest(f"the sampling plan is invalid: {exc}") from exc
        double = set(select_double_review(sample.encounter_ids, opts.double_review_share, plan.seed))
        last = await self.session.scalar(select(func.max(QaAudit.cycle)).where(QaAudit.tenant_id == self.tenant))
        audit = QaAudit(
            id=uuid.uuid4(), tenant_id=self.tenant, name=opts.name or f"Audit cycle {(last or 0) + 1}",
            cycle=(last or 0) + 1, timing=opts.timing, blind=opts.blind, plan=plan_to_json(plan),
            method=sample.method, seed=sample.seed, algorithm=sample.algorithm,
            frame=frame_to_json(frame), frame_fingerprint=sample.frame_fingerprint,
            frame_size=sample.frame_size, sample_size=len(sample.encounter_ids),
            per_stratum=sample.per_stratum, encounter_ids=sample.encounter_ids,
            double_review_share=opts.double_review_share, pass_threshold=opts.pass_threshold,
            status="open", created_by=self.principal.user_id,
        )  # fmt: skip
        self.session.add(audit)
        by_id = {i.encounter_id: i for i in frame}
        rota = opts.auditors
        for n, eid in enumerate(sample.encounter_ids):
            item = by_id[eid]
            twice = eid in double
            self.session.add(
                QaAuditChart(
                    tenant_id=self.tenant, audit_id=audit.id, encounter_id=uuid.UUID(eid),
                    coder_id=item.coder, vendor_id=item.vendor or None, specialty=item.specialty,
                    payer_id=item.payer, service_date=datetime.fromisoformat(item.service_date).date(),
                    stratum=stratum_of(item, plan.strata_key) if plan.strata_key else "all",
                    coder_codes=codes[eid], double_review=twice,
                    primary_auditor=rota[n % len(rota)] if rota else None,
                    second_auditor=rota[(n + 1) % len(rota)] if twice and len(rota) >= 2 else None,
                    status="pending",
                )
            )
            if opts.timing == "prospective":
                self.session.add(QaAuditHold(tenant_id=self.tenant, audit_id=audit.id, encounter_id=uuid.UUID(eid)))
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise StateConflict("another audit was created at the same moment; retry the request") from exc
        for eid in sample.encounter_ids:
            await self.seal(uuid.UUID(eid), "qa_sampled", {}, {"audit_id": str(audit.id), "cycle": audit.cycle, "timing": audit.timing, "blind": audit.blind})
        return audit

    # ---- reads ----------------------------------------------------------------------------

    async def audit(self, audit_id: uuid.UUID) -> QaAudit:
        found = await self.session.scalar(
            select(QaAudit).where(QaAudit.tenant_id == self.tenant, QaAudit.id == audit_id)
        )
        if found is None:
            raise NotVisible(f"audit {audit_id} does not exist")
        return found

    async def audits(self, *, upto_cycle: int | None = None) -> list[QaAudit]:
        stmt = select(QaAudit).where(QaAudit.tenant_id == self.tenant)
        if upto_cycle is not None:
            stmt = stmt.where(QaAudit.cycle <= upto_cycle)
        return list((await self.session.scalars(stmt.order_by(QaAudit.cycle))).all())

    def _own(self, stmt: Select[Any], coder: Any, vendor: Any) -> Select[Any]:
        """Coders see only their own charts and findings (worked under their token's vendor);
        vendor leads their vendor's."""
        if self.principal.role == "coder":
            return stmt.where(coder == self.principal.user_id, vendor == (self.principal.vendor_id or ""))
        if self.principal.role == "vendor_lead":
            return stmt.where(vendor == (self.principal.vendor_id or ""))
        return stmt

    async def charts(self, audit_ids: list[uuid.UUID]) -> list[QaAuditChart]:
        stmt = select(QaAuditChart).where(
            QaAuditChart.tenant_id == self.tenant, QaAuditChart.audit_id.in_(audit_ids)
        )
        stmt = self._own(stmt, QaAuditChart.coder_id, QaAuditChart.vendor_id)
        return list((await self.session.scalars(stmt.order_by(QaAuditChart.encounter_id))).all())

    async def chart(self, audit: QaAudit, encounter_id: uuid.UUID) -> QaAuditChart:
        found = await self.session.scalar(
            select(QaAuditChart).where(
                QaAuditChart.tenant_id == self.tenant,
                QaAuditChart.audit_id == audit.id,
                QaAuditChart.encounter_id == encounter_id,
            )
        )
        if found is None:
            raise NotVisible(f"encounter {encounter_id} is not in the sample of audit {audit.id}")
        return found

    async def reviews(self, chart_ids: list[uuid.UUID]) -> list[QaReview]:
        stmt = select(QaReview).where(
            QaReview.tenant_id == self.tenant, QaReview.audit_chart_id.in_(chart_ids)
        )
        return list((await self.session.scalars(stmt.order_by(QaReview.submitted_at))).all())

    async def findings(self, audit_ids: list[uuid.UUID]) -> list[QaFinding]:
        stmt = select(QaFinding).where(
            QaFinding.tenant_id == self.tenant, QaFinding.audit_id.in_(audit_ids)
        )
        stmt = self._own(stmt, QaFinding.coder_id, QaFinding.vendor_id)
        stmt = stmt.order_by(QaFinding.encounter_id, QaFinding.line, QaFinding.opened_at)
        return list((await self.session.scalars(stmt)).all())

    async def finding(self, finding_id: uuid.UUID, *, lock: bool = False) -> QaFinding:
        stmt = select(QaFinding).where(QaFinding.tenant_id == self.tenant, QaFinding.id == finding_id)
        stmt = self._own(stmt, QaFinding.coder_id, QaFinding.vendor_id)
        found = await self.session.scalar(stmt.with_for_update() if lock else stmt)
        if found is None:
            raise NotVisible(f"finding {finding_id} does not exist or is not yours to see")
        return found

    async def holds(self, audit: QaAudit) -> list[QaAuditHold]:
        stmt = select(QaAuditHold).where(QaAuditHold.tenant_id == self.tenant, QaAuditHold.audit_id == audit.id)
        return list((await self.session.scalars(stmt)).all())

    async def education(self) -> list[QaEducation]:
        """The tenant's coaching assignments, oldest first (the caller narrows them to whom it may see)."""
        stmt = select(QaEducation).where(QaEducation.tenant_id == self.tenant).order_by(QaEducation.assigned_at)
        return list((await self.session.scalars(stmt)).all())

    # ---- review ---------------------------------------------------------------------------

    async def review_role(self, audit: QaAudit, chart: QaAuditChart) -> tuple[ReviewRole, list[QaReview]]:
        if audit.status != "open":
            raise StateConflict(f"audit {audit.id} is {audit.status}; reviews are closed")
        reviews = await self.reviews([chart.id])
        by = {r.role: r.auditor_id for r in reviews}
        slot = ReviewSlot(
            chart.double_review, chart.primary_auditor, chart.second_auditor, by.get("primary"), by.get("second")
        )
        role = review_role(slot, self.principal.user_id)
        if isinstance(role, Refusal):
            raise (AccessDenied if role.status == 403 else StateConflict)(role.detail)
        return role, reviews

    async def submit_review(self, audit: QaAudit, chart: QaAuditChart, codes: dict[str, Any]) -> QaReview:
        role, _ = await self.review_role(audit, chart)
        diff = compare_coding(chart_coding(chart.coder_codes), chart_coding(codes))
        review = QaReview(
            tenant_id=self.tenant, audit_chart_id=chart.id, auditor_id=self.principal.user_id,
            role=role, codes=codes, lines_reviewed=diff.lines_reviewed, submitted_at=now(),
        )  # fmt: skip
        self.session.add(review)
        if role == "primary":
            chart.status = "recoded" if diff.drafts else "reviewed"
            if not diff.drafts:
                await self.release_hold(audit, chart, "reviewed")
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise StateConflict("another review of this chart was submitted at the same moment") from exc
        await self.seal(
            chart.encounter_id, "qa_review_submitted", {},
            {"audit_id": str(audit.id), "review_role": role, "chart_status": chart.status, "lines_reviewed": diff.lines_reviewed},
        )  # fmt: skip
        return review

    async def primary_review(self, chart: QaAuditChart) -> QaReview | None:
        return next((r for r in await self.reviews([chart.id]) if r.role == "primary"), None)

    async def save_findings(self, audit: QaAudit, chart: QaAuditChart, findings: list[Finding]) -> list[QaFinding]:
        rows = []
        for f in findings:
            d, ref = f.draft, f.reference
            assert ref is not None  # validated by models.qa.rules.build_findings
            rows.append(
                QaFinding(
                    id=uuid.UUID(f.finding_id), tenant_id=self.tenant, audit_id=audit.id,
                    audit_chart_id=chart.id, encounter_id=chart.encounter_id, coder_id=chart.coder_id,
                    vendor_id=chart.vendor_id, auditor_id=f.auditor_id, line=d.line, kind=d.kind,
                    code_type=d.code_type, coder_code=d.coder_code, auditor_code=d.auditor_code,
                    financial_direction=d.financial_direction, category=f.category, severity=f.severity,
                    reference_kind=ref.kind, reference_citation=ref.citation, reference_url=ref.url,
                    rationale=f.rationale, opened_at=f.opened_at, state=f.state, events=[],
                )
            )
        self.session.add_all(rows)
        chart.status = "reviewed"
        await self.release_hold(audit, chart, "reviewed")
        await self.session.flush()
        await self.seal(
            chart.encounter_id, "qa_findings_recorded", {},
            {"audit_id": str(audit.id), "findings": [str(r.id) for r in rows], "chart_status": chart.status},
        )  # fmt: skip
        return rows

    async def release_hold(self, audit: QaAudit, chart: QaAuditChart | None, reason: str) -> None:
        """Release pre-bill holds; `released` collects the charts whose workflows must be told."""
        stmt = update(QaAuditHold).where(
            QaAuditHold.tenant_id == self.tenant,
            QaAuditHold.audit_id == audit.id,
            QaAuditHold.released_at.is_(None),
        )
        if chart is not None:
            stmt = stmt.where(QaAuditHold.encounter_id == chart.encounter_id)
        result = await self.session.execute(
            stmt.values(released_at=now(), released_reason=reason).returning(QaAuditHold.encounter_id)
        )
        self.released.extend(result.scalars().all())

    # ---- rebuttal -------------------------------------------------------------------------

    async def step(self, row: QaFinding, *events: FindingEvent, seal: bool = True) -> QaFinding:
        """Apply lifecycle events in order; a refused step changes nothing (409 with the reason).
        `seal=False`: the caller seals the chart's QA event itself (closing an audit: one per chart)."""
        f = finding_of(row)
        before = {"finding_id": str(row.id), "state": row.state, "outcome": row.outcome}
        try:
            for e in events:
                f = apply_event(f, e)
        except FindingTransitionError as exc:
            raise StateConflict(str(exc), state=row.state) from exc
        store_finding(row, f, [event_to_json(e, self.principal.user_id) for e in events])
        await self.session.flush()
        if seal:
            after = {"finding_id": str(row.id), "state": row.state, "outcome": row.outcome}
            await self.seal(row.encounter_id, "qa_finding_" + "_".join(e.action for e in events), before, after)
        return row

    async def seal_coaching(self, row: QaEducation, action: str) -> None:
        """Coaching assigned or acknowledged: one event on each chart whose findings it is about."""
        await self.session.flush()
        after = {"education_id": str(row.id), "coder_id": row.coder_id, "category": row.category}
        for eid in await coached_charts(self.session, row):
            await self.seal(eid, action, {}, after)

    async def seal_close(self, audit: QaAudit) -> None:
        """Closing an audit: one event on each sampled chart's QA chain (lapsed and finalized findings,
        the closed audit, the released pre-bill hold)."""
        for eid in audit.encounter_ids:
            await self.seal(uuid.UUID(str(eid)), "qa_audit_closed", {"audit_status": "open"}, {"audit_id": str(audit.id), "audit_status": audit.status})


async def education_locked(session: AsyncSession, tenant_id: str, education_id: uuid.UUID) -> QaEducation | None:
    """One of the tenant's coaching assignments, locked for its acknowledgment."""
    stmt = select(QaEducation).where(QaEducation.tenant_id == tenant_id, QaEducation.id == education_id)
    return await session.scalar(stmt.with_for_update())
