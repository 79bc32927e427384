"""Code suggestions started beside the encounter workflow when its documents arrive.

The activity runs as a background task: the intake update (and the webhook waiting on it) never
waits for the engine, and a failed suggestion run leaves the chart workable without them.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from models.coding.suggestions import SuggestCodesInput

# Patch marker: intake starts the suggestion activity (histories recorded before replay without it).
SUGGEST_CODES = "suggest-codes"
_RUNNING: set["asyncio.Task[None]"] = set()


def start_suggestions(tenant_id: str, encounter_id: str) -> None:
    task = asyncio.get_running_loop().create_task(_suggest(SuggestCodesInput(tenant_id, encounter_id)))
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)


async def _suggest(inp: SuggestCodesInput) -> None:
    try:
        await workflow.execute_activity(
            "suggestions.compute",
            inp,
            result_type=int,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
    except ActivityError as exc:
        workflow.logger.warning("code suggestions failed; the chart is coded without them: %s", exc.cause)
