"""Applying one payer answer (a claim payment or a claim status) to its claim, whatever the
encounter's state, and saying what happened.

Three outcomes, never an exception to the caller:
- ``applied``: the encounter workflow took it (update accepted);
- ``applied_after_close``: the encounter had closed, so a payer-document workflow recorded it on
  the closed encounter (timeline, evidence, claim and denial rows);
- ``exception``: the workflow refused it in its current state (``not_applicable``) or could not
  be reached (``unreachable``); the caller queues it in the remittance-exceptions work queue.
"""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from integrations.billing.remittance import (
    CLAIM_STATUS_CODES,
    INFORMATIONAL,
    ClaimPayment,
    Remittance,
)
from integrations.billing.x277ca import ClaimAck
from models.claims.denial_rules import denial_values
from models.claims.denials import CarcTable
from models.claims.tables import ClaimRow, PaymentRow
from workflows.encounter import EncounterWorkflow, encounter_workflow_id
from workflows.post_close import (
    PayerDocument,
    PayerDocumentResult,
    PayerDocumentWorkflow,
    payer_document_workflow_id,
)
from workflows.types import ClaimAckRequest, DenialFacts, DenialRef, RemitRequest

log = structlog.get_logger(__name__)

ANSWER_WITHIN = 30.0
"""Seconds to wait for a workflow's answer; past that the claim is queued, the file still answered."""


@dataclass(frozen=True)
class Applied:
    outcome: str  # applied | applied_after_close | recorded | exception
    encounter_status: str | None = None
    reason: str = ""  # for an exception: not_applicable | unreachable
    detail: str = ""

    def facts(self) -> dict[str, Any]:
        out: dict[str, Any] = {"result": self.outcome, "applied": self.outcome != "exception"}
        if self.encounter_status is not None:
            out["encounter_status"] = self.encounter_status
        if self.detail:
            out["detail"] = self.detail
        if self.reason:
            out["exception"] = self.reason
        return out


async def apply_to_claim(temporal: Client, task_queue: str, claim: ClaimRow, update: Any, arg: Any, late: PayerDocument) -> Applied:
    """Send `arg` to the encounter's `update`; a closed encounter gets `late` instead."""
    handle = temporal.get_workflow_handle_for(EncounterWorkflow.run, encounter_workflow_id(str(claim.encounter_id)))
    try:
        outcome = await asyncio.wait_for(handle.execute_update(update, arg), ANSWER_WITHIN)
    except TimeoutError:
        return Applied("exception", None, "unreachable", f"the encounter workflow did not answer within {ANSWER_WITHIN:.0f} s (is a worker running?)")
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        details = cause.details[0] if isinstance(cause, ApplicationError) and cause.details and isinstance(cause.details[0], dict) else {}
        if details.get("state") == "closed":
            return await record_after_close(temporal, task_queue, late)
        return Applied("exception", details.get("state"), "not_applicable", str(getattr(cause, "message", None) or cause or exc))
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:  # "workflow execution already completed"
            return await record_after_close(temporal, task_queue, late)
        log.warning("payer_document.unreachable", claim_id=str(claim.id), error=str(exc))
        return Applied("exception", None, "unreachable", f"the encounter workflow could not be reached: {exc}")
    return Applied("applied", outcome.status)


async def record_after_close(temporal: Client, task_queue: str, doc: PayerDocument) -> Applied:
    """Start (or find) the payer-document workflow for `doc` and wait for its answer."""
    workflow_id = payer_document_workflow_id(doc.encounter_id, doc.key)
    try:
        try:
            handle = await temporal.start_workflow(
                PayerDocumentWorkflow.run, doc, id=workflow_id, task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )  # fmt: skip
        except WorkflowAlreadyStartedError:  # it ran to completion before: read its answer
            handle = temporal.get_workflow_handle_for(PayerDocumentWorkflow.run, workflow_id)
        result: PayerDocumentResult = await asyncio.wait_for(handle.result(), ANSWER_WITHIN)
    except Exception as exc:  # Temporal down or the workflow failed: queue it, never lose it
        log.warning("payer_document.after_close_failed", workflow_id=workflow_id, error=str(exc))
        return Applied("exception", "closed", "unreachable", f"recording on the closed encounter failed: {type(exc).__name__}: {exc}")
    return Applied("applied_after_close", result.encounter_status, detail="recorded on the closed encounter")


async def apply_ack(temporal: Client, task_queue: str, tenant_id: str, file_id: str, position: int, claim: ClaimRow, ack: ClaimAck) -> Applied:
    status = f"{ack.status_category}:{ack.status_code}"
    request = ClaimAckRequest(str(claim.id), ack.accepted, status, ack.free_text, file_id)
    late = PayerDocument(tenant_id, str(claim.encounter_id), str(claim.id), "277CA", f"{file_id}#{position}",
                         "accepted" if ack.accepted else "rejected", status=status, message=ack.free_text)  # fmt: skip
    return await apply_to_claim(temporal, task_queue, claim, EncounterWorkflow.acknowledge_claim, request, late)


async def apply_payment(
    temporal: Client, task_queue: str, claim: ClaimRow, payment: PaymentRow, remittance: Remittance, cp: ClaimPayment, causes: CarcTable
) -> tuple[Applied, list[dict[str, Any]]]:
    """One CLP to its claim; returns what happened and the denials it carried."""
    if payment.outcome in INFORMATIONAL:  # predetermination / forwarded: kept, nothing owed or refused
        return Applied("recorded", detail=CLAIM_STATUS_CODES.get(cp.status_code, "")), []
    notice = remittance.payment_date or datetime.now(UTC).date()
    denials = [] if payment.outcome == "reversed" else denial_values(cp, claim=claim, payment_id=payment.id, notice_date=notice, new_id=uuid.uuid4, table=causes)
    refs = [DenialRef(str(d["id"]), d["category"], d["appealable"], d["appeal_deadline"], facts=DenialFacts(**d["values"])) for d in denials]
    request = RemitRequest(str(claim.id), str(payment.id), payment.outcome, cp.paid_cents, refs)
    late = PayerDocument(payment.tenant_id, str(claim.encounter_id), str(claim.id), "835", str(payment.id), payment.outcome,
                         paid_cents=cp.paid_cents, status=cp.status_code, message=CLAIM_STATUS_CODES.get(cp.status_code, ""),
                         denials=refs)  # fmt: skip
    applied = await apply_to_claim(temporal, task_queue, claim, EncounterWorkflow.remit, request, late)
    return applied, denials
