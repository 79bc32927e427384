"""Resolve the database and Temporal a process should use: configured servers, else embedded ones."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from clearchart.embedded import EmbeddedPostgres, TemporalDevServer
from clearchart.migrate import upgrade
from clearchart.settings import Settings


@dataclass
class Stack:
    settings: Settings
    postgres: EmbeddedPostgres | None = None
    temporal: TemporalDevServer | None = None


def database_settings(settings: Settings) -> tuple[Settings, EmbeddedPostgres | None]:
    """DATABASE_URL when set; otherwise the embedded cluster under the data dir (started or adopted)."""
    if settings.database_url:
        return settings, None
    pg = EmbeddedPostgres(settings.data_dir)
    url = pg.start()
    return settings.model_copy(update={"database_url": url}), pg


@asynccontextmanager
async def running_stack(settings: Settings, *, migrate: bool = True) -> AsyncIterator[Stack]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings, pg = await asyncio.to_thread(database_settings, settings)
    stack = Stack(settings, postgres=pg)
    try:
        if migrate:
            await asyncio.to_thread(upgrade, settings.sqlalchemy_url)
        if not settings.temporal_address:
            stack.temporal = TemporalDevServer(
                settings.data_dir, port=settings.temporal_port, ui_port=settings.temporal_ui_port
            )
            await stack.temporal.start()
            stack.settings = settings.model_copy(update={"temporal_address": stack.temporal.address})
        yield stack
    finally:
        if stack.temporal is not None:
            await stack.temporal.stop()
        if pg is not None:
            await asyncio.to_thread(pg.stop)
