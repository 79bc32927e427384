"""Encounter I/O: intake of a stored webhook message, and projection + audit in one transaction."""

import json
import uuid
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from integrations.ehr.bundle import parse_bundle
from integrations.ehr.errors import FhirValidationError
from integrations.ehr.schemas import EncounterIntake
from models.audit_chain import GENESIS, event_hash, hashed_fields
from models.routing import Route, policy_from_settings, required_documents, route
from models.tables import (
    AuditEvent,
    Document,
    Encounter,
    InboundMessage,
    Patient,
    RoutingRule,
    Tenant,
)
from workflows.types import IntakeFacts, IntakeInput, Policy, ProjectInput

log = structlog.get_logger(__name__)

_DATETIME_FIELDS = ("lease_expires_at", "coded_at", "sla_due_at")


class EncounterActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name="encounters.intake")
    async def intake(self, inp: IntakeInput) -> IntakeFacts:
        async with self._sessions.begin() as session:
            message = await session.get(InboundMessage, uuid.UUID(inp.message_id))
            if message is None:
                raise ApplicationError(f"message {inp.message_id} not found", non_retryable=True)
            try:
                found = parse_bundle(json.loads(message.body))[inp.bundle_index]
            except (FhirValidationError, IndexError, ValueError) as exc:
                raise ApplicationError(f"stored message no longer parses: {exc}", non_retryable=True) from exc
            tenant = await session.get_one(Tenant, inp.tenant_id)
            policy = policy_from_settings(tenant.settings)
            patient_id = await _upsert_patient(session, inp.tenant_id, found)
            encounter = await _ensure_encounter(session, inp, found, patient_id)
            new_docs = await _add_documents(session, inp.tenant_id, encounter.id, message.id, found)
            doc_types = (
                await session.scalars(
                    select(Document.type_code).where(Document.encounter_id == encounter.id).distinct()
                )
            ).all()
            rules = (await session.scalars(select(RoutingRule).where(RoutingRule.tenant_id == inp.tenant_id))).all()
            queue_id, priority = route(
                [Route(r.position, r.queue_id, r.encounter_type, r.specialty, r.payer_id, r.priority) for r in rules],
                encounter_types=[found.class_code or "", *found.type_codes],
                specialty=found.specialty,
                payer_id=found.coverage.payer_id if found.coverage else None,
                default_queue=policy.default_queue,
            )
        log.info("encounter.intake", encounter_id=inp.encounter_id, new_documents=len(new_docs))
        return IntakeFacts(
            external_id=found.external_id,
            doc_types=sorted(t for t in doc_types if t),
            new_document_ids=new_docs,
            required_doc_types=required_documents(policy, found.class_code),
            queue_id=queue_id,
            priority=priority,
            policy=Policy(lease_minutes=policy.lease_minutes, coding_sla_hours=policy.coding_sla_hours),
        )

    @activity.defn(name="encounters.project")
    async def project(self, inp: ProjectInput) -> None:
        """Idempotent by (encounter, seq): a retried attempt finds its event and does nothing."""
        encounter_id = uuid.UUID(inp.encounter_id)
        async with self._sessions.begin() as session:
            row = await session.get_one(Encounter, encounter_id, with_for_update=True)
            if row.version >= inp.seq:
                return
            prev_hash = GENESIS
            if inp.seq > 1:
                prev_hash = await session.scalar(
                    select(AuditEvent.hash).where(
                        AuditEvent.encounter_id == encounter_id, AuditEvent.seq == inp.seq - 1
                    )
                ) or GENESIS
            for key, value in inp.row.items():
                setattr(row, key, datetime.fromisoformat(value) if key in _DATETIME_FIELDS and value else value)
            if inp.row.get("lease_token"):
                row.lease_token = uuid.UUID(inp.row["lease_token"])
            row.version = inp.seq
            row.updated_at = func.now()
            fields = hashed_fields(
                encounter_id=inp.encounter_id,
                seq=inp.seq,
                actor=inp.actor.user_id,
                role=inp.actor.role,
                vendor=inp.actor.vendor_id,
                action=inp.action,
                before=inp.before,
                after=inp.after,
                reason=inp.reason,
                occurred_at=inp.occurred_at,
            )
            session.add(
                AuditEvent(
                    tenant_id=inp.tenant_id,
                    encounter_id=encounter_id,
                    seq=inp.seq,
                    actor=inp.actor.user_id,
                    role=inp.actor.role,
                    vendor=inp.actor.vendor_id,
                    action=inp.action,
                    before=inp.before,
                    after=inp.after,
                    reason=inp.reason,
                    occurred_at=inp.occurred_at,
                    prev_hash=prev_hash,
                    hash=event_hash(prev_hash, fields),
                )
            )
        log.info("encounter.projected", encounter_id=inp.encounter_id, seq=inp.seq, action=inp.action)


