"""Chaos: webhook load with redeliveries while the worker, Temporal and PostgreSQL are each killed
and brought back. Afterwards every accepted delivery has exactly one encounter, every projection
equals its workflow's state, and the audit chains verify.

The stack is this test's own (its own PostgreSQL cluster and Temporal server), so killing them
touches nothing else. Senders behave like a real EHR: they retry 409/429/5xx and lost
connections with the same webhook-id, and stop at 202 or another 4xx.
"""

import asyncio
import contextlib
import os
import random
import shutil
import signal
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.main import create_app
from clearchart.db import make_engine, make_sessions
from clearchart.embedded import EmbeddedPostgres, TemporalDevServer, free_port
from clearchart.migrate import upgrade
from clearchart.payload_codec import data_converter
from clearchart.settings import Settings
from clearchart.temporal import connect
from clearchart.worker import build_worker
from integrations.sandbox.bundles import synthetic_bundle
from models.tables import Encounter
from tests.support import LiveStack, Tenant, eventually, make_tenant, started
from workflows.encounter import EncounterWorkflow

DISTINCT = 24
COPIES = 2
SENDERS = 6


@dataclass
class ChaosStack:
    pg: EmbeddedPostgres
    temporal: TemporalDevServer
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    worker_client: Client
    http: httpx.AsyncClient
    worker: "asyncio.Task[None] | None" = None

    def start_worker(self) -> None:
        self.worker = asyncio.create_task(build_worker(self.worker_client, self.sessions, self.settings, self.http).run())

    async def kill_worker(self) -> None:
        assert self.worker is not None
        self.worker.cancel()
        with contextlib.suppress(BaseException):
            await self.worker

    async def kill_temporal(self) -> None:
        assert self.temporal.pid is not None
        os.kill(self.temporal.pid, signal.SIGKILL)
        await eventually(lambda: _value(self.temporal.exit_code), until=lambda c: c is not None, within=10)
        await self.temporal.restart()

    async def kill_postgres(self) -> None:
        pid = int((self.pg.pgdata / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)
        await eventually(lambda: asyncio.to_thread(self.pg.is_running), until=lambda up: not up, within=10)

        async def restarted() -> bool:
            try:
                await asyncio.to_thread(self.pg.start)
            except Exception:  # orphaned backends still hold shared memory: try again shortly
                return False
            return True

        await eventually(restarted, until=bool, within=60)


async def _value(value: int | None) -> int | None:
    return value


@pytest_asyncio.fixture(loop_scope="session")
async def chaos(tmp_path: Path) -> AsyncIterator[tuple[ChaosStack, Tenant]]:
    pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="clearchart-chaos-pg-")))
    url = await asyncio.to_thread(pg.start)
    await asyncio.to_thread(upgrade, url)
    temporal = TemporalDevServer(tmp_path / "temporal", port=free_port(), headless=True, persist=True)
    await temporal.start()
    settings = Settings(
        DATABASE_URL=url,
        TEMPORAL_ADDRESS=temporal.address,
        CLEARCHART_TASK_QUEUE=f"chaos-{uuid.uuid4().hex[:8]}",
        CLEARCHART_API_PORT=free_port(),
    )
    engine = make_engine(settings.sqlalchemy_url)
    sessions = make_sessions(engine)
    app = create_app(settings, sessions=sessions, temporal=await connect(settings, interactive=True))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.api_port, log_config=None))
    async with httpx.AsyncClient(timeout=60) as http:
        stack = ChaosStack(pg, temporal, settings, sessions, await Client.connect(temporal.address, data_converter=data_converter(settings)), http)
        stack.start_worker()
        serving = asyncio.create_task(server.serve())
        await started(server, serving)
        live = LiveStack(settings, sessions, stack.worker_client, f"http://127.0.0.1:{settings.api_port}")
        try:
            yield stack, await make_tenant(live, http)
        finally:
            server.should_exit = True
            await serving
            await stack.kill_worker()
            await engine.dispose()
            await temporal.stop()
            await asyncio.to_thread(pg.stop)
            shutil.rmtree(pg.data_dir, ignore_errors=True)


async def _deliver(tenant: Tenant, external_id: str, msg_id: str) -> httpx.Response:
    """An EHR's sender: the same webhook-id again until a final answer (not 409, 429 or 5xx)."""
    bundle = synthetic_bundle(encounter_id=external_id, patient_id=f"p-{external_id}")

    async def attempt() -> httpx.Response | None:
        try:
            return await tenant.push(bundle, msg_id=msg_id)
        except httpx.TransportError:
            return None  # the API is being restarted

    def final(response: httpx.Response | None) -> bool:
        return response is not None and response.status_code not in (409, 429) and response.status_code < 500

    answer = await eventually(attempt, until=final, within=300, every=0.2)
    assert answer is not None
    return answer


@pytest.mark.timeout(600)
async def test_no_delivery_is_lost_or_doubled_while_every_part_is_killed(chaos: tuple[ChaosStack, Tenant]) -> None:
    stack, tenant = chaos
    deliveries = [(f"chaos-{i}-{uuid.uuid4().hex[:6]}", f"msg-{i}") for i in range(DISTINCT)] * COPIES
    random.Random(12).shuffle(deliveries)
    pending: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for item in deliveries:
        pending.put_nowait(item)
    answers: list[tuple[str, httpx.Response]] = []

    async def sender() -> None:
        while not pending.empty():
            external_id, msg_id = pending.get_nowait()
            answers.append((external_id, await _deliver(tenant, external_id, f"{external_id}-{msg_id}")))

    async def restart_worker() -> None:
        await stack.kill_worker()
        stack.start_worker()

    faults: list[Callable[[], Awaitable[None]]] = [restart_worker, stack.kill_temporal, stack.kill_postgres]
    senders = [asyncio.create_task(sender()) for _ in range(SENDERS)]
    async def done() -> int:
        return len(answers)

    for n, fault in enumerate(faults, start=1):
        due = len(deliveries) * n // (len(faults) + 1)

        def reached(count: int, due: int = due) -> bool:
            return count >= due or pending.empty()

        await eventually(done, until=reached, within=180)
        await fault()
        if stack.worker is None or stack.worker.done():  # a worker that lost its server is restarted
            stack.start_worker()
    await asyncio.gather(*senders)

    assert len(answers) == len(deliveries)
    assert all(r.status_code == 202 for _, r in answers), [r.text for _, r in answers if r.status_code != 202][:3]
    accepted = {external_id for external_id, _ in answers}
    async with stack.sessions() as session:
        rows = (await session.scalars(select(Encounter).where(Encounter.tenant_id == tenant.id))).all()
    by_external = [r.external_id for r in rows]
    assert sorted(by_external) == sorted(accepted), "exactly one encounter per accepted delivery"

    async def mismatched() -> list[str]:
        async with stack.sessions() as session:
            current = (await session.scalars(select(Encounter).where(Encounter.tenant_id == tenant.id))).all()
        wrong = []
        for row in current:
            snapshot = await stack.worker_client.get_workflow_handle(row.workflow_id).query(EncounterWorkflow.snapshot)
            if snapshot.status != row.status:
                wrong.append(f"{row.external_id}: workflow {snapshot.status}, projection {row.status}")
        return wrong

    assert await eventually(mismatched, until=lambda wrong: not wrong, within=60) == []
    verified = await tenant.get("/v1/audit-trail/verify", "ops", params={"scope": "tenant"})
    assert verified.status_code == 200, verified.text
    assert verified.json()["verified"] is True
    assert verified.json()["encounters_checked"] == DISTINCT
