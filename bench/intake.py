"""Intake, claim and coding throughput of the stack, next to the raw limits of its two servers.

    python -m bench.intake --encounters 200 --concurrency 16

Starts the stack `clearchart up` runs (embedded PostgreSQL, or a fresh database on DATABASE_URL's
server; the Temporal dev server persisting to SQLite in WAL mode; migrations) in a temporary
directory. This process serves the API and runs the interactive worker; the billing worker and
the sandbox clearinghouse run as processes of their own. Then, at each concurrency, side by side:

  a. bare Temporal: a workflow with no activities, started and completed (the ceiling);
  b. raw PostgreSQL: one-row INSERT + COMMIT transactions;
  c. signed FHIR webhooks, claims and coding submissions over HTTP, each answer checked;
  d. optionally: claim-next at N SQL-seeded open charts, one large bundle taken in the
     background, and the same rounds on 1..N separate worker processes.

bench/README.md explains every figure. Everything is stopped and deleted at the end, also on Ctrl-C.
"""

import argparse
import asyncio
import json
import logging
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import uvicorn
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from api.main import create_app
from bench.cpu import METER, NOT_PER_REQUEST, PARTS, per_unit
from clearchart import admin
from clearchart.db import make_engine, make_sessions
from clearchart.embedded import free_port
from clearchart.logging import configure_logging
from clearchart.secret_box import secret_keys
from clearchart.settings import Settings
from clearchart.stack import running_stack
from clearchart.temporal import connect
from clearchart.worker import build_worker
from integrations.sandbox.bundles import synthetic_bundle
from integrations.sandbox.ehr import push_bundle
from integrations.sandbox.multi import multi_encounter_bundle
from models.access import Principal
from models.repositories.encounters import QueueRepository

TENANT = "bench"
QUEUE = "q1"
BARE_TASK_QUEUE = "bench-bare"
CODED_STATES = ("scrubbing", "submitted")


@workflow.defn(name="BenchNoop", sandboxed=False)
class NoopWorkflow:
    """The least a workflow can be: scheduled, one workflow task, completed."""

    @workflow.run
    async def run(self) -> None:
        return None


@dataclass
class Result:
    name: str
    unit: str
    count: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    concurrency: int = 0
    # The bare-Temporal rate measured in the same run at the same concurrency, for the ratio.
    bare_rate: float | None = None
    memory_mb: float | None = None  # the RSS scenario's figure
    cpu_ms: dict[str, float] = field(default_factory=dict)  # CPU per unit by part of the stack (bench/cpu.py)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, q: int) -> float | None:
        if len(self.latencies) < 2:
            return None
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1] * 1000


