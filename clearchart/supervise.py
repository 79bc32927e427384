"""`up` keeps its embedded PostgreSQL and Temporal running: one that dies is started again.

Every `every` seconds each embedded server is checked; a dead one is logged (`postgres.died`,
`temporal.died`) and restarted on the same data, so the API and worker recover by themselves
(their clients reconnect; requests meanwhile get 503 with Retry-After). A restart that fails is
logged and tried again on the next round. Servers given by DATABASE_URL / TEMPORAL_ADDRESS are
someone else's to run and are not watched.
"""

import asyncio
import contextlib

import structlog

from clearchart.embedded import EmbeddedPostgres, TemporalDevServer

log = structlog.get_logger(__name__)


async def supervise(
    postgres: EmbeddedPostgres | None,
    temporal: TemporalDevServer | None,
    stop: asyncio.Event,
    *,
    every: float = 1.0,
) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
        if stop.is_set():
            return
        if postgres is not None and not stop.is_set():
            await _keep_postgres(postgres)
        if temporal is not None and not stop.is_set():
            await _keep_temporal(temporal)


async def _keep_postgres(postgres: EmbeddedPostgres) -> None:
    if await asyncio.to_thread(postgres.is_running):
        return
    log.warning("postgres.died", pgdata=str(postgres.pgdata))
    try:
        await asyncio.to_thread(postgres.start)
    except Exception as exc:  # keep supervising; the next round tries again
        log.error("postgres.restart_failed", error=str(exc))
        return
    log.warning("postgres.restarted", pgdata=str(postgres.pgdata))


async def _keep_temporal(temporal: TemporalDevServer) -> None:
    code = temporal.exit_code
    if code is None:
        return
    log.warning("temporal.died", exit_code=code, address=temporal.address)
    try:
        await temporal.restart()
    except Exception as exc:
        log.error("temporal.restart_failed", error=str(exc))
        return
    log.warning("temporal.restarted", address=temporal.address)
