"""Claiming the next chart of a work queue: a lease in PostgreSQL first, then the workflow confirms."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowUpdateFailedError

from models.access import Principal
from models.errors import NotVisible
from models.repositories.encounters import QueueRepository
from services.encounters import actor, handle
from workflows.encounter import EncounterWorkflow
from workflows.types import ClaimRequest

CLAIM_ATTEMPTS = 5


async def claim_next(session: AsyncSession, temporal: Client, who: Principal, queue_id: str) -> uuid.UUID | None:
    """The claimed chart's id, or None when the queue has no chart this caller can claim.

    SKIP LOCKED keeps concurrent claimers apart; a chart the workflow refuses loses its lease and
    the next one is tried."""
    queues = QueueRepository(session, who)
    if await queues.get(queue_id) is None:
        raise NotVisible(f"queue '{queue_id}' does not exist or does not serve vendor '{who.vendor_id}'")
    for _ in range(CLAIM_ATTEMPTS):
        token = uuid.uuid4()
        leased = await queues.lease_next(queue_id, token)
        await session.commit()
        if leased is None:
            return None
        try:
            await handle(temporal, leased.id).execute_update(EncounterWorkflow.claim, ClaimRequest(actor(who), str(token)))
        except WorkflowUpdateFailedError:
            await queues.drop_lease(leased.id, token)
            await session.commit()
            continue
        return leased.id
    return None
