"""The clearinghouse poll as a Temporal workflow: one run applies what the mailbox holds, and
`clearchart up` keeps a schedule that starts one run per interval."""

import uuid
from datetime import timedelta

import httpx
from temporalio.client import ScheduleActionStartWorkflow

from activities.clearinghouse_poll import ensure_schedule
from tests.api.claim_support import submitted_claim
from tests.api.test_billing_poller import start_at_newest
from tests.support import LiveStack, Tenant
from workflows.clearinghouse_poll import SCHEDULE_ID, ClearinghousePollWorkflow, PollResult


async def test_one_poll_run_applies_the_batch_answers_and_closes_the_paid_chart(live: LiveStack, tenant: Tenant, http: httpx.AsyncClient) -> None:
    await start_at_newest(live, http)
    enc, claim = await submitted_claim(tenant)
    result: PollResult = await live.temporal.execute_workflow(
        ClearinghousePollWorkflow.run, id=f"test-poll-{uuid.uuid4().hex[:8]}", task_queue=live.settings.billing_task_queue,
        execution_timeout=timedelta(minutes=2),
    )  # fmt: skip
    assert result.files >= 3
    assert result.kept == 0
    assert result.last_file_id is not None
    assert (await tenant.get(f"/v1/encounters/{enc}", "ops")).json()["status"] == "closed"
    assert (await tenant.get(f"/v1/claims/{claim['id']}", "ops")).json()["syntax_ack"] == "accepted"


async def test_the_schedule_is_created_once_and_follows_the_configured_interval(live: LiveStack) -> None:
    # An hour apart: no run starts while the test looks (runs would consume other tests' files).
    settings = live.settings.model_copy(update={"clearinghouse_poll_seconds": 3600.0})
    client = live.temporal
    try:
        await ensure_schedule(client, settings)
        await ensure_schedule(client, live.settings.model_copy(update={"clearinghouse_poll_seconds": 7200.0}))  # updated, not duplicated
        described = await client.get_schedule_handle(SCHEDULE_ID).describe()
        assert [i.every for i in described.schedule.spec.intervals] == [timedelta(hours=2)]
        assert described.schedule.policy.overlap.name == "SKIP"
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.task_queue == live.settings.billing_task_queue
    finally:
        await client.get_schedule_handle(SCHEDULE_ID).delete()