class Progress:
    """One counter line on stderr, rewritten in place."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        self.started = time.monotonic()
        self._shown = 0.0

    def tick(self) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self._shown > 0.2 or self.done == self.total:
            self._shown = now
            rate = self.done / max(now - self.started, 1e-9)
            sys.stderr.write(f"\r  {self.label:<28} {self.done:>6}/{self.total}  {rate:8.1f}/s")
            sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()


async def run_load(
    label: str, unit: str, total: int, concurrency: int, one: Callable[[int], Awaitable[None]]
) -> Result:
    """Run `one(i)` for i in range(total) with `concurrency` in flight; time each call."""
    latencies: list[float] = []
    progress = Progress(label, total)
    next_index = iter(range(total))

    async def lane() -> None:
        for i in next_index:
            began = time.perf_counter()
            await one(i)
            latencies.append(time.perf_counter() - began)
            progress.tick()

    cpu_before, started = METER.read(), time.perf_counter()
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(lane())
    finally:
        progress.close()
    seconds = time.perf_counter() - started
    return Result(label, unit, total, seconds, latencies, concurrency, cpu_ms=per_unit(cpu_before, METER.read(), total))


async def bench_bare_temporal(client: Client, total: int, concurrency: int) -> Result:
    """The ceiling every ClearChart figure is compared with, measured at the same concurrency."""
    run_id = uuid.uuid4().hex[:8]

    async def one(i: int) -> None:
        await client.execute_workflow(
            NoopWorkflow.run, id=f"bench-noop-{run_id}-{i}", task_queue=BARE_TASK_QUEUE
        )

    async with Worker(client, task_queue=BARE_TASK_QUEUE, workflows=[NoopWorkflow]):
        return await run_load("bare Temporal workflows", "workflows", total, concurrency, one)


async def bench_raw_postgres(libpq_url: str, total: int, concurrency: int) -> Result:
    async with await psycopg.AsyncConnection.connect(libpq_url, autocommit=True) as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_raw_insert "
            "(id bigserial PRIMARY KEY, payload text NOT NULL, at timestamptz NOT NULL DEFAULT now())"
        )
    connections = [await psycopg.AsyncConnection.connect(libpq_url) for _ in range(concurrency)]
    free: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
    for conn in connections:
        free.put_nowait(conn)

    async def one(i: int) -> None:
        conn = await free.get()
        try:
            await conn.execute("INSERT INTO bench_raw_insert (payload) VALUES (%s)", (f"row {i}",))
            await conn.commit()
        finally:
            free.put_nowait(conn)

    try:
        return await run_load(
            "raw PostgreSQL insert+commit", "transactions", total, concurrency, one
        )
    finally:
        for conn in connections:
            await conn.close()


@dataclass
class BenchTenant:
    webhook_url: str
    secret: str
    coders: list[str]
    integrator: str = ""
    ops: str = ""  # dashboards and holds


async def make_tenant(settings: Settings, sessions: Any, api: str, coders: int) -> BenchTenant:
    policy = {"required_documents": {"AMB": ["11506-3"], "*": []}, "default_queue": QUEUE}
    await admin.create_tenant(sessions, TENANT, "Bench clinic", policy)
    await admin.create_vendor(sessions, TENANT, "v1", "Bench vendor")
    await admin.create_queue(sessions, TENANT, QUEUE, "Bench queue", ["v1"])
    await admin.add_route(sessions, TENANT, QUEUE)
    tokens = [
        await admin.create_token(
            sessions,
            settings.secret_key,
            tenant_id=TENANT,
            role="coder",
            user_id=f"coder-{i}",
            vendor_id="v1",
        )
        for i in range(coders)
    ]
    integrator = await admin.create_token(
        sessions, settings.secret_key, tenant_id=TENANT, role="integrator", user_id="integrator"
    )
    ops = await admin.create_token(sessions, settings.secret_key, tenant_id=TENANT, role="ops", user_id="bench-ops")
    source_id, secret = await admin.create_source(sessions, TENANT, "bench-ehr", secret_keys(settings))
    await admin.add_sandbox_payers(sessions, TENANT)  # the payers the synthetic bundles name
    return BenchTenant(f"{api}/v1/webhooks/ehr?source={source_id}", secret, tokens, integrator, ops)


def coding_body(document_id: str) -> dict[str, Any]:
    def evidence(excerpt: str) -> list[dict[str, str]]:
        return [{"document_id": document_id, "excerpt": excerpt}]

    return {
        "diagnoses": [
            {"code": "E11.65", "evidence": evidence("type 2 diabetes mellitus with hyperglycemia")},
            {"code": "I10", "evidence": evidence("essential hypertension")},
        ],
        "procedures": [
            {"code": "99214", "pointers": [1, 2], "evidence": evidence("follow-up of chronic conditions")}
        ],
    }


class Lanes:
    """The bench tenant's coders: lane k claims and codes as coder k, one chart at a time."""

    def __init__(self, http: httpx.AsyncClient, api: str, tenant: BenchTenant) -> None:
        self.http, self.api, self.tenant = http, api, tenant
        self.run_id = uuid.uuid4().hex[:8]
        self.claimed: dict[int, tuple[str, str, str]] = {}

    async def intake(self, i: int) -> None:
        bundle = synthetic_bundle(
            encounter_id=f"bench-{self.run_id}-{i}", patient_id=f"bench-pt-{self.run_id}-{i}"
        )
        response = await push_bundle(self.http, self.tenant.webhook_url, self.tenant.secret, bundle)
        if response.status_code != 202 or response.json()["encounters"][0]["status"] != "ready":
            raise RuntimeError(f"webhook {i}: {response.status_code} {response.text}")

    async def claim(self, i: int) -> None:
        token = self.tenant.coders[i % len(self.tenant.coders)]
        response = await self.http.post(
            f"{self.api}/v1/queues/{QUEUE}/claim", headers={"Authorization": f"Bearer {token}"}
        )
        if response.status_code != 200:
            raise RuntimeError(f"claim {i}: {response.status_code} {response.text}")
        chart = response.json()
        self.claimed[i] = (token, chart["id"], chart["documents"][0]["id"])

    async def code(self, i: int) -> None:
        token, encounter_id, document_id = self.claimed.pop(i)
        response = await self.http.post(
            f"{self.api}/v1/encounters/{encounter_id}/coding",
            headers={"Authorization": f"Bearer {token}"},
            json=coding_body(document_id),
        )
        answer = response.json() if response.status_code == 200 else {}
        # A clean chart answers `scrubbing` (billing follows in the background) with its scrub.
        if answer.get("status") not in CODED_STATES or not answer.get("scrub"):
            raise RuntimeError(f"coding {i}: {response.status_code} {response.text}")
        if any(e["severity"] == "hard" for e in answer["scrub"]["edits"]):
            raise RuntimeError(f"coding {i}: unexpected hard edits {answer['scrub']}")

    async def warm_up(self) -> None:
        """Not measured: the first coding submission loads the ICD-10-CM tables."""
        self.run_id = uuid.uuid4().hex[:8]
        await self.intake(-1)
        await self.claim(-1)
        await self.code(-1)

    async def run(self, total: int, concurrency: int, suffix: str = "") -> list[Result]:
        self.run_id = uuid.uuid4().hex[:8]
        # Claims and submissions reuse the indexes of the webhooks of this round.
        return [
            await run_load(f"ClearChart signed webhooks{suffix}", "webhooks", total, concurrency, self.intake),
            await run_load(f"ClearChart claims{suffix}", "claims", total, concurrency, self.claim),
            await run_load(f"ClearChart coding submissions{suffix}", "submissions", total, concurrency, self.code),
        ]


