"""Appeals for denials of a closed encounter.

A denial that arrives after the encounter closed is recorded by a payer-document workflow
(decision 20): the encounter workflow has ended (or is `closed`) and cannot take an appeal
update. The appeal routes try the encounter workflow first; when it answers that the encounter is
closed, or has completed, the appeal (or its decision) is written by an `AppealAfterClose`
workflow instead: the same appeal and denial rows, and a sealed audit event on the closed
encounter, which stays closed. Anything else the workflow refuses is the caller's error as before.
"""

import asyncio
from typing import Any

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from models.errors import StateConflict
from workflows.encounter import EncounterWorkflow, encounter_workflow_id
from workflows.post_close import (
    AppealAfterClose,
    AppealAfterCloseWorkflow,
    PayerDocumentResult,
    appeal_after_close_workflow_id,
)

ANSWER_WITHIN = 30.0


def _closed(exc: WorkflowUpdateFailedError | RPCError) -> bool:
    if isinstance(exc, RPCError):
        return exc.status == RPCStatusCode.NOT_FOUND  # "workflow execution already completed"
    cause = exc.cause
    details = cause.details[0] if isinstance(cause, ApplicationError) and cause.details and isinstance(cause.details[0], dict) else {}
    return details.get("state") == "closed"


async def update_or_after_close(temporal: Client, update: Any, request: Any, late: AppealAfterClose, refusal: str | None = None) -> str:
    """Send `request` to the encounter's `update`; a closed encounter records `late` instead, unless
    `refusal` says why it cannot (the denial or appeal is no longer open). The after-close
    workflow runs on the encounter workflow's task queue. Returns ``workflow`` or ``after_close``."""
    handle = temporal.get_workflow_handle_for(EncounterWorkflow.run, encounter_workflow_id(late.encounter_id))
    try:
        await handle.execute_update(update, request)
        return "workflow"
    except (WorkflowUpdateFailedError, RPCError) as exc:
        if not _closed(exc):
            raise
    if refusal:
        raise StateConflict(refusal, state="closed")
    task_queue = (await handle.describe()).task_queue  # where the encounter's own workflow ran
    workflow_id = appeal_after_close_workflow_id(late.encounter_id, late.key)
    try:
        after = await temporal.start_workflow(
            AppealAfterCloseWorkflow.run, late, id=workflow_id, task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )  # fmt: skip
    except WorkflowAlreadyStartedError:  # recorded before: its answer stands
        after = temporal.get_workflow_handle_for(AppealAfterCloseWorkflow.run, workflow_id)
    result: PayerDocumentResult = await asyncio.wait_for(after.result(), ANSWER_WITHIN)
    if not result.applied:
        raise StateConflict(f"the closed encounter did not take it: {result.detail}", state="closed")
    return "after_close"