async def _upsert_patient(session: AsyncSession, tenant_id: str, found: EncounterIntake) -> uuid.UUID:
    p = found.patient
    values: dict[str, Any] = {
        "mrn": p.mrn,
        "family": p.family,
        "given": p.given,
        "birth_date": p.birth_date,
        "sex": p.sex,
    }
    stmt = (
        insert(Patient)
        .values(id=uuid.uuid4(), tenant_id=tenant_id, external_id=p.external_id, **values)
        .on_conflict_do_update(index_elements=["tenant_id", "external_id"], set_=values)
        .returning(Patient.id)
    )
    return (await session.execute(stmt)).scalar_one()


async def _ensure_encounter(
    session: AsyncSession, inp: IntakeInput, found: EncounterIntake, patient_id: uuid.UUID
) -> Encounter:
    encounter_id = uuid.UUID(inp.encounter_id)
    existing = await session.get(Encounter, encounter_id, with_for_update=True)
    practitioner = found.practitioners[0] if found.practitioners else None
    dos = (found.period_start or found.period_end)
    values: dict[str, Any] = {
        "patient_id": patient_id,
        "encounter_class": found.class_code,
        "encounter_type": found.type_codes[0] if found.type_codes else None,
        "specialty": found.specialty,
        "payer_id": found.coverage.payer_id if found.coverage else None,
        "payer_name": found.coverage.payer_name if found.coverage else None,
        "practitioner_npi": practitioner.npi if practitioner else None,
        "date_of_service": dos.date() if dos else None,
    }
    if existing is not None:
        for key, value in values.items():
            if value is not None:
                setattr(existing, key, value)
        return existing
    encounter = Encounter(
        id=encounter_id,
        tenant_id=inp.tenant_id,
        external_id=found.external_id,
        workflow_id=inp.workflow_id,
        status="received",
        received_at=func.now(),
        version=0,
        **values,
    )
    session.add(encounter)
    await session.flush()
    return encounter


async def _add_documents(
    session: AsyncSession, tenant_id: str, encounter_id: uuid.UUID, message_id: uuid.UUID, found: EncounterIntake
) -> list[str]:
    """New content for a known document id becomes its next version; identical content is a no-op."""
    added: list[str] = []
    for doc in found.documents:
        version = (
            await session.scalar(
                select(func.count()).where(Document.encounter_id == encounter_id, Document.external_id == doc.external_id)
            )
            or 0
        ) + 1
        stmt = (
            insert(Document)
            .values(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                encounter_id=encounter_id,
                external_id=doc.external_id,
                version=version,
                type_code=doc.type_code,
                type_display=doc.type_display,
                content_type=doc.content_type,
                text=doc.text,
                url=doc.url,
                sha256=doc.sha256,
                message_id=message_id,
            )
            .on_conflict_do_nothing(index_elements=["encounter_id", "external_id", "sha256"])
            .returning(Document.id)
        )
        new_id = (await session.execute(stmt)).scalar_one_or_none()
        if new_id is not None:
            added.append(str(new_id))
    return added
