"""The clearinghouse poll as a Temporal activity (see `workflows.clearinghouse_poll`)."""

import asyncio
import contextlib
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from clearchart.billing_poller import DEAD_LETTER_STATUSES, heartbeat, poll_once
from clearchart.settings import Settings
from workflows.clearinghouse_poll import SCHEDULE_ID, ClearinghousePollWorkflow, PollResult


class PollActivities:
    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession], client: Client, http: httpx.AsyncClient) -> None:
        self._settings, self._sessions, self._client, self._http = settings, sessions, client, http

    @activity.defn(name="clearinghouse.poll")
    async def poll(self) -> PollResult:
        """One poll; its outcome is also the heartbeat `/readyz` reads. A failure is raised so
        Temporal retries it and shows it."""
        beating = asyncio.create_task(_beat())
        try:
            handled = await poll_once(self._settings, self._sessions, self._client, self._http)
        except Exception as exc:
            await heartbeat(self._sessions, self._settings.clearinghouse, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
        await heartbeat(self._sessions, self._settings.clearinghouse, None)
        kept = sum(1 for h in handled if h["status"] in DEAD_LETTER_STATUSES)
        return PollResult(len(handled), len(handled) - kept, kept, handled[-1]["file_id"] if handled else None)


async def _beat() -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(10)


async def ensure_schedule(client: Client, settings: Settings) -> None:
    """Create the poll schedule, or bring an existing one to this deployment's interval and queue."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(ClearinghousePollWorkflow.run, id=SCHEDULE_ID, task_queue=settings.billing_task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=settings.clearinghouse_poll_seconds))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:

        async def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(SCHEDULE_ID).update(replace)
