"""Long activities heartbeat by themselves while they run, so a heartbeat timeout catches only
attempts that really stopped (a blocked loop, a dead worker)."""

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, TimeoutError, TimeoutType
from temporalio.worker import Interceptor, Worker

from clearchart.heartbeat import HeartbeatInterceptor
from tests.support import eventually

HEARTBEAT_TIMEOUT = timedelta(seconds=1)


class SlowWork:
    """Long, well-behaved work that never heartbeats itself and ends when the test releases it."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    @activity.defn(name="test.slow")
    async def slow(self) -> str:
        await asyncio.wait_for(self.release.wait(), timeout=60)
        return "done"


@workflow.defn(name="HeartbeatProbe", sandboxed=False)
class HeartbeatProbe:
    @workflow.run
    async def run(self) -> str:
        result: str = await workflow.execute_activity(
            "test.slow",
            result_type=str,
            start_to_close_timeout=timedelta(seconds=90),
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        return result


def _outlived_its_heartbeat_timeout(description: WorkflowExecutionDescription) -> bool:
    """The running attempt has heartbeated later than one heartbeat timeout after it started."""
    pending = description.raw_description.pending_activities
    if not pending or not pending[0].HasField("last_heartbeat_time"):
        return False
    alive = pending[0].last_heartbeat_time.ToDatetime() - pending[0].last_started_time.ToDatetime()
    return alive > HEARTBEAT_TIMEOUT * 1.5


async def _run(client: Client, interceptors: list[Interceptor], *, release_once_it_outlives_the_timeout: bool) -> str:
    queue = f"hb-{uuid.uuid4().hex[:8]}"
    work = SlowWork()
    async with Worker(client, task_queue=queue, workflows=[HeartbeatProbe], activities=[work.slow], interceptors=interceptors):
        handle = await client.start_workflow(HeartbeatProbe.run, id=f"hb-{uuid.uuid4()}", task_queue=queue)
        if release_once_it_outlives_the_timeout:
            await eventually(handle.describe, until=_outlived_its_heartbeat_timeout, every=0.2)
            work.release.set()
        return await handle.result()


class TestHeartbeats:
    async def test_an_activity_longer_than_its_heartbeat_timeout_completes(self, temporal_client: Client) -> None:
        assert await _run(temporal_client, [HeartbeatInterceptor()], release_once_it_outlives_the_timeout=True) == "done"

    async def test_without_the_interceptor_it_times_out(self, temporal_client: Client) -> None:
        with pytest.raises(WorkflowFailureError) as failed:
            await _run(temporal_client, [], release_once_it_outlives_the_timeout=False)
        cause = failed.value.cause
        assert isinstance(cause, ActivityError)
        assert isinstance(cause.cause, TimeoutError)
        assert cause.cause.type == TimeoutType.HEARTBEAT
