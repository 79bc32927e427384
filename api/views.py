"""ORM rows to response shapes, in one place so every route shows an encounter the same way."""

import base64
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import BadRequest
from api.schemas.claims import ScrubEditOut, ScrubOut
from api.schemas.encounters import (
    DocumentOut,
    EncounterDetail,
    EncounterSummary,
    HoldOut,
    PatientOut,
    TimelineEvent,
)
from models import lifecycle
from models.claim_tables import ScrubRun
from models.note_access import DISPLAY_LIMIT
from models.tables import AuditEvent, Document, Encounter, Patient
from services.codesets import hold_detail


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


async def latest_scrub(session: AsyncSession, encounter_id: uuid.UUID) -> ScrubRun | None:
    return await session.scalar(
        select(ScrubRun).where(ScrubRun.encounter_id == encounter_id).order_by(ScrubRun.run_no.desc()).limit(1)
    )
