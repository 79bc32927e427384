"""Shared fixtures: a real PostgreSQL (embedded, or DATABASE_URL), real Temporal servers, a live API.

Tests isolate by tenant rather than by transaction: workflows write through activities in
their own transactions, so each test gets a fresh tenant with its own vendors, queues and users.
"""

import asyncio
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import pytest_asyncio
import uvicorn
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from clearchart.db import make_engine, make_sessions
from clearchart.db_roles import drop_roles, provision
from clearchart.embedded import EmbeddedPostgres, TemporalDevServer, free_port
from clearchart.migrate import upgrade
from clearchart.payload_codec import data_converter
from clearchart.settings import Settings
from clearchart.worker import build_worker
from tests.support import LiveStack, Tenant, make_tenant, started

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SAMPLES = FIXTURES  # public sample messages, with provenance in tests/fixtures/README.md


def _bin(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed; run scripts/bootstrap")
    return found


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database migrated to head, on DATABASE_URL's server or on an embedded cluster."""
    name = f"cc_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    configured = os.environ.get("DATABASE_URL")
    if configured:
        base = make_url(Settings(DATABASE_URL=configured).sqlalchemy_url)
        admin = base.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = base.set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        drop_roles(admin, name)
        return
    # Not under pytest's tmp dir: a concurrent pytest resets it to 0700, locking out the
    # unprivileged user PostgreSQL runs as.
    pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="clearchart-test-pg-")))
    pg.start()
    url = pg.create_database(name)
    upgrade(url)
    yield url
    pg.stop()
    shutil.rmtree(pg.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def app_database_url(database_url: str) -> str:
    """The same database as the application's own role: owns no table, cannot switch triggers off."""
    return provision(database_url, Settings().secret_key)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sessions(app_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(app_database_url)
    yield make_sessions(engine)
    await engine.dispose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def admin_sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A superuser's sessions: what someone with direct database access could do."""
    engine = make_engine(database_url, pool_size=2)
    yield make_sessions(engine)
    await engine.dispose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TemporalDevServer]:
    server = TemporalDevServer(tmp_path_factory.mktemp("temporal"), port=free_port(), persist=False, headless=True)
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_client(dev_server: TemporalDevServer) -> Client:
    """Payloads encrypted as in production (keys from the key file, never from Temporal)."""
    return await Client.connect(dev_server.address, data_converter=data_converter(Settings()))


@pytest_asyncio.fixture(loop_scope="session")
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    """One server per test: a previous test's timers must not hold up this test's clock."""
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=_bin("temporal-test-server"))
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def live(
    app_database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    admin_sessions: async_sessionmaker[AsyncSession],
    temporal_client: Client,
    dev_server: TemporalDevServer,
) -> AsyncIterator[LiveStack]:
    """Worker plus the API served by uvicorn on a real port: tests talk HTTP to it."""
    settings = Settings(
        DATABASE_URL=app_database_url,
        TEMPORAL_ADDRESS=dev_server.address,
        CLEARCHART_TASK_QUEUE=f"test-{uuid.uuid4().hex[:8]}",
        CLEARCHART_API_PORT=free_port(),
        CLEARCHART_OPERATOR_TENANT="t-operations",
    )
    app = create_app(settings, sessions=sessions, temporal=temporal_client)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.api_port, log_config=None))
    async with httpx.AsyncClient(timeout=30) as worker_http, build_worker(temporal_client, sessions, settings, worker_http):
        serving = asyncio.create_task(server.serve())
        await started(server, serving)
        yield LiveStack(settings, sessions, temporal_client, f"http://127.0.0.1:{settings.api_port}", admin_sessions)
        server.should_exit = True
        await serving


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=60) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def tenant(live: LiveStack, http: httpx.AsyncClient) -> Tenant:
    return await make_tenant(live, http)


@pytest_asyncio.fixture(loop_scope="session")
async def other_tenant(live: LiveStack, http: httpx.AsyncClient) -> Tenant:
    return await make_tenant(live, http)