@asynccontextmanager
async def database_on_configured_server() -> AsyncIterator[str]:
    """A fresh database on DATABASE_URL's server (dropped afterwards), or "" for the embedded one."""
    configured = os.environ.get("DATABASE_URL")
    if not configured:
        yield ""
        return
    name = f"cc_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    base = make_url(Settings(DATABASE_URL=configured).sqlalchemy_url)
    server = base.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


class _Server(uvicorn.Server):
    """uvicorn minus its own Ctrl-C handling: asyncio.run cancels us and we stop in order."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def serving_api(settings: Settings, sessions: Any, client: Client) -> AsyncIterator[str]:
    app = create_app(settings, sessions=sessions, temporal=client)
    server = _Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=settings.api_port, log_config=None, access_log=False
        )
    )
    serving = asyncio.create_task(server.serve())
    async with asyncio.timeout(300):  # the API loads its code sets first; slow on a busy machine
        while not server.started:  # uvicorn exposes a flag, not an event
            if serving.done():
                await serving
            await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{settings.api_port}"
    finally:
        server.should_exit = True
        await serving


SEED_OPEN_CHARTS = """
INSERT INTO encounters (id, tenant_id, external_id, workflow_id, status, queue_id, priority,
                        worked_by, holds, received_at, overdue, version, updated_at)
SELECT gen_random_uuid(), %(tenant)s, 'seed-' || g, 'encounter/seed-' || %(run)s || '-' || g,
       'ready', %(queue)s, 0, '{}', '[]',
       now() + interval '1 day' + g * interval '1 second', false, 0, now()
