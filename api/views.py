"""ORM rows and service answers to response shapes, in one place so every route and page shows them the same way."""

import base64
import uuid
from datetime import UTC, datetime

from fastapi.responses import PlainTextResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.errors import BadRequest, Conflict, NotFound, Unprocessable
from api.schemas.claims import AppealOut, DenialOut, ScrubEditOut, ScrubOut
from api.schemas.encounters import (
    CodingIn,
    DocumentOut,
    EncounterDetail,
    EncounterSummary,
    EvidenceIn,
    HoldOut,
    PatientOut,
    TimelineEvent,
)
from api.schemas.queries import QueryOut
from api.schemas.tenant_policy import TenantPolicyIn, TenantPolicyOut
from models.access import Principal
from models.claims.tables import AppealRow, DenialRow, ScrubRun
from models.encounters import lifecycle
from models.encounters.note_access import DISPLAY_LIMIT
from models.encounters.tables import AuditEvent, Document, Encounter, Patient, QueryRow
from models.queries.rules import offered_options
from models.repositories.encounters import EncounterRepository
from models.repositories.queries import QueryFilter, QueryRepository
from models.repositories.scope import Scope
from models.tenants.policy import DOCUMENT_TYPES, ENCOUNTER_CLASSES, PolicyInvalid
from services import coding
from services import tenant_policy as policy_service
from services.codesets import hold_detail
from services.encounters import load, note_readable


async def read_detail(repo: EncounterRepository, encounter_id: uuid.UUID, *, with_text: bool = False) -> EncounterDetail:
    """The chart as the workflow just projected it (the caller's own writes included)."""
    await repo.session.commit()  # end the snapshot and forget cached rows: read the workflow's projection
    repo.session.expire_all()
    e = await load(repo, encounter_id)
    patient = await repo.session.get(Patient, e.patient_id) if e.patient_id else None
    documents = await repo.documents(e.id)
    with_text = with_text and note_readable(repo.principal, e)
    return detail(e, patient, documents, await repo.timeline(e.id), with_text=with_text)


def text_download(d: Document) -> PlainTextResponse:
    """A document's whole text as an attachment named after its EHR id."""
    filename = f"{d.external_id or d.id}.txt".replace('"', "")
    return PlainTextResponse(d.text or "", headers={"content-disposition": f'attachment; filename="{filename}"'})


def summary(e: Encounter) -> EncounterSummary:
    return EncounterSummary(
        id=str(e.id),
        external_id=e.external_id,
        status=e.status,
        queue=e.queue_id,
        priority=e.priority,
        assignee=e.assignee_user,
        assignee_vendor=e.assignee_vendor,
        lease_expires_at=e.lease_expires_at if e.assignee_user else None,
        encounter_class=e.encounter_class,
        specialty=e.specialty,
        payer=e.payer_name or e.payer_id,
        date_of_service=e.date_of_service,
        received_at=e.received_at,
        sla_due_at=e.sla_due_at,
        overdue=e.overdue,
        holds=[HoldOut(**h, detail=hold_detail(h["reason"], e.date_of_service)) for h in e.holds],
    )


def detail(
    e: Encounter,
    patient: Patient | None,
    documents: list[Document],
    events: list[AuditEvent],
    *,
    with_text: bool,
) -> EncounterDetail:
    return EncounterDetail(
        **summary(e).model_dump(),
        allowed_actions=lifecycle.allowed_actions(e.status),  # type: ignore[arg-type]
        patient=PatientOut(
            mrn=patient.mrn, family=patient.family, given=patient.given, birth_date=patient.birth_date, sex=patient.sex
        )
        if patient
        else None,
        codes=e.codes,
        coded_at=e.coded_at,
        documents=[document(d, with_text=with_text) for d in documents],
        timeline=[event(ev) for ev in events],
    )


