"""Intake that failed for good: why, kept on the stored message, and listed for operations.

A bundle passes the webhook's checks but its intake activity can still fail (tenant settings it
cannot apply, attempts used up on a bundle too big for its timeout). Bad data fails on the first
attempt (non-retryable); the reason is stored on the message, the sender gets a 422 it will not
retry forever, and operations see the message in `GET /v1/intake/failures`.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    FailureError,
    RetryState,
    TimeoutError,
)
from temporalio.service import RPCError

from models.encounters.tables import InboundMessage
from models.repositories import inbound
from workflows.core import BAD_DATA_ERRORS
from workflows.encounter import EncounterWorkflow

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class IntakeFailure:
    reason: str
    # The bundle itself is the problem (bad data, or too big to take in within the timeout):
    # sending it again unchanged cannot help. Otherwise a dependency was down throughout.
    final: bool


def intake_failure(exc: WorkflowUpdateFailedError) -> IntakeFailure | None:
    """Why an ingest update failed in its intake activity; None for other refusals.

    Intake runs as a local activity (decision 32): its failure reaches the update as the
    activity's own error, not wrapped in an ActivityError as an ordinary activity's is."""
    cause = exc.cause
    if isinstance(cause, ActivityError):
        root: BaseException | None = cause.cause
        detail = "no reason given"
        if isinstance(root, ApplicationError):
            detail = f"{root.type or 'error'}: {root.message}"
        elif isinstance(root, FailureError):
            detail = f"{type(root).__name__}: {root.message}"
        state = cause.retry_state
        final = state == RetryState.NON_RETRYABLE_FAILURE or isinstance(root, TimeoutError)
        return IntakeFailure(f"{detail} (retry state {state.name if state else 'unknown'})", final)
    if isinstance(cause, TimeoutError):
        return IntakeFailure(f"TimeoutError: {cause.message} (retry state TIMEOUT)", True)
    if isinstance(cause, ApplicationError):
        if cause.type in BAD_DATA_ERRORS:
            return IntakeFailure(f"{cause.type}: {cause.message} (retry state NON_RETRYABLE_FAILURE)", True)
        if not cause.non_retryable:  # the workflow's own refusals are non-retryable; this used up its attempts
            return IntakeFailure(f"{cause.type or 'error'}: {cause.message} (retry state MAXIMUM_ATTEMPTS_REACHED)", False)
    return None


async def record_failure(session: AsyncSession, message: InboundMessage, reason: str) -> None:
    message.failure = reason[:2000]
    message.failed_at = datetime.now(UTC)
    await session.commit()
    log.warning("intake.failed", message_id=str(message.id), webhook_id=message.webhook_id, reason=reason[:200])


async def close_if_never_ingested(temporal: Client, workflow_id: str, reason: str) -> None:
    """A workflow started by an intake that failed for good would wait forever for its first
    documents: end it, so nothing is left running. One that already holds an encounter stays."""
    handle = temporal.get_workflow_handle_for(EncounterWorkflow.run, workflow_id)
    try:
        snapshot = await handle.query(EncounterWorkflow.snapshot)
        if snapshot.ingested:
            return
        await handle.terminate(reason=f"intake failed: {reason[:500]}")
    except (RPCError, WorkflowQueryFailedError) as exc:  # already gone, or unreachable: nothing to leave behind
        log.warning("intake.close_failed", workflow_id=workflow_id, error=str(exc))
        return
    log.warning("intake.workflow_closed", workflow_id=workflow_id)


async def failures(session: AsyncSession, tenant_id: str, limit: int) -> list[dict[str, Any]]:
    rows = await inbound.failed_messages(session, tenant_id, limit)
    return [
        {
            "message_id": str(m.id),
            "source_id": str(m.source_id),
            "webhook_id": m.webhook_id,
            "received_at": m.received_at.isoformat(),
            "failed_at": m.failed_at.isoformat() if m.failed_at else None,
            "failure": m.failure,
            "answered": m.response is not None,
        }
        for m in rows
    ]
