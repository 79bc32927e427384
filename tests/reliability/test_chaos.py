"""Chaos: webhook load with redeliveries, and coders claiming and coding the charts as they
arrive, while the worker, Temporal and PostgreSQL are each killed and brought back. Afterwards
every accepted delivery has exactly one encounter, no chart was claimed by two coders, every
chart was coded once, every projection equals its workflow's state, and the audit chains verify.

The stack is this test's own (its own PostgreSQL cluster and Temporal server), so killing them
touches nothing else. Senders behave like a real EHR: they retry 409/429/5xx and lost
connections with the same webhook-id, and stop at 202 or another 4xx. Coders behave like people
at the workspace: they retry what failed, and a claim or a submission whose answer was lost shows
up in their own list of charts in coding, which they then finish.
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
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.main import create_app
from clearchart.db import make_engine, make_sessions
from clearchart.embedded import EmbeddedPostgres, TemporalDevServer, free_port
from clearchart.migrate import upgrade
from clearchart.payload_codec import data_converter
from clearchart.settings import Settings
from clearchart.temporal import connect
from clearchart.worker import SHUTDOWN_SECONDS, build_worker
from integrations.sandbox.bundles import synthetic_bundle
from models.encounters.tables import AuditEvent, Encounter
from tests.api.claim_support import coding
from tests.support import ROLE_USERS, LiveStack, Tenant, eventually, make_tenant, started
from workflows.encounter import EncounterWorkflow

DISTINCT = 24
COPIES = 2
SENDERS = 6
CODERS = ("coder", "coder2")  # two coders of the vendor that works queue q1


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
        """Stop the worker as a signal would; its stop is bounded (`Workers.shutdown_seconds`)."""
        assert self.worker is not None
        self.worker.cancel()
        done, _ = await asyncio.wait([self.worker], timeout=SHUTDOWN_SECONDS + 30)
        assert done, "the worker did not stop within its shutdown deadline"
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


# Starting the API loads the code sets: a minute or more on a busy machine.
API_START_SECONDS = 240


@pytest_asyncio.fixture(loop_scope="session")
async def chaos(tmp_path: Path) -> AsyncIterator[tuple[ChaosStack, Tenant]]:
    """Everything it starts is stopped, with a deadline, also when starting fails half-way (a
    failed start once left the API and worker running, and the run waited on them for ever)."""
    pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="clearchart-chaos-pg-")))
    temporal = TemporalDevServer(tmp_path / "temporal", port=free_port(), headless=True, persist=True)
    try:
        url = await asyncio.to_thread(pg.start)
        await asyncio.to_thread(upgrade, url)
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
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=settings.api_port, log_config=None, timeout_graceful_shutdown=10)
        )
        async with httpx.AsyncClient(timeout=60) as http:
            stack = ChaosStack(pg, temporal, settings, sessions, await Client.connect(temporal.address, data_converter=data_converter(settings)), http)
            stack.start_worker()
            serving = asyncio.create_task(server.serve())
            try:
                await started(server, serving, within=API_START_SECONDS)
                live = LiveStack(settings, sessions, stack.worker_client, f"http://127.0.0.1:{settings.api_port}")
                yield stack, await make_tenant(live, http)
            finally:
                server.should_exit = True
                stopped, _ = await asyncio.wait([serving], timeout=30)
                if not stopped:  # still starting: should_exit is read only once it serves
                    serving.cancel()
                    await asyncio.wait([serving], timeout=30)
                await stack.kill_worker()
                await engine.dispose()
    finally:
        await temporal.stop()
        await asyncio.to_thread(pg.stop)
        shutil.rmtree(pg.data_dir, ignore_errors=True)


def _final(response: httpx.Response | None) -> bool:
    """What a client stops retrying at: not a lost answer (None), a 5xx, a 429, or a 409 that
    says to retry (Retry-After: a concurrent request). A 409 without it is final: retrying a
    refused request unchanged, as this test once did, only loops until its deadline."""
    if response is None or response.status_code >= 500 or response.status_code == 429:
        return False
    return response.status_code != 409 or "retry-after" not in response.headers


async def _answer(call: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response | None:
    try:
        return await call()
    except httpx.TransportError:
        return None  # a connection lost while a dependency restarts


async def _deliver(tenant: Tenant, bundle: dict[str, object], msg_id: str) -> httpx.Response:
    """An EHR's sender: the same bytes under the same webhook-id until a final answer."""
    answer = await eventually(lambda: _answer(lambda: tenant.push(bundle, msg_id=msg_id)), until=_final, within=300, every=0.2)
    assert answer is not None
    return answer


