"""Code suggestions started beside the encounter workflow when its documents arrive.

The activity runs as a background task: the intake update (and the webhook waiting on it) never
waits for the engine, and a failed suggestion run leaves the chart workable without them. It runs
on the background (billing) task queue, so the engine's CPU is spent by the background worker
and not by the one answering coders and EHR webhooks.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from models.coding.suggestions import SuggestCodesInput

# Patch markers: intake starts the suggestion activity (histories recorded before replay without
# it); later on the background task queue.
SUGGEST_CODES = "suggest-codes"
SUGGEST_IN_BACKGROUND = "suggest-in-background"
_RUNNING: set["asyncio.Task[None]"] = set()


def start_suggestions(tenant_id: str, encounter_id: str, background_queue: str | None) -> None:
    queue = background_queue if background_queue and workflow.patched(SUGGEST_IN_BACKGROUND) else None
    task = asyncio.get_running_loop().create_task(_suggest(SuggestCodesInput(tenant_id, encounter_id), queue))
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)


async def _suggest(inp: SuggestCodesInput, task_queue: str | None) -> None:
    try:
        await workflow.execute_activity(
            "suggestions.compute",
            inp,
            result_type=int,
            task_queue=task_queue,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
    except ActivityError as exc:
        workflow.logger.warning("code suggestions failed; the chart is coded without them: %s", exc.cause)
