"""Denials worked to resolution: the denial queues, appeals (filed only while eligible), decisions, write-offs.

A denial that arrived after its encounter closed is appealed the same way (`services.appeals_after_close`)."""

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from models.access import Principal
from models.claims.appeals import appeal_refusal
from models.errors import InvalidRequest, StateConflict
from models.repositories import claims, scope
from models.repositories.claims import find_denials as find_denials
from models.repositories.encounters import EncounterRepository
from services.appeals_after_close import update_or_after_close
from services.encounters import actor, handle, store_text
from workflows.encounter import EncounterWorkflow
from workflows.post_close import AppealAfterClose
from workflows.types import (
    AppealDecided,
    AppealDecisionRequest,
    AppealFiled,
    AppealRequest,
    WriteOffRequest,
)

WRITE_OFF_NOTE = "written off; reason text sha256:"


async def file_appeal(session: AsyncSession, temporal: Client, who: Principal, denial_id: uuid.UUID, level: str, reason: str) -> uuid.UUID:
    """The new appeal's id; refused (nothing stored) when the denial is not eligible."""
    denial = await scope.Scope(session, who).denial(denial_id)
    open_appeal = await claims.open_appeal(session, denial.id)
    refusal = appeal_refusal(
        appealable=denial.appealable, appeal_open=open_appeal is not None, not_appealable_reason=denial.not_appealable_reason,
        deadline=denial.appeal_deadline, today=datetime.now(UTC).date(),
    )  # fmt: skip
    if refusal is not None:
        raise (StateConflict if refusal.kind == "already_open" else InvalidRequest)(refusal.message)
    assert denial.appeal_deadline is not None  # the rule refuses a denial without one
    stored = await store_text(EncounterRepository(session, who), reason)
    await session.commit()
    appeal_id = uuid.uuid4()
    request = AppealRequest(actor(who), str(appeal_id), str(denial.id), level, stored, denial.appeal_deadline.isoformat())
    filed = AppealFiled(str(appeal_id), str(denial.encounter_id), str(denial.id), level, stored, request.deadline, who.user_id, datetime.now(UTC))
    late = AppealAfterClose(who.tenant_id, str(denial.encounter_id), f"appeal:{appeal_id}", "appeal_after_close", request.actor, [filed], level)
    closed = None if denial.status == "open" else f"this denial is {denial.status}; only an open denial can be appealed"
    await update_or_after_close(temporal, EncounterWorkflow.file_appeal, request, late, closed)
    session.expire_all()
    return appeal_id


async def decide_appeal(
    session: AsyncSession, temporal: Client, who: Principal, appeal_id: uuid.UUID, decision: str, recovered_cents: int
) -> uuid.UUID:
    appeal = await scope.Scope(session, who).appeal(appeal_id)
    if decision == "upheld" and recovered_cents:
        raise InvalidRequest("an upheld appeal recovers nothing; send recovered_cents 0 or decide 'partial'")
    request = AppealDecisionRequest(actor(who), str(appeal.id), decision, recovered_cents)
    decided = AppealDecided(str(appeal.id), str(appeal.denial_id), decision, recovered_cents, datetime.now(UTC))
    late = AppealAfterClose(who.tenant_id, str(appeal.encounter_id), f"appeal-decision:{appeal.id}", "appeal_decision_after_close",
                            request.actor, [decided], decision)  # fmt: skip
    decided_already = None if appeal.status == "open" else f"this appeal is {appeal.status}; its decision is already recorded"
    await update_or_after_close(temporal, EncounterWorkflow.decide_appeal, request, late, decided_already)
    session.expire_all()
    return appeal_id


async def write_off(session: AsyncSession, temporal: Client, who: Principal, denial_id: uuid.UUID, reason: str) -> uuid.UUID:
    """Returns the chart's id. The reason is free text: it stays in PostgreSQL and the workflow carries only its hash."""
    denial = await scope.Scope(session, who).denial(denial_id)
    digest = await store_text(EncounterRepository(session, who), reason)
    await session.commit()
    await handle(temporal, denial.encounter_id).execute_update(EncounterWorkflow.write_off, WriteOffRequest(actor(who), f"{WRITE_OFF_NOTE}{digest}"))
    return denial.encounter_id
