"""Delivery of outbound events on the time-skipping server: the retry schedule, Retry-After,
410 disabling the endpoint, order per encounter. Real database, real HTTP receiver, real
attempt activity; only the clock is skipped."""

import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.webhooks import WebhookActivities
from clearchart import admin
from models.webhooks.events import RETRY_SCHEDULE, EventDraft
from models.webhooks.tables import WebhookAttempt, WebhookEndpoint, WebhookMessage
from services import outbound_events, webhook_endpoints
from tests.webhook_receiver import Receiver, receiver
from workflows.webhook_delivery import WebhookDeliveryWorkflow, delivery_workflow_id


@pytest_asyncio.fixture(loop_scope="session")
async def hooks() -> AsyncIterator[Receiver]:
    async with receiver() as box:
        yield box


async def subscribed(sessions: async_sessionmaker[AsyncSession], url: str) -> tuple[str, uuid.UUID]:
    tenant_id = f"t-{uuid.uuid4().hex[:10]}"
    await admin.create_tenant(sessions, tenant_id, "Webhook tenant", {webhook_endpoints.ALLOW_PRIVATE_SETTING: True})
    async with sessions.begin() as session:
        created = await webhook_endpoints.create(session, tenant_id, "integrator-1", url, ["encounter.status_changed"], "test")
    return tenant_id, created.endpoint.id


async def emit(sessions: async_sessionmaker[AsyncSession], tenant_id: str, encounter_id: uuid.UUID, to: str) -> str:
    async with sessions.begin() as session:
        [event_id] = await outbound_events.record(
            session, tenant_id, [EventDraft("encounter.status_changed", {"encounter_id": str(encounter_id), "to": to})],
            datetime.now(UTC), encounter_id=encounter_id,
        )  # fmt: skip
    return event_id


async def attempts(sessions: async_sessionmaker[AsyncSession], endpoint_id: uuid.UUID, event_id: str) -> list[WebhookAttempt]:
    async with sessions() as session:
        stmt = select(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint_id, WebhookAttempt.event_id == event_id).order_by(WebhookAttempt.id)
        return list((await session.scalars(stmt)).all())


async def message_status(sessions: async_sessionmaker[AsyncSession], endpoint_id: uuid.UUID, event_id: str) -> str:
    async with sessions() as session:
        return (await session.get_one(WebhookMessage, (endpoint_id, event_id))).status


async def deliver(env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], endpoint_id: uuid.UUID, encounter_id: uuid.UUID, event_ids: list[str]) -> None:
    """Dispatch the events and run their delivery workflow until it idles out."""
    queue = f"hooks-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient() as http:
        acts = WebhookActivities(sessions, http)
        async with Worker(env.client, task_queue=queue, workflows=[WebhookDeliveryWorkflow], activities=[acts.attempt]):
            for event_id in event_ids:
                assert await outbound_events.dispatch(sessions, lambda: env.client, queue, [event_id]) == 1
            # Longer than the whole schedule plus the idle wait: every timer fires.
            await env.sleep(sum(RETRY_SCHEDULE, timedelta()) + timedelta(hours=2))
            handle = env.client.get_workflow_handle(delivery_workflow_id(str(endpoint_id), str(encounter_id)))
            assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED


class TestRetries:
    async def test_retry_after_on_503_is_honoured_then_the_schedule_resumes(
        self, time_skipping: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], hooks: Receiver
    ) -> None:
        tenant_id, endpoint_id = await subscribed(sessions, hooks.url)
        encounter_id = uuid.uuid4()
        event_id = await emit(sessions, tenant_id, encounter_id, "ready")
        hooks.answer((503, {"retry-after": "3600"}), (500, {}), (429, {"retry-after": "1"}))
        await deliver(time_skipping, sessions, endpoint_id, encounter_id, [event_id])
        tried = await attempts(sessions, endpoint_id, event_id)
        assert [a.status_code for a in tried] == [503, 500, 429, 204]
        gaps = [b.attempted_at - a.attempted_at for a, b in itertools.pairwise(tried)]
        assert gaps[0] >= timedelta(hours=1)  # Retry-After beat the 5 s of the schedule
        assert timedelta(minutes=5) <= gaps[1] < timedelta(minutes=6)  # back on the schedule
        assert timedelta(minutes=30) <= gaps[2] < timedelta(minutes=31)  # a short Retry-After never hurries it
        assert await message_status(sessions, endpoint_id, event_id) == "delivered"

    async def test_an_endpoint_failing_for_three_days_gets_every_scheduled_attempt_then_is_given_up(
        self, time_skipping: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], hooks: Receiver
    ) -> None:
        tenant_id, endpoint_id = await subscribed(sessions, hooks.url)
        encounter_id = uuid.uuid4()
        event_id = await emit(sessions, tenant_id, encounter_id, "ready")
        hooks.answer(*[(500, {})] * len(RETRY_SCHEDULE))
        await deliver(time_skipping, sessions, endpoint_id, encounter_id, [event_id])
        tried = await attempts(sessions, endpoint_id, event_id)
        assert len(tried) == len(RETRY_SCHEDULE)
        span = tried[-1].attempted_at - tried[0].attempted_at
        assert sum(RETRY_SCHEDULE, timedelta()) <= span < sum(RETRY_SCHEDULE, timedelta()) + timedelta(minutes=5)
        assert await message_status(sessions, endpoint_id, event_id) == "failed"

    async def test_410_disables_the_endpoint_and_later_events_are_skipped(
        self, time_skipping: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], hooks: Receiver
    ) -> None:
        tenant_id, endpoint_id = await subscribed(sessions, hooks.url)
        encounter_id = uuid.uuid4()
        first = await emit(sessions, tenant_id, encounter_id, "ready")
        second = await emit(sessions, tenant_id, encounter_id, "in_coding")
        hooks.answer((410, {}))
        before = len(hooks.received)
        await deliver(time_skipping, sessions, endpoint_id, encounter_id, [first, second])
        assert len(hooks.received) == before + 1
        async with sessions() as session:
            endpoint = await session.get_one(WebhookEndpoint, endpoint_id)
        assert endpoint.status == "disabled"
        assert "410" in (endpoint.disabled_reason or "")
        assert await message_status(sessions, endpoint_id, first) == "failed"
        assert await message_status(sessions, endpoint_id, second) == "skipped"


class TestOrder:
    async def test_a_later_event_of_the_encounter_waits_for_the_earlier_one(
        self, time_skipping: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], hooks: Receiver
    ) -> None:
        tenant_id, endpoint_id = await subscribed(sessions, hooks.url)
        encounter_id = uuid.uuid4()
        first = await emit(sessions, tenant_id, encounter_id, "ready")
        second = await emit(sessions, tenant_id, encounter_id, "in_coding")
        hooks.answer((500, {}), (500, {}))
        before = len(hooks.received)
        await deliver(time_skipping, sessions, endpoint_id, encounter_id, [first, second])
        ids = [r.headers["webhook-id"] for r in hooks.received[before:]]
        assert ids == [first, first, first, second]
