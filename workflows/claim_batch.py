"""Claims waiting to go out to the clearinghouse for one tenant and payer.

`claims.submit` (the encounter workflow's billing step) only queues its claim: it marks the claim
`queued` and signals this workflow (signal-with-start, id ``claim-batch/<tenant>/<payer>``). The
workflow cuts a batch when `size` claims wait or `window` has passed since the first of them,
sends it with one activity (one interchange, one pyx12 run at the clearinghouse instead of one
per claim) and ends when nothing waits; the next claim starts a new run under the same id.
Temporal keeps the queue, the timer and the send's retries, so a worker restart loses nothing.
"""

import contextlib
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.core import ACTIVITY_TIMEOUT, HEARTBEAT_TIMEOUT

SEND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1), maximum_attempts=0)
"""A clearinghouse outage holds the batch, never drops it: the send is idempotent by batch name."""
BATCHES_PER_RUN = 50
"""Continue as new after this many batches so a busy payer's history stays short."""


def claim_batch_workflow_id(tenant_id: str, payer_id: str | None) -> str:
    return f"claim-batch/{tenant_id}/{payer_id or '-'}"


@dataclass
class BatchInput:
    tenant_id: str
    payer_id: str | None
    window_seconds: float
    size: int
    claim_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SendBatch:
    tenant_id: str
    payer_id: str | None
    batch_id: str
    claim_ids: list[str]


@dataclass(frozen=True)
class BatchSent:
    batch_id: str
    claims: int
    status: str
    detail: str = ""


@workflow.defn(name="ClaimBatch")
class ClaimBatchWorkflow:
    def __init__(self) -> None:
        self._pending: list[str] = []

    @workflow.signal
    def add(self, claim_id: str) -> None:
        """A claim is ready to go out (a repeat of a waiting claim is ignored)."""
        if claim_id not in self._pending:
            self._pending.append(claim_id)

    @workflow.query
    def waiting(self) -> list[str]:
        return list(self._pending)

    @workflow.run
    async def run(self, inp: BatchInput) -> int:
        for claim_id in inp.claim_ids:
            self.add(claim_id)
        sent = 0
        while self._pending:
            if len(self._pending) < inp.size and inp.window_seconds > 0:
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: len(self._pending) >= inp.size, timeout=timedelta(seconds=inp.window_seconds))
            take, self._pending = self._pending[: inp.size], self._pending[inp.size :]
            await workflow.execute_activity(
                "claims.send_batch", SendBatch(inp.tenant_id, inp.payer_id, str(workflow.uuid4()), take), result_type=BatchSent,
                start_to_close_timeout=ACTIVITY_TIMEOUT * 4, heartbeat_timeout=HEARTBEAT_TIMEOUT, retry_policy=SEND_RETRY,
            )  # fmt: skip
            sent += 1
            if sent >= BATCHES_PER_RUN and self._pending:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(BatchInput(inp.tenant_id, inp.payer_id, inp.window_seconds, inp.size, list(self._pending)))
        return sent
