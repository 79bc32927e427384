"""A worker's stop is bounded: a local activity the SDK keeps retrying after shutdown was asked
for (as a projection does while PostgreSQL is down) cannot hold the stop past its deadline."""

import time
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

from clearchart.worker import Workers
from tests.support import eventually


class DatabaseDown:
    """Every attempt fails, as a write does while the database is unreachable."""

    def __init__(self) -> None:
        self.attempts = 0

    @activity.defn(name="test.write_while_down")
    async def write(self) -> None:
        self.attempts += 1
        raise ConnectionError("connection refused")


@workflow.defn(name="StopProbe", sandboxed=False)
class StopProbe:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_local_activity(
            "test.write_while_down",
            start_to_close_timeout=timedelta(seconds=5),
            # Retries outlast the stop's deadline, then run out, so the abandoned worker ends too.
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=100), maximum_interval=timedelta(milliseconds=200), maximum_attempts=40
            ),
        )


async def _attempts(work: DatabaseDown) -> int:
    return work.attempts


class TestBoundedStop:
    async def test_a_retrying_local_activity_does_not_hold_the_stop(self, temporal_client: Client) -> None:
        queue = f"stop-{uuid.uuid4().hex[:8]}"
        work = DatabaseDown()
        worker = Worker(temporal_client, task_queue=queue, workflows=[StopProbe], activities=[work.write])
        workers = Workers([worker], shutdown_seconds=2)
        async with workers:
            await temporal_client.start_workflow(StopProbe.run, id=f"stop-{uuid.uuid4()}", task_queue=queue)
            await eventually(lambda: _attempts(work), until=lambda n: n >= 2, within=30)
            began = time.monotonic()
            stopped = await workers.stop()
            waited = time.monotonic() - began
            # The SDK's own shutdown is still waiting on the retrying attempt: unbounded, it would hang.
            assert not worker.is_shutdown
        assert stopped is False, "abandoned at the deadline, logged as worker.stop_abandoned"
        assert waited < 10, f"the stop waited {waited:.1f} s"

        async def shut_down() -> bool:
            return worker.is_shutdown

        # Nothing is left behind: once the attempts run out, the abandoned worker finishes stopping.
        assert await eventually(shut_down, until=bool, within=60)
        assert work.attempts == 40
