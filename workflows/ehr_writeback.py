"""Writing a physician's query answer (and addendum) back to the EHR as a DocumentReference.

A workflow so the write survives an EHR outage of up to three days: its one activity retries
with backoff; a refusal by the EHR (4xx) is final and logged.
"""

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

WRITE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(hours=2),
    non_retryable_error_types=["EhrRejected"],
)


def writeback_workflow_id(query_id: str) -> str:
    return f"ehr-writeback/{query_id}"


@dataclass(frozen=True)
class WriteBackInput:
    tenant_id: str
    query_id: str


@workflow.defn
class EhrWriteBackWorkflow:
    @workflow.run
    async def run(self, inp: WriteBackInput) -> str:
        result: str = await workflow.execute_activity(
            "ehr.write_back_answer",
            inp,
            result_type=str,
            start_to_close_timeout=timedelta(minutes=1),
            schedule_to_close_timeout=timedelta(days=3),
            retry_policy=WRITE_RETRY,
        )
        return result
