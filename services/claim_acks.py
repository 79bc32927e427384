"""Applying the clearinghouse's 999 and TA1 answers to the batches we sent.

A 999 names our functional group (AK102 = the batch's GS06) and each transaction set (AK202 =
the claim's ST02): an accepted set marks its claim `syntax_ack = accepted`; a rejected set, or a
rejected group with no per-set answer, sends the claim back to rework through the encounter
workflow's `acknowledge_claim` update with the 999's reason (the timeline shows it, the chart
returns to its coder's queue, the claim counts as never filed). A TA1 that rejects the
interchange (TA101 = the batch's ISA13) sends back every claim of the batch.
"""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from integrations.billing.ta1 import parse_ta1
from integrations.billing.x999 import FunctionalAck, TransactionAck, parse_999
from models.claims.batch_tables import ClaimBatch
from models.claims.tables import ClaimRow
from models.repositories import claim_batches
from workflows.encounter import EncounterWorkflow, encounter_workflow_id
from workflows.types import ClaimAckRequest

log = structlog.get_logger(__name__)

ANSWER_WITHIN = 30.0


def describe(ack: TransactionAck | None, group: FunctionalAck) -> str:
    """The 999's reason in words a biller can act on: which set, which segment, which code."""
    if ack is None:
        return f"999 rejected functional group {group.group_control_number} (AK9 {group.status})"
    parts = [f"999 rejected transaction set {ack.control_number} (IK5 {ack.status}{' ' + ','.join(ack.syntax_codes) if ack.syntax_codes else ''})"]
    for error in ack.errors:
        where = f"{error.segment_id} at position {error.position}" + (f" in loop {error.loop_id}" if error.loop_id else "")
        elements = "; ".join(f"element {e.position} code {e.code}" + (f" ({e.bad_value})" if e.bad_value else "") for e in error.element_errors)
        parts.append(f"IK3 {where} code {error.code}" + (f": {elements}" if elements else ""))
    return "; ".join(parts)


async def _batch(session: AsyncSession, number: str) -> ClaimBatch | None:
    if not number.strip().isdigit():
        return None
    return await claim_batches.latest_by_interchange(session, int(number))


async def _rework(temporal: Client, claim: ClaimRow, status: str, reason: str, file_id: str | None) -> dict[str, Any]:
    """Send one claim back to rework; a workflow that refuses (the claim moved on) is reported."""
    request = ClaimAckRequest(str(claim.id), False, status, reason[:2000], file_id)
    handle = temporal.get_workflow_handle_for(EncounterWorkflow.run, encounter_workflow_id(str(claim.encounter_id)))
    entry: dict[str, Any] = {"control_number": claim.control_number, "accepted": False, "reason": reason}
    try:
        outcome = await asyncio.wait_for(handle.execute_update(EncounterWorkflow.acknowledge_claim, request), ANSWER_WITHIN)
    except (TimeoutError, WorkflowUpdateFailedError, RPCError) as exc:
        cause = getattr(exc, "cause", None) or exc
        log.warning("claim_ack.not_applied", claim_id=str(claim.id), error=str(cause))
        return {**entry, "result": "not_applied", "detail": str(getattr(cause, "message", None) or cause)}
    return {**entry, "result": "reworked", "encounter_status": outcome.status}


async def _mark(sessions: async_sessionmaker[AsyncSession], batch_id: uuid.UUID, answers: dict[uuid.UUID, tuple[bool, str]],
                status: str, field: str, text: str) -> None:  # fmt: skip
    async with sessions.begin() as session:
        batch = await session.get_one(ClaimBatch, batch_id)
        batch.status, batch.acknowledged_at = status, datetime.now(UTC)
        setattr(batch, field, text)
        for claim in await claim_batches.claims_by_id(session, answers):
            accepted, _reason = answers[claim.id]
            # Status and reason are the workflow's to write (its update projects them, attested).
            claim.syntax_ack = "accepted" if accepted else "rejected"


async def rework_batch(sessions: async_sessionmaker[AsyncSession], temporal: Client, batch_id: uuid.UUID, status: str,
                       reason: str, file_id: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Every claim of the batch back to rework with `reason` (a refused file, a TA1 rejection)."""
    async with sessions() as session:
        claims = list(await claim_batches.claims_of(session, batch_id))
    await _mark(sessions, batch_id, {c.id: (False, reason) for c in claims}, status, "detail", reason)
    return [await _rework(temporal, claim, status.upper(), reason, file_id) for claim in claims]


async def apply_999(sessions: async_sessionmaker[AsyncSession], temporal: Client, text: str, file_id: str | None = None) -> dict[str, Any]:
    """Apply each functional group's answer to the batch it names; returns who was answered and how."""
    out: dict[str, Any] = {"tenants": [], "claims": [], "unmatched_groups": []}
    for group in parse_999(text):
        async with sessions() as session:
            batch = await _batch(session, group.group_control_number)
            claims = list(await claim_batches.claims_of(session, batch.id)) if batch else []
        if batch is None:
            out["unmatched_groups"].append(group.group_control_number)
            continue
        out["tenants"] = sorted({*out["tenants"], batch.tenant_id})
        by_set = {ack.control_number: ack for ack in group.transactions}
        answers: dict[uuid.UUID, tuple[bool, str]] = {}
        for claim in claims:
            ack = by_set.get(claim.transaction_control or "")
            accepted = ack.accepted if ack is not None else group.accepted
            answers[claim.id] = (accepted, "" if accepted else describe(ack, group))
        rejected = [c for c in claims if not answers[c.id][0]]
        status = "accepted" if not rejected else "rejected" if len(rejected) == len(claims) else "partial"
        await _mark(sessions, batch.id, answers, status, "ack_999", text)
        for claim in claims:
            accepted, reason = answers[claim.id]
            if accepted:
                out["claims"].append({"control_number": claim.control_number, "accepted": True, "result": "acknowledged"})
            else:
                out["claims"].append(await _rework(temporal, claim, "999:R", reason, file_id))
    return out


async def apply_ta1(sessions: async_sessionmaker[AsyncSession], temporal: Client, text: str, file_id: str | None = None) -> dict[str, Any]:
    """A rejected interchange reworks every claim of its batch; an accepted one is noted on it."""
    out: dict[str, Any] = {"tenants": [], "claims": [], "unmatched_groups": []}
    for ack in parse_ta1(text):
        async with sessions() as session:
            batch = await _batch(session, ack.control_number)
        if batch is None:
            out["unmatched_groups"].append(ack.control_number)
            continue
        out["tenants"] = sorted({*out["tenants"], batch.tenant_id})
        if ack.accepted:
            async with sessions.begin() as session:
                (await session.get_one(ClaimBatch, batch.id)).ta1 = text
            continue
        reason = f"the clearinghouse rejected interchange {ack.control_number}: {ack.reason}"
        async with sessions.begin() as session:
            (await session.get_one(ClaimBatch, batch.id)).ta1 = text
        out["claims"] += await rework_batch(sessions, temporal, batch.id, "rejected", reason, file_id)
    return out
