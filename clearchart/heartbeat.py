"""Heartbeats for every activity that asks for them, so a stuck attempt is noticed in seconds.

An activity scheduled with a `heartbeat_timeout` gets a heartbeat at a third of it for as long
as its coroutine keeps the event loop turning. An attempt that blocks the loop (a runaway parse)
or whose worker died stops heartbeating, Temporal times it out after `heartbeat_timeout` instead
of `start_to_close_timeout`, and the bounded retry policy decides what happens next. Activities
with progress to report (chunked work) call `activity.heartbeat(progress)` themselves as well.
"""

import asyncio
import contextlib
import inspect
from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor


class _Heartbeat(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        timeout = activity.info().heartbeat_timeout
        if not timeout or not inspect.iscoroutinefunction(input.fn):
            return await self.next.execute_activity(input)
        beating = asyncio.create_task(_beat(timeout.total_seconds() / 3))
        try:
            return await self.next.execute_activity(input)
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating


async def _beat(every: float) -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(every)


class HeartbeatInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Heartbeat(next)
