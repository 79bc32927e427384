"""The outbound-event outbox: record events in the caller's transaction, then dispatch them.

Recording writes the event and one message per subscribed endpoint beside the change it
announces, so an event exists exactly when its change committed. Dispatching (after the commit)
hands each undispatched message to its endpoint's delivery workflow by signal-with-start and
marks it dispatched; a dispatch that fails half-way is simply repeated, and the delivery
workflow and its attempt activity recognise an event they already have.
"""

import secrets
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from models.repositories import projection_events
from models.repositories import webhooks as repo
from models.webhooks.events import EventDraft, ProjectionChange, events_for
from models.webhooks.tables import OutboundEvent, WebhookMessage
from workflows.types import ProjectInput
from workflows.webhook_delivery import DeliveryInput, WebhookDeliveryWorkflow, delivery_workflow_id

log = structlog.get_logger(__name__)


def new_event_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


async def record(
    session: AsyncSession,
    tenant_id: str,
    drafts: Sequence[EventDraft],
    occurred_at: datetime,
    *,
    encounter_id: uuid.UUID | None = None,
    event_ids: Sequence[str] | None = None,
) -> list[str]:
    """Add the events and their messages to the session; return the event ids."""
    ids, _ = await _record(session, tenant_id, drafts, occurred_at, encounter_id=encounter_id, event_ids=event_ids)
    return ids


async def _record(
    session: AsyncSession,
    tenant_id: str,
    drafts: Sequence[EventDraft],
    occurred_at: datetime,
    *,
    encounter_id: uuid.UUID | None,
    event_ids: Sequence[str] | None,
) -> tuple[list[str], int]:
    """`record`, also counting the messages queued (none when no endpoint subscribes)."""
    if not drafts:
        return [], 0
    endpoints = await repo.enabled_endpoints(session, tenant_id)
    ids: list[str] = []
    queued = 0
    for n, draft in enumerate(drafts):
        event_id = event_ids[n] if event_ids else new_event_id()
        payload = {"type": draft.type, "timestamp": occurred_at.isoformat(), "data": draft.data}
        session.add(
            OutboundEvent(
                id=event_id, tenant_id=tenant_id, type=draft.type, encounter_id=encounter_id, payload=payload, occurred_at=occurred_at
            )
        )
        await session.flush()  # the message rows reference it
        for endpoint in endpoints:
            if draft.type in endpoint.event_types:
                session.add(WebhookMessage(endpoint_id=endpoint.id, event_id=event_id, tenant_id=tenant_id))
                queued += 1
        ids.append(event_id)
    return ids, queued


async def record_projection(session: AsyncSession, inp: ProjectInput, holds_before: list[Any]) -> bool:
    """The events of one projected encounter change; ids are derived from (encounter, seq), so a
    retried projection cannot announce its change twice. True when a message was queued for an
    endpoint, i.e. when there is anything to dispatch after the commit."""
    records = projection_events.touched(inp)
    claim_id = next(iter(records.get("claim", [])), None)
    if claim_id is None and inp.action in ("scrub_clean", "appeal_deadline_warning"):
        found = await repo.latest_claim_id(session, uuid.UUID(inp.encounter_id))
        claim_id = str(found) if found else None
    change = ProjectionChange(
        encounter_id=inp.encounter_id,
        action=inp.action,
        status_before=inp.before.get("status"),
        status_after=inp.after.get("status"),
        holds_before={h["id"]: h["reason"] for h in holds_before},
        holds_after={h["id"]: h["reason"] for h in inp.row.get("holds", [])},
        query_id=inp.query.query_id if inp.query else inp.reason,
        claim_id=claim_id,
        denial_ids=tuple(records.get("denial", [])) if inp.action == "remit_denied" else (),
        appeal_id=next(iter(records.get("appeal", [])), None),
        reason=inp.reason,
    )
    drafts = events_for(change)
    ids = [f"msg_{uuid.UUID(inp.encounter_id).hex}_{inp.seq}_{n}" for n in range(len(drafts))]
    _, queued = await _record(
        session, inp.tenant_id, drafts, inp.occurred_at, encounter_id=uuid.UUID(inp.encounter_id), event_ids=ids
    )
    return queued > 0


async def dispatch_encounter(
    sessions: async_sessionmaker[AsyncSession], client: Callable[[], Client], task_queue: str, encounter_id: uuid.UUID
) -> int:
    """Dispatch whatever of this encounter's events is still undispatched (usually nothing)."""
    return await _dispatch(sessions, client, task_queue, encounter_id=encounter_id)


async def dispatch(
    sessions: async_sessionmaker[AsyncSession], client: Callable[[], Client], task_queue: str, event_ids: Sequence[str]
) -> int:
    """Hand the undispatched messages of these events to their delivery workflows, in order."""
    if not event_ids:
        return 0
    return await _dispatch(sessions, client, task_queue, event_ids=event_ids)


async def _dispatch(
    sessions: async_sessionmaker[AsyncSession],
    client: Callable[[], Client],
    task_queue: str,
    *,
    encounter_id: uuid.UUID | None = None,
    event_ids: Sequence[str] | None = None,
) -> int:
    async with sessions.begin() as session:
        rows = await repo.undispatched(session, encounter_id=encounter_id, event_ids=event_ids)
        for message, event in rows:
            key = str(event.encounter_id) if event.encounter_id else event.id
            await client().start_workflow(
                WebhookDeliveryWorkflow.run,
                DeliveryInput(message.tenant_id, str(message.endpoint_id), key),
                id=delivery_workflow_id(str(message.endpoint_id), key),
                task_queue=task_queue,
                start_signal="enqueue",
                start_signal_args=[event.id],
            )
            message.dispatched = True
    if rows:
        log.info("outbound_events.dispatched", messages=len(rows))
    return len(rows)
