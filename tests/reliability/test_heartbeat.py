"""Long activities heartbeat by themselves while they run, so a heartbeat timeout catches only
attempts that really stopped (a blocked loop, a dead worker)."""

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, TimeoutError, TimeoutType
from temporalio.worker import Interceptor, Worker

from clearchart.heartbeat import HeartbeatInterceptor

WORK_SECONDS = 2.5


@activity.defn(name="test.slow")
async def slow() -> str:
    await asyncio.sleep(WORK_SECONDS)  # stands for a long, well-behaved piece of work
    return "done"


@workflow.defn(name="HeartbeatProbe", sandboxed=False)
class HeartbeatProbe:
    @workflow.run
    async def run(self) -> str:
        result: str = await workflow.execute_activity(
            slow,
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=1),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        return result


async def _run(client: Client, interceptors: list[Interceptor]) -> str:
    queue = f"hb-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[HeartbeatProbe], activities=[slow], interceptors=interceptors):
        return await client.execute_workflow(HeartbeatProbe.run, id=f"hb-{uuid.uuid4()}", task_queue=queue)


class TestHeartbeats:
    async def test_an_activity_longer_than_its_heartbeat_timeout_completes(self, temporal_client: Client) -> None:
        assert await _run(temporal_client, [HeartbeatInterceptor()]) == "done"

    async def test_without_the_interceptor_it_times_out(self, temporal_client: Client) -> None:
        with pytest.raises(WorkflowFailureError) as failed:
            await _run(temporal_client, [])
        cause = failed.value.cause
        assert isinstance(cause, ActivityError)
        assert isinstance(cause.cause, TimeoutError)
        assert cause.cause.type == TimeoutType.HEARTBEAT