def document(d: Document, *, with_text: bool) -> DocumentOut:
    return DocumentOut(
        id=str(d.id),
        external_id=d.external_id,
        version=d.version,
        type_code=d.type_code,
        type_display=d.type_display,
        content_type=d.content_type,
        sha256=d.sha256,
        received_at=d.received_at,
        text=(d.text or "")[:DISPLAY_LIMIT] if with_text and d.text is not None else None,
        text_length=len(d.text) if d.text is not None else None,
        text_truncated=bool(with_text and d.text is not None and len(d.text) > DISPLAY_LIMIT),
        content_url=f"/v1/encounters/{d.encounter_id}/documents/{d.id}/content" if with_text and d.text is not None else None,
    )


def event(ev: AuditEvent) -> TimelineEvent:
    return TimelineEvent(
        seq=ev.seq,
        at=ev.occurred_at,
        action=ev.action,
        actor=ev.actor,
        role=ev.role,
        vendor=ev.vendor,
        before=ev.before,
        after=ev.after,
        reason=ev.reason,
        hash=ev.hash,
    )


def encode_cursor(e: Encounter) -> str:
    return base64.urlsafe_b64encode(f"{e.received_at.isoformat()}|{e.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, ident = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(at), uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("the cursor is not one this API returned; start again without it") from exc


def scrub_view(run: ScrubRun) -> ScrubOut:
    acked = {(a["rule"], a["line_index"]) for a in run.acknowledgments}
    clean = run.hard_count == 0 and all(
        e["severity"] == "soft" and (e["rule"], e["line_index"]) in acked for e in run.edits
    )
    return ScrubOut(
        id=str(run.id),
        run_no=run.run_no,
        clean=clean,
        edits=[ScrubEditOut(**e) for e in run.edits],
        checks_ran=list(run.checks_ran),
        checks_skipped=list(run.checks_skipped),
        table_versions=dict(run.table_versions),
        acknowledgments=list(run.acknowledgments),
        created_at=run.created_at,
    )


async def query_view(repo: QueryRepository, q: QueryRow, now: datetime) -> QueryOut:
    return (await query_views(repo, [q], now))[0]


async def query_views(repo: QueryRepository, rows: list[QueryRow], now: datetime) -> list[QueryOut]:
    """Views of several queries with one look-up of all their texts."""
    hashes: set[str] = set()
    for q in rows:
        hashes |= {q.question_sha256, *q.option_sha256s, *(i["excerpt_sha256"] for i in q.indicators)}
        hashes |= {q.free_text_sha256} if q.free_text_sha256 else set()
    texts = await repo.texts(hashes)
    return [_query_out(q, texts, now) for q in rows]


def _query_out(q: QueryRow, texts: dict[str, str], now: datetime) -> QueryOut:
    options = offered_options(q.form, [texts.get(h) for h in q.option_sha256s])
    return QueryOut(
        id=str(q.id),
        encounter_id=str(q.encounter_id),
        status=q.status,
        form=q.form,
        question=texts.get(q.question_sha256),
        options=list(options),
        indicators=[{"document_id": i["document_id"], "excerpt": texts.get(i["excerpt_sha256"])} for i in q.indicators],
        yes_no_purpose=q.yes_no_purpose,
        physician_npi=q.physician_npi,
        physician_user=q.physician_user,
        asked_by=q.asked_by,
        vendor_id=q.vendor_id,
        opened_at=q.opened_at,
        age_days=max((now - q.opened_at).days, 0),
        escalated_at=q.escalated_at,
        expired_at=q.expired_at,
        answered_at=q.answered_at,
        answered_by=q.answered_by,
        answer_option=options[q.option_index] if q.option_index is not None and q.option_index < len(options) else None,
        answer_text=texts.get(q.free_text_sha256) if q.free_text_sha256 else None,
        addendum_document_id=str(q.addendum_document_id) if q.addendum_document_id else None,
        withdrawn_at=q.withdrawn_at,
    )


async def find_queries(session: AsyncSession, who: Principal, where: QueryFilter, *, limit: int = 100) -> list[QueryOut]:
    """The caller's visible queries matching `where`, newest rules of the repository applied."""
    repo = QueryRepository(session, who)
    now = datetime.now(UTC)
    rows = await repo.find(where, now=now, limit=limit)
    return await query_views(repo, rows, now)


async def read_query(repo: QueryRepository, query_id: uuid.UUID) -> QueryOut:
    await repo.session.commit()
    repo.session.expire_all()
    found = await repo.get(query_id)
    if found is None:
        raise NotFound(f"query {query_id} does not exist or is not addressed to you")
    return await query_view(repo, found, datetime.now(UTC))


def policy_out(view: policy_service.PolicyView) -> TenantPolicyOut:
    return TenantPolicyOut(
        tenant_id=view.tenant_id,
        version=view.version,
        changed_at=view.changed_at,
        changed_by=view.changed_by,
        policy=view.policy.as_dict(),
        encounter_classes=dict(ENCOUNTER_CLASSES),
        document_types=dict(DOCUMENT_TYPES),
    )


async def read_policy(sessions: async_sessionmaker[AsyncSession], who: Principal) -> TenantPolicyOut:
    try:
        return policy_out(await policy_service.show_policy(sessions, who.tenant_id))
    except policy_service.TenantNotFound as exc:
        raise NotFound(str(exc)) from exc


async def change_policy(sessions: async_sessionmaker[AsyncSession], who: Principal, body: TenantPolicyIn) -> TenantPolicyOut:
    """Shared by the API and the admin page: domain refusals become problem+json."""
    try:
        view = await policy_service.update_policy(
            sessions, who.tenant_id, body.policy, actor=who.user_id, role=who.role, reason=body.reason, expected_version=body.version
        )
    except PolicyInvalid as exc:
        raise Unprocessable(
            f"the policy was not changed: {exc}",
            errors=[{"path": e.split(":", 1)[0], "message": e.split(":", 1)[-1].strip()} for e in exc.errors],
        ) from exc
    except policy_service.PolicyConflict as exc:
        raise Conflict(str(exc)) from exc
    except policy_service.TenantNotFound as exc:
        raise NotFound(str(exc)) from exc
    return policy_out(view)


def coding_lines(body: CodingIn) -> tuple[list[coding.DiagnosisLine], list[coding.ProcedureLine]]:
    """A coding request's lines as the coding service takes them."""

    def cited(items: list[EvidenceIn]) -> list[coding.Cited]:
        return [coding.Cited(ev.document_id, ev.excerpt, ev.near) for ev in items]

    return (
        [coding.DiagnosisLine(d.code, cited(d.evidence), d.suggestion_id) for d in body.diagnoses],
        [coding.ProcedureLine(p.code, list(p.modifiers), p.units, list(p.pointers), cited(p.evidence)) for p in body.procedures],
    )


def denial_view(d: DenialRow) -> DenialOut:
    return DenialOut(
        id=str(d.id), encounter_id=str(d.encounter_id), claim_id=str(d.claim_id), group_code=d.group_code, carc=d.carc,
        rarcs=list(d.rarcs), category=d.category, amount_cents=d.amount_cents, line_index=d.line_index,
        appealable=d.appealable, not_appealable_reason=d.not_appealable_reason, notice_date=d.notice_date,
        appeal_deadline=d.appeal_deadline, work_queue=d.work_queue, status=d.status,
    )  # fmt: skip


async def appeal_view(repo: QueryRepository, a: AppealRow) -> AppealOut:
    texts = await repo.texts({a.reason_sha256})
    return AppealOut(
        id=str(a.id), encounter_id=str(a.encounter_id), denial_id=str(a.denial_id), level=a.level,
        reason=texts.get(a.reason_sha256), deadline=a.deadline, status=a.status, filed_by=a.filed_by,
        filed_at=a.filed_at, decision=a.decision, recovered_cents=a.recovered_cents, decided_at=a.decided_at,
    )  # fmt: skip


async def read_appeal(session: AsyncSession, who: Principal, appeal_id: uuid.UUID) -> AppealOut:
    return await appeal_view(QueryRepository(session, who), await Scope(session, who).appeal(appeal_id))
