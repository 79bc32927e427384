"""The one read path: which rows a caller may read, decided here and nowhere else.

Every read of PHI or of a tenant's figures (API routes, web pages, exports, X12, packets,
metrics) starts from one of these statements, so a new route or page inherits the rules:

- tenant: every statement is pinned to the caller's tenant;
- role: physicians and integrators read no charts; auditors read coded charts only;
- vendor: coders and vendor leads see the work of their *token's* vendor — a chart assigned to
  that vendor, worked under that vendor (the audit trail names the vendor of every act), or in a
  queue only that vendor serves. A queue two vendors share grants neither anything;
- physician: queries addressed to the caller's user id or NPI, or to a physician who named the
  caller a delegate in the tenant's settings (`query_delegates`);
- blind review: while an open blind audit holds a chart and this auditor has not submitted a
  re-coding, anything that shows the chart's codes (detail, evidence, claims, 837P, denials,
  appeals and their packet) is withheld.
"""

import uuid

from sqlalchemy import ColumnElement, Select, exists, false, func, literal, or_, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from models.access import Principal
from models.claims.tables import AppealRow, ClaimRow, DenialRow, PaymentRow
from models.encounters.tables import AuditEvent, Encounter, QueryRow, Queue, Tenant
from models.errors import AccessDenied, NotVisible
from models.qa.tables import QaAudit, QaAuditChart, QaReview

POST_CODING = ("coded", "scrubbing", "submitted", "paid", "denied", "in_appeal", "closed")
TENANT_WIDE = ("ops", "admin")

BLIND_DETAIL = (
    "a blind QA review of this chart is open: its codes stay hidden until you submit your re-coding "
    "(GET /v1/audits/{audit_id}/charts/{chart_id})"
)


def _worked_under(principal: Principal, *, by_user: bool) -> ColumnElement[bool]:
    """The audit trail shows an act on this chart under the caller's vendor (and by the caller)."""
    acts = exists().where(
        AuditEvent.encounter_id == Encounter.id,
        AuditEvent.tenant_id == principal.tenant_id,
        AuditEvent.vendor == principal.vendor_id,
        AuditEvent.role == "coder",
    )
    return acts.where(AuditEvent.actor == principal.user_id) if by_user else acts


def _exclusive_queues(principal: Principal) -> Select[str]:
    return select(Queue.id).where(
        Queue.tenant_id == principal.tenant_id,
        Queue.vendor_ids == literal([principal.vendor_id or ""], Queue.vendor_ids.type),
    )


def charts(principal: Principal) -> Select[Encounter]:
    """The row filter of DESIGN §1 for encounters, applied to every chart read."""
    stmt = select(Encounter).where(Encounter.tenant_id == principal.tenant_id)
    if principal.role in TENANT_WIDE:
        return stmt
    if principal.role in ("coder", "vendor_lead") and not principal.vendor_id:
        return stmt.where(false())  # coders and leads belong to a vendor; without one, nothing
    match principal.role:
        case "coder":
            return stmt.where(
                or_(
                    (Encounter.assignee_user == principal.user_id) & (Encounter.assignee_vendor == principal.vendor_id),
                    _worked_under(principal, by_user=True),
                )
            )
        case "vendor_lead":
            return stmt.where(
                or_(
                    Encounter.assignee_vendor == principal.vendor_id,
                    _worked_under(principal, by_user=False),
                    Encounter.queue_id.in_(_exclusive_queues(principal)),
                )
            )
        case "auditor":
            return stmt.where(Encounter.status.in_(POST_CODING))
        case _:
            return stmt.where(false())


def blind_for(principal: Principal) -> Select[uuid.UUID]:
    """Charts whose codes this caller may not see yet (empty for everyone but auditors)."""
    if principal.role != "auditor":
        return select(QaAuditChart.encounter_id).where(false())
    submitted = exists().where(QaReview.audit_chart_id == QaAuditChart.id, QaReview.auditor_id == principal.user_id)
    return (
        select(QaAuditChart.encounter_id)
        .join(QaAudit, QaAudit.id == QaAuditChart.audit_id)
        .where(
            QaAuditChart.tenant_id == principal.tenant_id,
            QaAudit.blind.is_(True),
            QaAudit.status == "open",
            ~submitted,
        )
    )


def coded_charts(principal: Principal) -> Select[Encounter]:
    """Charts whose codes the caller may see: `charts` minus those under an open blind review."""
    stmt = charts(principal)
    if principal.role == "auditor":
        stmt = stmt.where(Encounter.id.not_in(blind_for(principal)))
    return stmt


def _ids(stmt: Select[Encounter]) -> Select[uuid.UUID]:
    return stmt.with_only_columns(Encounter.id)


def claims(principal: Principal) -> Select[ClaimRow]:
    return select(ClaimRow).where(
        ClaimRow.tenant_id == principal.tenant_id, ClaimRow.encounter_id.in_(_ids(coded_charts(principal)))
    )