FROM generate_series(1, %(count)s) AS g
"""


async def seed_open_charts(libpq_url: str, count: int) -> None:
    """Ready charts with no workflow behind them, queued after every real one (received later)."""
    async with await psycopg.AsyncConnection.connect(libpq_url, autocommit=True) as conn:
        await conn.execute(
            SEED_OPEN_CHARTS,
            {"tenant": TENANT, "queue": QUEUE, "count": count, "run": uuid.uuid4().hex[:8]},
        )
        await conn.execute("ANALYZE encounters")


async def bench_claim_sql(sessions: Any, libpq_url: str, total: int, concurrency: int, open_charts: int) -> Result:
    """The SQL half of claim-next on connections of its own: pick and lease the best chart
    (SKIP LOCKED), then roll back. Background billing is let finish first, so the figure is the
    database's, not this busy process's."""
    principal = Principal(tenant_id=TENANT, role="coder", user_id="bench-sql", vendor_id="v1")
    async with sessions() as session:
        query = QueueRepository(session, principal).next_ready_statement(QUEUE)
        pick = str(query.compile(session.bind, compile_kwargs={"literal_binds": True}))
        plan = (await session.execute(text(f"EXPLAIN {pick}"))).scalars().all()
    NOTES.append(f"claim-next plan at {open_charts:,} open charts: " + " / ".join(p.strip() for p in plan[:3]))
    await billing_drained(libpq_url)
    connections = [await psycopg.AsyncConnection.connect(libpq_url) for _ in range(concurrency)]
    free: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
    for conn in connections:
        free.put_nowait(conn)

    async def one(i: int) -> None:  # noqa: ARG001
        conn = await free.get()
        try:
            row = await (await conn.execute(pick)).fetchone()
            if row is None:
                raise RuntimeError("claim SQL found no chart among the seeded ones")
            await conn.execute(LEASE, {"token": uuid.uuid4(), "id": row[0]})
            await conn.rollback()
        finally:
            free.put_nowait(conn)

    try:
        return await run_load(f"claim SQL at {open_charts:,} open charts", "leases", total, concurrency, one)
    finally:
        for conn in connections:
            await conn.close()


async def billing_drained(libpq_url: str) -> None:
    """Until no chart of the bench's tenant waits for its claim: the ceiling and the SQL figures
    are measured on a stack that is not still billing the previous round."""
    async with await psycopg.AsyncConnection.connect(libpq_url, autocommit=True) as conn, asyncio.timeout(600):
        while (await (await conn.execute(BILLING_IN_FLIGHT, {"tenant": TENANT})).fetchone() or (0,))[0]:  # noqa: ASYNC110 - no event to await
            await asyncio.sleep(0.5)


BILLING_IN_FLIGHT = "SELECT count(*) FROM encounters WHERE tenant_id = %(tenant)s AND status = 'scrubbing'"
LEASE = "UPDATE encounters SET lease_token = %(token)s, lease_expires_at = now() + interval '60 seconds' WHERE id = %(id)s"


NOTES: list[str] = []


def libpq(settings: Settings) -> str:
    return make_url(settings.sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def processes(
    *argvs: list[str], env: dict[str, str] | None = None
) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """Child processes of this bench, interrupted (then killed) on the way out."""
    procs = [
        await asyncio.create_subprocess_exec(*argv, env=env, stdout=asyncio.subprocess.DEVNULL)
        for argv in argvs
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)  # workers finish in-flight tasks, then exit
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), 60)
            except TimeoutError:
                proc.kill()
                await proc.wait()


@asynccontextmanager
async def clearinghouse_process() -> AsyncIterator[str]:
    """The sandbox clearinghouse in a process of its own: a third party, not part of the system
    measured (its pyx12 validation of every 837P would otherwise take the API's CPU)."""
    port = free_port()
    argv = [
        "nice", "-n", "19",  # stands in for a server elsewhere: last in line for this machine's CPU
        sys.executable, "-m", "uvicorn", "integrations.sandbox.clearinghouse:create_app",
        "--factory", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    async with processes(argv), httpx.AsyncClient() as probe:
        async with asyncio.timeout(60):
            while True:
                try:
                    await probe.get(f"{url}/v1/responses", headers={"x-api-key": "sandbox-key"})
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        yield url


@asynccontextmanager
async def worker_processes(
    settings: Settings, count: int, role: str = "all", extra_env: dict[str, str] | None = None
) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """`count` separate `clearchart worker` processes on this stack's PostgreSQL and Temporal."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "CLEARCHART_TASK_QUEUE": settings.task_queue,
        "CLEARCHART_CLEARINGHOUSE_URL": settings.clearinghouse,
        "CLEARCHART_DATA_DIR": str(settings.data_dir),
        "CLEARCHART_LOG_LEVEL": "WARNING",
        "CLEARCHART_ENV": "local",
        **(extra_env or {}),
    }
    argv = [sys.executable, "-m", "clearchart.cli", "worker", "--role", role]
    async with processes(*[argv] * count, env=env) as procs:
        yield procs


async def run(args: argparse.Namespace) -> list[Result]:
    workdir = Path(tempfile.mkdtemp(prefix="clearchart-bench-"))
    try:
        async with database_on_configured_server() as database_url:
            settings = Settings(
                CLEARCHART_DATA_DIR=workdir / "var",
                DATABASE_URL=database_url,
                TEMPORAL_ADDRESS="",
                CLEARCHART_API_PORT=free_port(),
                CLEARCHART_TEMPORAL_PORT=free_port(),
                CLEARCHART_TEMPORAL_UI_PORT=free_port(),
                CLEARCHART_TASK_QUEUE="bench-encounters",
            )
            METER.watch(str(workdir), make_url(database_url).database or "" if database_url else "")
            sys.stderr.write(f"starting the stack under {workdir} ...\n")
            async with running_stack(settings) as stack, clearinghouse_process() as clearinghouse:
                settings = stack.settings.model_copy(update={"clearinghouse_url": clearinghouse})
                client = await connect(settings)
                lanes_needed = max(max(args.concurrency), max(args.workers or [1]) * 4)
                engine = make_engine(settings.sqlalchemy_url, pool_size=lanes_needed)
                sessions = make_sessions(engine)
                # The raw-insert baseline creates its own table: the owner's connection, not the
                # application role (which may create nothing).
                owner = database_url or (stack.postgres.url() if stack.postgres else settings.database_url)
                try:
                    return await measure(args, settings, client, sessions, lanes_needed, libpq(Settings(DATABASE_URL=owner)))
                finally:
                    await engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def measure(
    args: argparse.Namespace, settings: Settings, client: Client, sessions: Any, lanes: int, owner_url: str
) -> list[Result]:
    bare_total = args.bare_workflows or max(args.encounters, 500)
    args.owner_url = owner_url  # bulk seeding runs as the owner
    results = [await bench_raw_postgres(owner_url, args.pg_transactions, max(args.concurrency))]
    async with (
        httpx.AsyncClient(timeout=30) as worker_http,
        httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=lanes)) as http,
        serving_api(settings, sessions, client) as api,
    ):
        tenant = await make_tenant(settings, sessions, api, lanes)
        lanes_of = Lanes(http, api, tenant)
        # As deployed: this process serves the API and the interactive worker; claim building
        # and submission run in a billing worker process of their own.
        async with (
            build_worker(client, sessions, settings, worker_http, "interactive"),
            worker_processes(settings, 1, "billing"),
        ):
            await lanes_of.warm_up()
            for concurrency in args.concurrency:
                await billing_drained(libpq(settings))
                bare = await bench_bare_temporal(client, bare_total, concurrency)
                results.append(bare)
                for r in await lanes_of.run(args.encounters, concurrency):
                    r.bare_rate = bare.rate
                    results.append(r)
            if args.open_charts:
                concurrency = max(args.concurrency)
                sys.stderr.write(f"  seeding {args.open_charts:,} open charts with SQL ...\n")
                await seed_open_charts(libpq(settings), args.open_charts)
                results.append(
                    await bench_claim_sql(sessions, libpq(settings), max(args.encounters, 200), concurrency, args.open_charts)
                )
                bare = await bench_bare_temporal(client, bare_total, concurrency)
                for r in await lanes_of.run(args.encounters, concurrency, f" ({args.open_charts:,} open)"):
                    if r.unit == "claims":
                        r.bare_rate = bare.rate
                        results.append(r)
            for extra in EXTRA_SCENARIOS:
                results += await extra(args, settings, client, sessions, http, api, tenant)
        for count in args.workers:
            # Scale-out: only separate worker processes poll the task queues now.
            concurrency = max(args.concurrency)
            async with worker_processes(settings, count, "interactive"), worker_processes(settings, 1, "billing"):
                # Not measured: new processes load their code sets and fill their caches first.
                await lanes_of.run(max(8, 4 * count), concurrency, " (warm-up)")
                await billing_drained(libpq(settings))
                bare = await bench_bare_temporal(client, bare_total, concurrency)
                for r in await lanes_of.run(args.encounters, concurrency, f" ({count} worker proc.)"):
                    r.bare_rate = bare.rate
                    results.append(r)
        if args.cached_workflows:
            results += await bench_worker_rss(args, settings, http, api, tenant)
    return results


async def bench_bundle(
    args: argparse.Namespace,
    settings: Settings,  # noqa: ARG001
    client: Client,  # noqa: ARG001
    sessions: Any,  # noqa: ARG001
    http: httpx.AsyncClient,
    api: str,
    tenant: BenchTenant,
) -> list[Result]:
    """One webhook carrying `--bundle` encounters: time to the 202, then until every one is ready."""
    if not args.bundle:
        return []
    prefix = f"bundle-{uuid.uuid4().hex[:8]}"
    bundle = multi_encounter_bundle(args.bundle, prefix)
    msg_id = f"msg_{prefix}"
    began = time.perf_counter()
    response = await push_bundle(http, tenant.webhook_url, tenant.secret, bundle, msg_id=msg_id)
    answered = time.perf_counter() - began
    answer = response.json()
    if response.status_code != 202 or len(answer.get("encounters", [])) != args.bundle:
        raise RuntimeError(f"bundle: {response.status_code} {response.text[:300]}")
    again = await push_bundle(http, tenant.webhook_url, tenant.secret, bundle, msg_id=msg_id)
    if again.status_code != 202 or again.json() != answer:
        raise RuntimeError(f"bundle redelivery answered differently: {again.status_code} {again.text[:300]}")
    headers = {"Authorization": f"Bearer {tenant.integrator}"}
    progress = Progress(f"bundle of {args.bundle} processed", args.bundle)
    async with asyncio.timeout(args.bundle_timeout):
        while True:
            state = (await http.get(f"{api}/v1/inbound/{answer['inbound_id']}", headers=headers)).json()
            while progress.done < state["processed"] + state["failed"]:
                progress.tick()
            if state["done"]:
                break
            await asyncio.sleep(1)  # each answer lists every encounter: poll gently
    progress.close()
    processed = time.perf_counter() - began
    not_ready = [e for e in state["encounters"] if e["encounter_status"] != "ready"]
    if state["failed"] or not_ready:
        raise RuntimeError(f"bundle: {state['failed']} failed, {len(not_ready)} not ready")
    return [
        Result(f"bundle of {args.bundle}: 202 answered", "bundles", 1, answered, [answered, answered], 1),
        Result(f"bundle of {args.bundle}: every encounter ready", "encounters", args.bundle, processed, [], 1),
    ]


METRICS_PATHS = ("/v1/metrics/queries", "/v1/metrics/holds", "/v1/metrics/revenue", "/v1/queues")


async def bench_metrics(
    args: argparse.Namespace,
    settings: Settings,  # noqa: ARG001 - the signature every extra scenario has
    client: Client,  # noqa: ARG001
    sessions: Any,  # noqa: ARG001
    http: httpx.AsyncClient,
    api: str,
    tenant: BenchTenant,
    label: str | None = None,
) -> list[Result]:
    """`--metrics N`: N requests to each dashboard endpoint as ops, with whatever was seeded."""
    if not args.metrics:
        return []
    headers = {"Authorization": f"Bearer {tenant.ops}"}
    seeded = label if label is not None else f" ({args.open_charts:,} seeded)" if args.open_charts else ""
    results = []
    for path in METRICS_PATHS:

        async def one(i: int, path: str = path) -> None:  # noqa: ARG001
            response = await http.get(f"{api}{path}", headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")

        results.append(await run_load(f"GET {path}{seeded}", "requests", args.metrics, 4, one))
    return results


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident set size of a process (Linux), in MB; `VmHWM`: its peak."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


# The RSS scenario's bundles: one webhook of 10,000 encounters (35 MB) is over the body limit.
RSS_BUNDLE = 1000
# Holds placed one at a time on the oldest and on the newest open encounters: with a cache
# smaller than the open workflows the oldest were evicted, so each first replays its history.
RSS_EVENT_SAMPLES = 20
# The RSS scenario's encounters, oldest first (intake order is the worker cache's LRU order).
RSS_ENCOUNTERS = """
SELECT id FROM encounters
WHERE tenant_id = %(tenant)s AND status = 'ready' AND received_at >= %(since)s AND received_at <= now()
ORDER BY received_at, id
"""


async def bench_worker_rss(
    args: argparse.Namespace, settings: Settings, http: httpx.AsyncClient, api: str, tenant: BenchTenant
) -> list[Result]:
    """`--cached-workflows N`: one interactive worker process, alone on the task queue, takes in
    N encounters (bundles of at most `RSS_BUNDLE`, each sent once the previous one is ready);
    every encounter workflow stays open (ready, waiting for a coder). Its sticky cache holds
    `--cache-size` of them (default: all). Its RSS warmed up, after each bundle and at the end is
    the figure; then one event (a hold, placed by operations) on the oldest open encounters (evicted
    when the cache is smaller than N: their history is replayed first) and on the newest (cached)."""
    total = args.cached_workflows
    cache = args.cache_size or total + 1000
    extra = {"CLEARCHART_MAX_CACHED_WORKFLOWS": str(cache)}
    async with worker_processes(settings, 1, "interactive", extra) as [proc]:
        lanes = Lanes(http, api, tenant)
        await lanes.run(8, 4, " (warm-up)")  # loads code sets, sandbox and caches
        before = rss_mb(proc.pid)
        async with await psycopg.AsyncConnection.connect(libpq(settings), autocommit=True) as conn:
            since = (await (await conn.execute("SELECT now()")).fetchone() or [None])[0]
            began, answered, curve = time.perf_counter(), [], []
            for sent in range(0, total, RSS_BUNDLE):
                size = min(RSS_BUNDLE, total - sent)
                args_n = argparse.Namespace(**{**vars(args), "bundle": size})
                timed = await bench_bundle(args_n, settings, None, None, http, api, tenant)  # type: ignore[arg-type]
                answered.append(timed[0].seconds)
                curve.append(f"{sent + size:,}: {rss_mb(proc.pid):.0f}")
            ready_seconds = time.perf_counter() - began
            after, peak = rss_mb(proc.pid), rss_mb(proc.pid, "VmHWM")
            rows = await (await conn.execute(RSS_ENCOUNTERS, {"tenant": TENANT, "since": since})).fetchall()
        if len(rows) != total:
            raise RuntimeError(f"RSS run: {len(rows)} ready encounters, expected {total}")
        ids = [str(r[0]) for r in rows]
        samples = max(1, min(RSS_EVENT_SAMPLES, total // 4))
        evicted = cache < total
        # The newest first: the replays of the oldest then evict the least recently used, not them.
        newest = await timed_holds(http, api, tenant.ops, ids[-samples:], "newest open encounters (cached)")
        oldest = await timed_holds(
            http, api, tenant.ops, ids[:samples], "oldest open encounters" + (" (evicted: replayed)" if evicted else " (cached)")
        )
    name = f"worker RSS, {total:,} open workflows, cache {cache:,}"
    NOTES.append(
        f"{name}: {before:.0f} MB warmed up, {after:.0f} MB after (+{after - before:.0f} MB, "
        f"{(after - before) * 1024 / total:.0f} KB per open workflow), peak {peak:.0f} MB; "
        f"every encounter ready in {ready_seconds:.1f} s ({total / ready_seconds:.1f}/s), "
        f"each bundle's 202 in {min(answered):.2f}-{max(answered):.2f} s"
    )
    NOTES.append(f"{name}: RSS (MB) after each bundle, by open encounters: " + ", ".join(curve))
    result = Result(name, "MB", total, ready_seconds, [], 1)
    result.memory_mb = after
    ready = Result(f"{total:,} encounters in bundles of {RSS_BUNDLE:,}: every one ready (RSS run)", "encounters", total, ready_seconds, [], 1)
    return [ready, result, newest, oldest]


async def timed_holds(http: httpx.AsyncClient, api: str, token: str, ids: list[str], label: str) -> Result:
    """Operations place a hold on each of `ids`, one at a time: the time of one event on a chart."""

    async def one(i: int) -> None:
        response = await http.post(
            f"{api}/v1/encounters/{ids[i]}/holds",
            headers={"Authorization": f"Bearer {token}"},
            json={"reason": "registration_error"},
        )
        if response.status_code != 201 or response.json()["status"] != "on_hold":
            raise RuntimeError(f"hold on {ids[i]}: {response.status_code} {response.text[:300]}")

    return await run_load(f"hold placed, {label}", "holds", len(ids), 1, one)



SEED_SCALE_CHARTS = """
INSERT INTO encounters (id, tenant_id, external_id, workflow_id, status, queue_id, priority,
                        worked_by, holds, received_at, overdue, version, updated_at)
SELECT gen_random_uuid(), %(tenant)s, 'mseed-' || %(run)s || '-' || g, 'encounter/mseed-' || %(run)s || '-' || g,
       (ARRAY['closed', 'paid', 'submitted', 'denied', 'in_coding'])[1 + g %% 5], %(queue)s, 0, '{}', '[]',
       now() - (g %% 365) * interval '1 day' - (g %% 86400) * interval '1 second', g %% 50 = 0, 0, now()
FROM generate_series(1, %(count)s) AS g
"""

SEED_SCALE_EVENTS = """
INSERT INTO audit_events (tenant_id, encounter_id, seq, actor, role, action, before, after,
                          occurred_at, prev_hash, hash)
SELECT e.tenant_id, e.id, s, 'seed', 'system', 'seeded', '{}', '{}', e.received_at,
       repeat('0', 64), md5(e.id::text || s) || md5(s || e.id::text)
FROM encounters e CROSS JOIN generate_series(1, %(per_chart)s) AS s
WHERE e.tenant_id = %(tenant)s AND e.external_id LIKE 'mseed-' || %(run)s || '-%%'
"""

# The queue counters of the bench tenant, rebuilt after a bulk load that bypassed their trigger.
RECOUNT = """
DELETE FROM queue_counts WHERE tenant_id = %(tenant)s;
INSERT INTO queue_counts (tenant_id, queue_id, status, overdue, shard, n)
SELECT tenant_id, queue_id, status, coalesce(overdue, false), abs(hashtext(id::text)) %% 16, count(*)
FROM encounters WHERE tenant_id = %(tenant)s AND queue_id IS NOT NULL GROUP BY 1, 2, 3, 4, 5
"""


async def bench_seeded_metrics(
    args: argparse.Namespace,
    settings: Settings,
    client: Client,
    sessions: Any,
    http: httpx.AsyncClient,
    api: str,
    tenant: BenchTenant,
) -> list[Result]:
    """`--seed-encounters N --seed-audit-events M`: N charts spread over a year (none claimable)
    and M audit events among them, loaded with SQL as the owner, then the dashboards again."""
    if not args.seed_encounters:
        return []
    run_id = uuid.uuid4().hex[:8]
    per_chart = max(1, args.seed_audit_events // args.seed_encounters) if args.seed_audit_events else 0
    sys.stderr.write(
        f"  seeding {args.seed_encounters:,} charts and {per_chart * args.seed_encounters:,} audit events with SQL ...\n"
    )
    began = time.perf_counter()
    async with await psycopg.AsyncConnection.connect(args.owner_url) as conn:
        # One transaction: the exclusive lock keeps projections out while the counters' trigger
        # is off, and the counters are rebuilt before anyone sees the charts.
        await conn.execute("ALTER TABLE encounters DISABLE TRIGGER encounters_queue_counts")
        await conn.execute(SEED_SCALE_CHARTS, {"tenant": TENANT, "queue": QUEUE, "count": args.seed_encounters, "run": run_id})
        await conn.execute("ALTER TABLE encounters ENABLE TRIGGER encounters_queue_counts")
        for statement in RECOUNT.split(";"):
            await conn.execute(statement, {"tenant": TENANT})
        await conn.commit()
        if per_chart:
            await conn.execute(SEED_SCALE_EVENTS, {"tenant": TENANT, "run": run_id, "per_chart": per_chart})
            await conn.commit()
        await conn.set_autocommit(True)
        # A database that old is vacuumed: statistics and the visibility map (index-only scans).
        for table in ("encounters", "audit_events", "queue_counts"):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
    NOTES.append(
        f"seeded {args.seed_encounters:,} charts and {per_chart * args.seed_encounters:,} audit events "
        f"in {time.perf_counter() - began:.0f} s"
    )
    label = f" ({args.seed_encounters:,} charts, {per_chart * args.seed_encounters:,} audit events)"
    return await bench_metrics(args, settings, client, sessions, http, api, tenant, label)


Scenario = Callable[
    [argparse.Namespace, Settings, Client, Any, httpx.AsyncClient, str, BenchTenant],
    Awaitable[list[Result]],
]
EXTRA_SCENARIOS: list[Scenario] = [bench_bundle, bench_metrics, bench_seeded_metrics]


def report(results: list[Result], args: argparse.Namespace, database: str) -> str:
    lines = [
        "",
        f"ClearChart intake benchmark: {args.encounters} encounters, concurrency "
        f"{','.join(map(str, args.concurrency))}, {os.cpu_count()} CPU(s), load average "
        f"{os.getloadavg()[0]:.1f} at the end, PostgreSQL: {database}, Temporal: dev server (SQLite, WAL)",
        "",
        f"{'measure':<52} {'conc.':>5} {'count':>6} {'seconds':>8} {'per second':>11} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'p99 ms':>8} {'% of bare':>10}",
        "-" * 124,
    ]
    for r in results:
        p50, p95, p99 = r.percentile(50), r.percentile(95), r.percentile(99)
        pct = "" if r.bare_rate is None else f"{100 * r.rate / r.bare_rate:.0f}%"
        if r.memory_mb is not None:
            pct = f"{r.memory_mb:.0f} MB"

        def ms(v: float | None) -> str:
            return "" if v is None else f"{v:.0f}"

        lines.append(
            f"{r.name:<52} {r.concurrency:>5} {r.count:>6} {r.seconds:>8.2f} {r.rate:>11.1f} "
            f"{ms(p50):>8} {ms(p95):>8} {ms(p99):>8} {pct:>10}"
        )
    lines += ["", *cpu_table(results), *NOTES, ""]
    return "\n".join(lines)


def cpu_table(results: list[Result]) -> list[str]:
    """CPU per unit by part of the stack: on a small machine the rate is bounded by the total,
    and the bare workflow's total is the budget every ratio is measured against."""
    measured = [r for r in results if r.cpu_ms and r.unit not in NOT_PER_REQUEST]
    if not measured:
        return []
    parts = [p for p in PARTS if any(p in r.cpu_ms for r in measured)]
    lines = [
        "CPU per unit, ms (user + system, every process of the stack); `bare/this`: the bare workflow's",
        "total over this row's, the ratio to bare a CPU-bound machine allows:",
        f"{'measure':<52} " + " ".join(f"{p[:14]:>14}" for p in parts) + f" {'total':>8} {'bare/this':>10}",
    ]
    bare = 0.0
    for r in measured:
        total = sum(r.cpu_ms.values())
        if r.unit == "workflows":
            bare = total
        ceiling = f"{100 * bare / total:.0f}%" if bare and total and r.unit != "workflows" else ""
        cells = " ".join(f"{r.cpu_ms.get(p, 0):>14.1f}" for p in parts)
        lines.append(f"{r.name:<52} {cells} {total:>8.1f} {ceiling:>10}")
    return [*lines, ""]


def recorded_args(argv: list[str]) -> list[str]:
    """The command line as a reader can repeat it: paths inside the checkout made relative, so a
    results file names no directory of the machine it was run on."""
    here = Path.cwd()
    return [str(Path(a).relative_to(here)) if Path(a).is_absolute() and Path(a).is_relative_to(here) else a for a in argv]


def as_json(results: list[Result]) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name,
            "unit": r.unit,
            "concurrency": r.concurrency,
            "count": r.count,
            "seconds": round(r.seconds, 3),
            "rate": round(r.rate, 2),
            "p50_ms": r.percentile(50),
            "p95_ms": r.percentile(95),
            "p99_ms": r.percentile(99),
            "bare_rate": r.bare_rate,
            "cpu_ms": r.cpu_ms,
            "memory_mb": r.memory_mb,
        }
        for r in results
    ]


