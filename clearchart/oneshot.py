"""One database task from a CLI command: its own small engine, disposed when the task ends."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearchart.db import make_engine, make_sessions
from clearchart.settings import Settings
from clearchart.stack import database_settings

T = TypeVar("T")


def with_sessions(settings: Settings, work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    """Run `work` with a session factory on the configured (or embedded) database."""
    settings, _pg = database_settings(settings)

    async def run() -> T:
        engine = make_engine(settings.sqlalchemy_url, pool_size=1)
        try:
            return await work(make_sessions(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())
