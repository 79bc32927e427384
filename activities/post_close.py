"""Writing a payer document for a closed encounter: claim, denials and audit event in one transaction.

Idempotent by the document's key: the encounter's audit log is searched for an event whose reason
is that key (the encounter workflow records its remit events the same way), so a retried
activity, or a payment the workflow already took before it closed, is never counted twice.
"""

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.projection import _event_fields
from models.claims.tables import ClaimRow
from models.encounters.tables import Encounter
from models.evidence.chain import GENESIS, Keyring
from models.repositories import audit_events
from models.repositories.audit_seal import seal_event
from models.repositories.projection_events import apply_event
from workflows.post_close import AppealAfterClose, PayerDocument, PayerDocumentResult
from workflows.types import SYSTEM, DenialOpened, ProjectInput, ProjectionEvent

log = structlog.get_logger(__name__)

# What the claim row says after a late document; a predetermination changes nothing owed.
_CLAIM_STATUS = {"paid": "paid", "partial": "partial", "denied": "denied", "reversed": "reversed"}
_ACTIONS = {"835": "payment_after_close", "277CA": "acknowledgment_after_close"}


class PostCloseActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], keys: Keyring) -> None:
        self._sessions = sessions
        self._keys = keys

    @activity.defn(name="claims.record_after_close")
    async def record_after_close(self, doc: PayerDocument) -> PayerDocumentResult:
        encounter_id = uuid.UUID(doc.encounter_id)
        async with self._sessions.begin() as session:
            row = await session.get_one(Encounter, encounter_id, with_for_update=True)
            seen = await audit_events.seq_with_reason(session, encounter_id, doc.key)
            if seen is not None:
                return PayerDocumentResult(True, row.status, "already recorded")
            claim = await session.get_one(ClaimRow, uuid.UUID(doc.claim_id), with_for_update=True)
            before = _claim_facts(claim)
            _update_claim(claim, doc)
            for denial in doc.denials:
                await apply_event(session, doc.tenant_id, DenialOpened(denial.id, denial.written()))
            after = {**_claim_facts(claim), "document": doc.kind, "outcome": doc.outcome, "paid_cents": doc.paid_cents,
                     "status": doc.status, "message": doc.message, "denials": [d.id for d in doc.denials]}  # fmt: skip
            seq = row.version + 1
            prev = await audit_events.event_hash(session, encounter_id, row.version)
            event = ProjectInput(
                tenant_id=doc.tenant_id, encounter_id=doc.encounter_id, seq=seq, action=_ACTIONS[doc.kind], actor=SYSTEM,
                before={"status": row.status, **before}, after={"status": row.status, **after}, occurred_at=datetime.now(UTC),
                row={}, reason=doc.key,
            )  # fmt: skip
            await seal_event(
                session, tenant_id=doc.tenant_id, encounter_id=encounter_id, common=_event_fields(event),
                prev_hash=prev or GENESIS, keys=self._keys,
            )  # fmt: skip
            row.version = seq
        log.info("claims.after_close", encounter_id=doc.encounter_id, kind=doc.kind, outcome=doc.outcome, key=doc.key)
        return PayerDocumentResult(True, row.status)


    @activity.defn(name="claims.appeal_after_close")
    async def appeal_after_close(self, req: AppealAfterClose) -> PayerDocumentResult:
        """The appeal and denial rows and a sealed audit event on the closed encounter, at once."""
        encounter_id = uuid.UUID(req.encounter_id)
        async with self._sessions.begin() as session:
            row = await session.get_one(Encounter, encounter_id, with_for_update=True)
            seen = await audit_events.seq_with_reason(session, encounter_id, req.key)
            if seen is not None:
                return PayerDocumentResult(True, row.status, "already recorded")
            for change in req.events:
                await apply_event(session, req.tenant_id, change)
            seq = row.version + 1
            prev = await audit_events.event_hash(session, encounter_id, row.version)
            after = {"status": row.status, "events": [_plain(e) for e in req.events], "note": req.reason}
            event = ProjectInput(
                tenant_id=req.tenant_id, encounter_id=req.encounter_id, seq=seq, action=req.action, actor=req.actor,
                before={"status": row.status}, after=after, occurred_at=datetime.now(UTC), row={}, reason=req.key,
            )  # fmt: skip
            await seal_event(
                session, tenant_id=req.tenant_id, encounter_id=encounter_id, common=_event_fields(event),
                prev_hash=prev or GENESIS, keys=self._keys,
            )  # fmt: skip
            row.version = seq
        log.info("claims.appeal_after_close", encounter_id=req.encounter_id, action=req.action, key=req.key)
        return PayerDocumentResult(True, row.status)


def _plain(event: ProjectionEvent) -> dict[str, Any]:
    """The event as JSON values, for the sealed audit event's `after`."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in dataclasses.asdict(event).items()}


def _claim_facts(claim: ClaimRow) -> dict[str, Any]:
    return {"claim_status": claim.status, "claim_paid_cents": claim.paid_cents}


def _update_claim(claim: ClaimRow, doc: PayerDocument) -> None:
    """Payments accumulate: a reversal (negative CLP04) takes back what the earlier one paid."""
    if doc.kind == "835":
        if doc.outcome == "predetermination":
            return
        claim.paid_cents = (claim.paid_cents or 0) + doc.paid_cents
        claim.status = _CLAIM_STATUS.get(doc.outcome, claim.status)
        claim.filed = True
        return
    claim.acknowledged_at = claim.acknowledged_at or datetime.now(UTC)
    if doc.outcome == "rejected" and claim.status not in ("paid", "partial", "denied"):
        claim.status, claim.rejection = "rejected", doc.message or doc.status