@dataclass
class Desk:
    """What the coders saw: every chart a claim handed them, and every chart they coded."""

    claimed: dict[str, list[str]]
    coded: dict[str, list[str]]


async def _code(tenant: Tenant, who: str, chart_id: str, desk: Desk) -> None:
    """Submit the chart's coding until an answer; a 409 after a lost answer means it went in."""
    chart = await eventually(
        lambda: _answer(lambda: tenant.get(f"/v1/encounters/{chart_id}", "ops")), until=_final, within=300, every=0.2
    )
    assert chart is not None
    assert chart.status_code == 200, chart.text
    doc = chart.json()["documents"][0]["id"]
    url = f"/v1/encounters/{chart_id}/coding"
    answer = await eventually(
        lambda: _answer(lambda: tenant.post(url, who, json=coding(doc))),
        until=lambda r: _final(r) or (r is not None and r.status_code == 409 and "retry-after" not in r.headers),
        within=300,
        every=0.2,
    )
    assert answer is not None
    assert answer.status_code in (200, 409), answer.text
    desk.coded.setdefault(chart_id, []).append(who)


async def _next_chart(tenant: Tenant, who: str, senders_done: asyncio.Event) -> str | None:
    """The next chart to code: claimed from the queue; once the senders are done and the queue is
    empty, one a lost answer left in this coder's name (in coding, never handed back)."""
    answer = await _answer(lambda: tenant.post("/v1/queues/q1/claim", who))
    if answer is None or not _final(answer):
        return None
    if answer.status_code == 200:
        chart_id: str = answer.json()["id"]
        return chart_id
    assert answer.status_code == 204, answer.text
    if not senders_done.is_set():
        return None
    params = {"status": "in_coding", "assignee": ROLE_USERS[who][0]}
    mine = await _answer(lambda: tenant.get("/v1/encounters", "ops", params=params))
    if mine is None or mine.status_code != 200 or not mine.json()["items"]:
        return None
    orphan: str = mine.json()["items"][0]["id"]
    return orphan


async def _work(tenant: Tenant, who: str, senders_done: asyncio.Event, desk: Desk) -> None:
    """A coder: take the next chart and code it, until every chart is coded."""

    def everything_coded() -> bool:
        return senders_done.is_set() and len(desk.coded) >= DISTINCT

    while not everything_coded():
        chart_id = await eventually(
            lambda: _next_chart(tenant, who, senders_done), until=lambda c: c is not None or everything_coded(), within=300, every=0.2
        )
        if chart_id is None:
            return
        desk.claimed.setdefault(chart_id, []).append(who)
        await _code(tenant, who, chart_id, desk)