def denials(principal: Principal) -> Select[DenialRow]:
    return select(DenialRow).where(
        DenialRow.tenant_id == principal.tenant_id, DenialRow.encounter_id.in_(_ids(coded_charts(principal)))
    )


def appeals(principal: Principal) -> Select[AppealRow]:
    return select(AppealRow).where(
        AppealRow.tenant_id == principal.tenant_id, AppealRow.encounter_id.in_(_ids(coded_charts(principal)))
    )


def unmatched_payments(principal: Principal) -> Select[PaymentRow]:
    """Payments matching no claim belong to no chart, so only tenant-wide roles may read them."""
    stmt = select(PaymentRow).where(PaymentRow.tenant_id == principal.tenant_id, PaymentRow.claim_id.is_(None))
    return stmt if principal.role in TENANT_WIDE else stmt.where(false())


def delegators(principal: Principal) -> Select[str]:
    """Physicians (user id or NPI) who named the caller a delegate in `query_delegates`."""
    each = func.jsonb_each(Tenant.settings["query_delegates"]).table_valued("key", "value", joins_implicitly=True)
    return (
        select(each.c.key)
        .select_from(Tenant)
        .join(each, true())
        .where(Tenant.id == principal.tenant_id, each.c.value.cast(JSONB).contains([principal.user_id]))
    )


def queries(principal: Principal) -> Select[QueryRow]:
    stmt = select(QueryRow).where(QueryRow.tenant_id == principal.tenant_id)
    match principal.role:
        case "ops" | "admin":
            return stmt
        case "physician":
            mine: list[ColumnElement[bool]] = [QueryRow.physician_user == principal.user_id]
            if principal.npi:
                mine.append(QueryRow.physician_npi == principal.npi)
            mine += [QueryRow.physician_user.in_(delegators(principal)), QueryRow.physician_npi.in_(delegators(principal))]
            return stmt.where(or_(*mine))
        case "coder":
            return stmt.where(QueryRow.asked_by == principal.user_id, QueryRow.vendor_id == principal.vendor_id)
        case "vendor_lead":
            return stmt.where(QueryRow.vendor_id == principal.vendor_id)
        case _:
            return stmt.where(false())


def metrics_vendor(principal: Principal, requested: str | None) -> str | None:
    """The vendor a metrics read is pinned to: a vendor lead always its own."""
    return principal.vendor_id if principal.role == "vendor_lead" else requested


class Scope:
    """Single-object reads for one request: a row outside the caller's scope is never loaded."""

    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    async def blind(self, encounter_id: uuid.UUID) -> bool:
        found = await self.session.scalar(blind_for(self.principal).where(QaAuditChart.encounter_id == encounter_id).limit(1))
        return found is not None

    async def refuse_if_blind(self, encounter_id: uuid.UUID) -> None:
        if await self.blind(encounter_id):
            raise AccessDenied(BLIND_DETAIL)

    async def chart(self, encounter_id: uuid.UUID) -> Encounter:
        found = await self.session.scalar(charts(self.principal).where(Encounter.id == encounter_id))
        if found is None:
            raise NotVisible(f"encounter {encounter_id} does not exist or is not visible to you")
        return found

    async def claim(self, claim_id: uuid.UUID) -> ClaimRow:
        found = await self.session.scalar(claims(self.principal).where(ClaimRow.id == claim_id))
        if found is None:
            raise NotVisible(f"claim {claim_id} does not exist or is not visible to you")
        return found

    async def denial(self, denial_id: uuid.UUID) -> DenialRow:
        found = await self.session.scalar(denials(self.principal).where(DenialRow.id == denial_id))
        if found is None:
            raise NotVisible(f"denial {denial_id} does not exist or is not visible to you")
        return found

    async def appeal(self, appeal_id: uuid.UUID) -> AppealRow:
        found = await self.session.scalar(appeals(self.principal).where(AppealRow.id == appeal_id))
        if found is None:
            raise NotVisible(f"appeal {appeal_id} does not exist or is not visible to you")
        return found

    async def query(self, query_id: uuid.UUID) -> QueryRow:
        found = await self.session.scalar(queries(self.principal).where(QueryRow.id == query_id))
        if found is None:
            raise NotVisible(f"query {query_id} does not exist or is not addressed to you")
        return found

    async def answerable_query(self, query_id: uuid.UUID) -> tuple[QueryRow, str | None]:
        """A query the caller may answer, and the physician they answer for when a delegate.

        Answering and filing an addendum are clinical acts: only the addressed physician or a
        delegate the tenant configured may do them — never an administrator."""
        q = await self.query(query_id)
        p = self.principal
        if p.role != "physician":
            raise AccessDenied(f"only the addressed physician (or their delegate) answers a query; role '{p.role}' may withdraw or reassign it")
        if q.physician_user == p.user_id or (p.npi is not None and q.physician_npi == p.npi):
            return q, None
        return q, q.physician_user or q.physician_npi