def counts(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("give positive integers, comma-separated")
    return values


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.intake", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--encounters", type=int, default=200, help="webhooks, claims and submissions per round (default 200)"
    )
    parser.add_argument(
        "--concurrency", type=counts, default=[16], help="requests in flight; a list (1,4,16) sweeps (default 16)"
    )
    parser.add_argument(
        "--bare-workflows", type=int, default=0, help="bare workflows per round (default: --encounters, at least 500)"
    )
    parser.add_argument(
        "--pg-transactions", type=int, default=4000, help="raw insert transactions (default 4000)"
    )
    parser.add_argument(
        "--open-charts", type=int, default=0, help="seed this many ready charts with SQL, then time claim-next (default: skip)"
    )
    parser.add_argument(
        "--workers", type=counts, default=[], help="also run a round on N separate worker processes, e.g. 1,2,4"
    )
    parser.add_argument(
        "--bundle", type=int, default=0, help="also send one webhook with this many encounters (default: skip)"
    )
    parser.add_argument(
        "--bundle-timeout", type=float, default=600, help="seconds the bundle may take to be processed"
    )
    parser.add_argument(
        "--metrics", type=int, default=0, help="also time this many requests to each metrics endpoint (default: skip)"
    )
    parser.add_argument(
        "--seed-encounters", type=int, default=0, help="seed this many charts with SQL, then time the dashboards again (needs --metrics)"
    )
    parser.add_argument(
        "--seed-audit-events", type=int, default=0, help="and this many audit events among them (default: none)"
    )
    parser.add_argument(
        "--cached-workflows", type=int, default=0,
        help=f"RSS of one worker process holding this many open workflows, sent in bundles of at most {RSS_BUNDLE:,} (default: skip)",
    )
    parser.add_argument(
        "--cache-size", type=int, default=0,
        help="that worker's CLEARCHART_MAX_CACHED_WORKFLOWS (default: every open workflow, --cached-workflows + 1000)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file (for bench/plot.py)")
    args = parser.parse_args(argv)
    if args.encounters < 1:
        parser.error("--encounters must be positive")
    configure_logging(json_logs=False, level="WARNING")
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    database = "DATABASE_URL (fresh database)" if os.environ.get("DATABASE_URL") else "embedded"
    try:
        results = asyncio.run(run(args))
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted; the stack was stopped and its directory removed\n")
        raise SystemExit(130) from None
    print(report(results, args, database))
    if args.json:
        args.json.write_text(json.dumps({"args": recorded_args(sys.argv[1:]), "results": as_json(results)}, indent=1))


if __name__ == "__main__":
    main()
