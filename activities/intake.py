"""Encounter intake: a stored webhook message becomes patient, documents and routing facts."""

import asyncio
import contextlib
import dataclasses
import json
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import structlog
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from integrations.ehr.bundle import parse_bundle
from integrations.ehr.errors import FhirValidationError
from integrations.ehr.schemas import EncounterIntake, SubscriberIn
from models.encounters.routing import Route, route
from models.encounters.tables import (
    Encounter,
    Tenant,
)
from models.evidence.chain import Keyring
from models.repositories import intake as repo
from models.repositories import text_blobs
from models.repositories.evidence_receipts import record_receipts
from models.tenants.policy import ANY_DOCUMENT, TenantPolicy, parse_policy
from services.codesets import earliest_served, uncovered_reason
from workflows.types import AddendumInput, IntakeFacts, IntakeInput, Policy

log = structlog.get_logger(__name__)

# LOINC 11506-3 is "Progress note"; an addendum answering a query is filed as one.
ADDENDUM_LOINC = "11506-3"


def workflow_policy(policy: TenantPolicy) -> Policy:
    """The tenant durations the workflow's clocks run on."""
    return Policy(
        lease_minutes=policy.lease_minutes,
        coding_sla_hours=round(policy.coding_sla_hours),
        query_reminder_hours=policy.query_reminder_hours,
        query_escalate_hours=policy.query_escalate_hours,
        query_expire_hours=policy.query_expire_hours,
        query_keeps_assignee=policy.query_keeps_assignee,
        query_escalate_to=policy.query_escalate_to,
        prebill_review_hours=policy.prebill_review_hours,
        hold_alert_hours=dict(policy.hold_alert_hours),
        claim_follow_up_days=policy.claim_follow_up_days,
        appeal_warning_days=list(policy.appeal_warning_days),
    )


# Parsed bundles by message id (stored bodies never change): the encounters of one large bundle
# are taken in by many activities, and re-reading and re-parsing the whole body for each one
# made intake quadratic in the bundle's size. A bundle's parse is dropped once each of its
# encounters has been read (a 1,000-encounter bundle's is about 4 MB): an idle worker keeps none,
# and a retried read of a dropped bundle parses it again.
PARSED_BUNDLES_KEPT = 4


class IntakeActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], keys: Keyring | None = None) -> None:
        self._sessions = sessions
        self._keys = keys  # chain keys: each new document gets its keyed receipt (evidence_receipts)
        self._parsed: OrderedDict[str, list[EncounterIntake]] = OrderedDict()
        # The indexes of each kept bundle not read yet.
        self._unread: dict[str, set[int]] = {}
        # The encounters of one bundle arrive together: one of them parses, the others wait for it.
        self._parsing: dict[str, asyncio.Lock] = {}

    async def _bundle(self, session: AsyncSession, message_id: str, index: int) -> EncounterIntake:
        intakes = self._parsed.get(message_id)
        if intakes is None:
            lock = self._parsing.setdefault(message_id, asyncio.Lock())
            async with lock:
                intakes = self._parsed.get(message_id) or await self._parse(session, message_id)
            self._parsing.pop(message_id, None)
        if not 0 <= index < len(intakes):
            raise ApplicationError(f"message {message_id} has no encounter {index}", type="BadData", non_retryable=True)
        if message_id in self._parsed:
            self._parsed.move_to_end(message_id)
            unread = self._unread.setdefault(message_id, set(range(len(intakes))))
            unread.discard(index)
            if not unread:
                self._drop(message_id)
        return intakes[index]

    def _drop(self, message_id: str) -> None:
        self._parsed.pop(message_id, None)
        self._unread.pop(message_id, None)

    async def _parse(self, session: AsyncSession, message_id: str) -> list[EncounterIntake]:
        body = await repo.message_body(session, uuid.UUID(message_id))
        if body is None:
            raise ApplicationError(f"message {message_id} not found", type="BadData", non_retryable=True)
        try:
            intakes = parse_bundle(json.loads(body))
        except (FhirValidationError, ValueError) as exc:
            raise ApplicationError(f"stored message no longer parses: {exc}", type="BadData", non_retryable=True) from exc
        if len(intakes) > 1:  # a one-encounter message is read once; keep the cache for bundles
            self._parsed[message_id] = intakes
            self._unread[message_id] = set(range(len(intakes)))
            while len(self._parsed) > PARSED_BUNDLES_KEPT:
                self._drop(next(iter(self._parsed)))
        return intakes

    @activity.defn(name="encounters.intake")
    async def intake(self, inp: IntakeInput) -> IntakeFacts:
        with refused_as_bad_data():
            return await self._intake(inp)

    async def _intake(self, inp: IntakeInput) -> IntakeFacts:
        async with self._sessions.begin() as session:
            found = await self._bundle(session, inp.message_id, inp.bundle_index)
            message_id = uuid.UUID(inp.message_id)
            tenant = await session.get_one(Tenant, inp.tenant_id)
            policy = parse_policy(tenant.settings)
            patient_id = await _upsert_patient(session, inp.tenant_id, found)
            encounter = await _ensure_encounter(session, inp, found, patient_id)
            new_docs = await _add_documents(session, inp.tenant_id, encounter.id, message_id, found)
            await _receipt(session, self._keys, new_docs)
            doc_types = await repo.document_types(session, encounter.id)
            # No ICD-10-CM release for the date of service: never hand the chart to a coder to fail
            # on; it waits on a `codeset_release_missing` hold that loading the release releases.
            dos = found.period_start or found.period_end
            no_codeset = uncovered_reason(dos.date() if dos else None, await earliest_served(session))
            rules = await repo.routing_rules(session, inp.tenant_id)
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
            # ANY_DOCUMENT marks "has a document": it satisfies the policy's at-least-one rule.
            doc_types=sorted({t for t in doc_types if t} | ({ANY_DOCUMENT} if doc_types else set())),
            new_document_ids=new_docs,
            required_doc_types=policy.required_for(found.class_code),
            queue_id=queue_id,
            priority=priority,
            policy=workflow_policy(policy),
            codeset_missing=no_codeset,
        )

    @activity.defn(name="encounters.add_addendum")
    async def add_addendum(self, inp: AddendumInput) -> str:
        """A physician's addendum becomes a new document of the encounter (idempotent by content)."""
        async with self._sessions.begin() as session:
            text = await text_blobs.text_of(session, inp.tenant_id, inp.text_sha256)
            if text is None:
                raise ApplicationError(f"addendum text {inp.text_sha256} not found", non_retryable=True)
            added = await repo.add_document(
                session,
                {
                    "id": uuid.uuid4(),
                    "tenant_id": inp.tenant_id,
                    "encounter_id": uuid.UUID(inp.encounter_id),
                    "external_id": f"query-addendum-{inp.query_id}",
                    "version": 1,
                    "type_code": ADDENDUM_LOINC,
                    "type_display": "Physician query response addendum",
                    "content_type": "text/plain",
                    "text": text,
                    "sha256": inp.text_sha256,
                },
            )
            await _receipt(session, self._keys, [str(added)] if added else [])
            doc_id = await repo.document_id(session, uuid.UUID(inp.encounter_id), f"query-addendum-{inp.query_id}")
        return str(doc_id)


