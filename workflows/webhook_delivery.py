"""Delivering outbound events to one endpoint, in order, for one encounter.

One workflow per (endpoint, encounter): events of an encounter reach an endpoint in the order
they happened, and a slow or failing endpoint delays only its own deliveries. Each event is
attempted on the retry schedule (about three days); the workflow's timers are the retry clock,
so a restart loses nothing. It ends after an idle while and a later event starts it again.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from models.webhooks.events import next_delay

IDLE = timedelta(minutes=10)
CONTINUE_AFTER = 200  # events per run, to keep the history bounded
ATTEMPT_TIMEOUT = timedelta(seconds=60)
# Retries of the attempt activity itself (database or worker trouble), not of the endpoint.
ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


def delivery_workflow_id(endpoint_id: str, key: str) -> str:
    return f"webhook-delivery/{endpoint_id}/{key}"


@dataclass(frozen=True)
class DeliveryInput:
    tenant_id: str
    endpoint_id: str
    key: str  # the encounter id, or the event id for events outside any encounter
    pending: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AttemptInput:
    endpoint_id: str
    event_id: str
    attempt: int
    attempted_at: datetime
    final: bool = False


@dataclass(frozen=True)
class AttemptResult:
    outcome: str  # delivered | retry | gone | skipped
    status_code: int | None = None
    retry_after_seconds: float | None = None


@workflow.defn
class WebhookDeliveryWorkflow:
    @workflow.init
    def __init__(self, inp: DeliveryInput) -> None:
        self._queue: list[str] = list(inp.pending)

    @workflow.run
    async def run(self, inp: DeliveryInput) -> int:
        done = 0
        while True:
            try:
                await workflow.wait_condition(lambda: bool(self._queue), timeout=IDLE)
            except TimeoutError:
                return done
            await self._deliver(inp.endpoint_id, self._queue[0])
            self._queue.pop(0)
            done += 1
            if done >= CONTINUE_AFTER or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(DeliveryInput(inp.tenant_id, inp.endpoint_id, inp.key, list(self._queue)))

    async def _deliver(self, endpoint_id: str, event_id: str) -> None:
        attempt = 1
        while True:
            delay = next_delay(attempt)
            result: AttemptResult = await workflow.execute_activity(
                "webhooks.attempt",
                AttemptInput(endpoint_id, event_id, attempt, workflow.now(), final=delay is None),
                result_type=AttemptResult,
                start_to_close_timeout=ATTEMPT_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
            )
            if result.outcome != "retry":
                return
            retry_after = timedelta(seconds=result.retry_after_seconds) if result.retry_after_seconds is not None else None
            delay = next_delay(attempt, retry_after)
            if delay is None:
                return
            await workflow.sleep(delay)
            attempt += 1

    @workflow.signal
    def enqueue(self, event_id: str) -> None:
        if event_id not in self._queue:
            self._queue.append(event_id)
