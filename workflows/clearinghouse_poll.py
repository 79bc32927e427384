"""One poll of the clearinghouse mailbox, started by a Temporal Schedule.

The schedule (id ``clearinghouse-poll``, every ``CLEARCHART_CLEARINGHOUSE_POLL_SECONDS``, overlap
SKIP) makes each poll a workflow run, so its position (the last file it recorded), its retries and
its failures are visible in Temporal beside the files it applied. The activity is the same poll
the loop ran (`clearchart.billing_poller.poll_once`): one at a time, idempotent, never stuck on a
file. A failed poll is retried with backoff a few times and then the run fails, visibly; the next
scheduled run tries again.
"""

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

POLL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(seconds=30), maximum_attempts=4)
SCHEDULE_ID = "clearinghouse-poll"


@dataclass(frozen=True)
class PollResult:
    files: int
    applied: int
    kept: int
    last_file_id: str | None = None


@workflow.defn(name="ClearinghousePoll")
class ClearinghousePollWorkflow:
    @workflow.run
    async def run(self) -> PollResult:
        result: PollResult = await workflow.execute_activity(
            "clearinghouse.poll", result_type=PollResult,
            start_to_close_timeout=timedelta(minutes=10), heartbeat_timeout=timedelta(minutes=2), retry_policy=POLL_RETRY,
        )  # fmt: skip
        return result