async def _receipt(session: AsyncSession, keys: Keyring | None, ids: list[str]) -> None:
    """New documents are attested as written (models.repositories.evidence_receipts)."""
    if keys is None or not ids:
        return
    docs = await repo.documents(session, [uuid.UUID(i) for i in ids])
    await record_receipts(session, keys, "documents", docs)


async def _upsert_patient(session: AsyncSession, tenant_id: str, found: EncounterIntake) -> uuid.UUID:
    p = found.patient
    values: dict[str, Any] = {
        "mrn": p.mrn,
        "family": p.family,
        "given": p.given,
        "birth_date": p.birth_date,
        "sex": p.sex,
        "address_line": p.address_line,
        "city": p.city,
        "state": (p.state or "")[:2].upper() or None,
        "postal_code": p.postal_code,
    }
    return await repo.upsert_patient(session, tenant_id, p.external_id, values)


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
        "member_id": found.coverage.member_id if found.coverage else None,
        "subscriber_relationship": found.coverage.relationship if found.coverage else None,
        "subscriber": _subscriber(found.coverage.subscriber) if found.coverage and found.coverage.subscriber else None,
        "practitioner_npi": practitioner.npi if practitioner else None,
        "practitioner": dataclasses.asdict(practitioner) if practitioner else None,
        "date_of_service": dos.date() if dos else None,
        "charges_cents": found.charges_cents,
        "service_facility": dataclasses.asdict(found.service_facility) if found.service_facility else None,
    }
    if existing is not None:
        for key, value in values.items():
            if value is not None:
                setattr(existing, key, value)
        return existing
    return await repo.add_encounter(
        session,
        id=encounter_id,
        tenant_id=inp.tenant_id,
        external_id=found.external_id,
        workflow_id=inp.workflow_id,
        status="received",
        version=0,
        **values,
    )


async def _add_documents(
    session: AsyncSession, tenant_id: str, encounter_id: uuid.UUID, message_id: uuid.UUID, found: EncounterIntake
) -> list[str]:
    """New content for a known document id becomes its next version; identical content is a no-op."""
    added: list[str] = []
    for doc in found.documents:
        version = await repo.document_versions(session, encounter_id, doc.external_id) + 1
        new_id = await repo.add_document(
            session,
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant_id,
                "encounter_id": encounter_id,
                "external_id": doc.external_id,
                "version": version,
                "type_code": doc.type_code,
                "type_display": doc.type_display,
                "content_type": doc.content_type,
                "text": doc.text,
                "url": doc.url,
                "sha256": doc.sha256,
                "message_id": message_id,
            },
        )
        if new_id is not None:
            added.append(str(new_id))
    return added


@contextlib.contextmanager
def refused_as_bad_data() -> Iterator[None]:
    """PostgreSQL refusing a value (SQLSTATE class 22: too long, out of range, bad date) is the
    bundle's fault, not a passing fault: fail the attempt for good, so intake is not retried and
    the sender is told to fix the bundle. The reason names the column's rule, never the values,
    which are PHI (SQLAlchemy's own message quotes the statement's parameters)."""
    try:
        yield
    except DBAPIError as exc:
        if not isinstance(exc, DataError):
            raise
        diag = getattr(exc.orig, "diag", None)
        primary = getattr(diag, "message_primary", None) or type(exc.orig).__name__
        table, column = getattr(diag, "table_name", None), getattr(diag, "column_name", None)
        where = f" ({table}.{column})" if table and column else ""
        raise ApplicationError(
            f"a value in the bundle cannot be stored: {primary}{where}", type="BadData", non_retryable=True
        ) from None


def _subscriber(person: SubscriberIn) -> dict[str, Any]:
    return {**dataclasses.asdict(person), "birth_date": person.birth_date.isoformat() if person.birth_date else None}