@pytest.mark.timeout(900)
async def test_no_delivery_is_lost_or_doubled_while_every_part_is_killed(chaos: tuple[ChaosStack, Tenant]) -> None:
    stack, tenant = chaos
    # One body per delivery, built once: its copies are byte-for-byte redeliveries. (Building it
    # per copy stamped each with the current minute; copies straddling a minute were different
    # bodies under one webhook-id, refused 409 for good, and the sender retried them until its
    # deadline: the run that "hung".)
    external = [f"chaos-{i}-{uuid.uuid4().hex[:6]}" for i in range(DISTINCT)]
    bodies = {e: synthetic_bundle(encounter_id=e, patient_id=f"p-{e}") for e in external}
    deliveries = [(e, f"msg-{i}") for i, e in enumerate(external)] * COPIES
    random.Random(12).shuffle(deliveries)
    pending: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for item in deliveries:
        pending.put_nowait(item)
    answers: list[tuple[str, httpx.Response]] = []
    senders_done = asyncio.Event()
    desk = Desk({}, {})

    async def sender() -> None:
        while not pending.empty():
            external_id, msg_id = pending.get_nowait()
            answers.append((external_id, await _deliver(tenant, bodies[external_id], f"{external_id}-{msg_id}")))

    async def send_all() -> None:
        await asyncio.gather(*(sender() for _ in range(SENDERS)))
        senders_done.set()

    async def restart_worker() -> None:
        await stack.kill_worker()
        stack.start_worker()

    faults: list[Callable[[], Awaitable[None]]] = [restart_worker, stack.kill_temporal, stack.kill_postgres]
    sending = asyncio.create_task(send_all())
    coders = [asyncio.create_task(_work(tenant, who, senders_done, desk)) for who in CODERS]

    async def done() -> int:
        return len(answers)

    try:
        for n, fault in enumerate(faults, start=1):
            due = len(deliveries) * n // (len(faults) + 1)

            def reached(count: int, due: int = due) -> bool:
                return count >= due or pending.empty()

            await eventually(done, until=reached, within=300)
            await fault()
            if stack.worker is None or stack.worker.done():  # a worker that lost its server is restarted
                stack.start_worker()
        await sending
        await asyncio.gather(*coders)
    finally:  # a failed step leaves no sender or coder running into the teardown
        for task in (sending, *coders):
            task.cancel()
        await asyncio.gather(sending, *coders, return_exceptions=True)

    assert len(answers) == len(deliveries)
    assert all(r.status_code == 202 for _, r in answers), [r.text for _, r in answers if r.status_code != 202][:3]
    accepted = {external_id for external_id, _ in answers}
    async with stack.sessions() as session:
        rows = (await session.scalars(select(Encounter).where(Encounter.tenant_id == tenant.id))).all()
        claims = (
            await session.execute(
                select(AuditEvent.encounter_id, func.count(), func.count(func.distinct(AuditEvent.actor)))
                .where(AuditEvent.tenant_id == tenant.id, AuditEvent.action == "claim")
                .group_by(AuditEvent.encounter_id)
            )
        ).all()
    by_external = [r.external_id for r in rows]
    assert sorted(by_external) == sorted(accepted), "exactly one encounter per accepted delivery"

    # No chart was claimed by two coders, and every chart was claimed once and coded.
    assert {chart: who for chart, who in desk.claimed.items() if len(set(who)) > 1} == {}
    assert sorted(desk.claimed) == sorted(desk.coded) == sorted(str(r.id) for r in rows)
    assert {who for coders in desk.coded.values() for who in coders} == set(CODERS), "both coders worked the queue"
    assert sorted(str(e) for e, _, _ in claims) == sorted(str(r.id) for r in rows)
    assert {str(e): (n, actors) for e, n, actors in claims if (n, actors) != (1, 1)} == {}, "one claim per chart, by one coder"

    async def mismatched() -> list[str]:
        async with stack.sessions() as session:
            current = (await session.scalars(select(Encounter).where(Encounter.tenant_id == tenant.id))).all()
        wrong = []
        for row in current:
            s = await stack.worker_client.get_workflow_handle(row.workflow_id).query(EncounterWorkflow.snapshot)
            workflow = (s.status, s.seq, s.assignee_user, list(s.worked_by), s.coding is not None)
            projection = (row.status, row.version, row.assignee_user, list(row.worked_by), row.codes is not None)
            if workflow != projection:
                wrong.append(f"{row.external_id}: workflow {workflow}, projection {projection}")
            if s.coding is None or s.status in ("ready", "in_coding"):
                wrong.append(f"{row.external_id}: not coded ({s.status})")
            if len(set(s.worked_by)) != 1:
                wrong.append(f"{row.external_id}: worked by {s.worked_by}")
        return wrong

    assert await eventually(mismatched, until=lambda wrong: not wrong, within=120) == []
    verified = await tenant.get("/v1/audit-trail/verify", "ops", params={"scope": "tenant"})
    assert verified.status_code == 200, verified.text
    assert verified.json()["verified"] is True
    assert verified.json()["encounters_checked"] == DISTINCT
