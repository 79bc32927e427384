"""Resolve the database and Temporal a process should use: configured servers, else embedded ones."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from clearchart.db_roles import app_url, provision
from clearchart.embedded import EmbeddedPostgres, TemporalDevServer
from clearchart.migrate import upgrade
from clearchart.secret_box import encrypt_stored_secrets, secret_keys
from clearchart.settings import Settings


@dataclass
class Stack:
    settings: Settings
    postgres: EmbeddedPostgres | None = None
    temporal: TemporalDevServer | None = None


def database_settings(settings: Settings) -> tuple[Settings, EmbeddedPostgres | None]:
    """DATABASE_URL when set; otherwise the embedded cluster under the data dir (started or adopted),
    reached as the application's role (`migration_settings` gives its superuser)."""
    if settings.database_url:
        return settings, None
    pg = EmbeddedPostgres(settings.data_dir)
    url = app_url(pg.start(), settings.secret_key)
    return settings.model_copy(update={"database_url": url}), pg


def migrate_database(settings: Settings) -> Settings:
    """Roles and schema: through MIGRATION_DATABASE_URL (or the embedded superuser) when there is
    one, returning settings that reach the database as the application's role; else DATABASE_URL
    migrates as it is (a deployment that manages its roles itself)."""
    admin = settings.migration_database_url
    if not admin and not settings.database_url:
        admin = EmbeddedPostgres(settings.data_dir).start()
    if not admin:
        upgrade(settings.sqlalchemy_url)
        return settings

    def as_url(url: str) -> str:
        return settings.model_copy(update={"database_url": url}).sqlalchemy_url

    app = provision(as_url(admin), settings.secret_key, as_url(settings.database_url) or None)
    encrypt_stored_secrets(app, secret_keys(settings))
    return settings.model_copy(update={"database_url": app})


@asynccontextmanager
async def running_stack(settings: Settings, *, migrate: bool = True) -> AsyncIterator[Stack]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings, pg = await asyncio.to_thread(database_settings, settings)
    stack = Stack(settings, postgres=pg)
    try:
        if migrate and pg is not None:
            await asyncio.to_thread(provision, pg.url(), settings.secret_key, settings.sqlalchemy_url)
            await asyncio.to_thread(encrypt_stored_secrets, settings.sqlalchemy_url, secret_keys(settings))
        elif migrate:
            settings = stack.settings = await asyncio.to_thread(migrate_database, settings)
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
