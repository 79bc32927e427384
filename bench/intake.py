"""Intake throughput of the one-machine stack, next to the raw limits of its two servers.

    python -m bench.intake --encounters 200 --concurrency 16

Starts the stack `clearchart up` runs (embedded PostgreSQL, or a fresh database on DATABASE_URL's
server; the Temporal dev server persisting to SQLite in WAL mode; migrations; the worker; the API
on uvicorn) in a temporary directory, all in this process, then measures at one concurrency:

  a. bare Temporal: a workflow with no activities, started and completed (the raw limit);
  b. raw PostgreSQL: one-row INSERT + COMMIT transactions;
  c. ClearChart intake: signed FHIR webhooks over HTTP, each an update-with-start of an encounter
     workflow that runs the intake activity and projects to PostgreSQL before answering;
  d. claims (POST /v1/queues/{q}/claim) and coding submissions (POST /v1/encounters/{id}/coding).

The load generator shares the process (and the two cores here) with the API and the worker, as a
client on the same laptop would. Everything is stopped and deleted at the end, also on Ctrl-C.
"""

import argparse
import asyncio
import logging
import os
import shutil
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
from sqlalchemy.engine import make_url
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from api.main import create_app
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

TENANT = "bench"
QUEUE = "q1"
BARE_TASK_QUEUE = "bench-bare"


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

    started = time.perf_counter()
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(lane())
    finally:
        progress.close()
    return Result(label, unit, total, time.perf_counter() - started, latencies)


async def bench_bare_temporal(client: Client, total: int, concurrency: int) -> Result:
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
    source_id, secret = await admin.create_source(sessions, TENANT, "bench-ehr", secret_keys(settings))
    return BenchTenant(f"{api}/v1/webhooks/ehr?source={source_id}", secret, tokens)


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


async def bench_clearchart(
    http: httpx.AsyncClient, api: str, tenant: BenchTenant, total: int, concurrency: int
) -> list[Result]:
    run_id = uuid.uuid4().hex[:8]

    async def intake(i: int) -> None:
        bundle = synthetic_bundle(
            encounter_id=f"bench-{run_id}-{i}", patient_id=f"bench-pt-{run_id}-{i}"
        )
        response = await push_bundle(http, tenant.webhook_url, tenant.secret, bundle)
        if response.status_code != 202 or response.json()["encounters"][0]["status"] != "ready":
            raise RuntimeError(f"webhook {i}: {response.status_code} {response.text}")

    # Lane k claims and codes as coder k: a coder works one chart at a time.
    claimed: dict[int, tuple[str, str, str]] = {}

    async def claim(i: int) -> None:
        token = tenant.coders[i % len(tenant.coders)]
        response = await http.post(
            f"{api}/v1/queues/{QUEUE}/claim", headers={"Authorization": f"Bearer {token}"}
        )
        if response.status_code != 200:
            raise RuntimeError(f"claim {i}: {response.status_code} {response.text}")
        chart = response.json()
        claimed[i] = (token, chart["id"], chart["documents"][0]["id"])

    async def code(i: int) -> None:
        token, encounter_id, document_id = claimed[i]
        response = await http.post(
            f"{api}/v1/encounters/{encounter_id}/coding",
            headers={"Authorization": f"Bearer {token}"},
            json=coding_body(document_id),
        )
        if response.status_code != 200 or response.json()["status"] != "coded":
            raise RuntimeError(f"coding {i}: {response.status_code} {response.text}")

    # Warm-up, not measured: the first coding submission loads the ICD-10-CM tables.
    await intake(-1)
    await claim(-1)
    await code(-1)
    claimed.clear()
    return [
        await run_load("ClearChart signed webhooks", "webhooks", total, concurrency, intake),
        await run_load("ClearChart claims", "claims", total, concurrency, claim),
        await run_load("ClearChart coding submissions", "submissions", total, concurrency, code),
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
    async with asyncio.timeout(30):
        while not server.started:  # uvicorn exposes a flag, not an event
            if serving.done():
                await serving
            await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{settings.api_port}"
    finally:
        server.should_exit = True
        await serving


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
            sys.stderr.write(f"starting the stack under {workdir} ...\n")
            async with running_stack(settings) as stack:
                settings = stack.settings
                client = await connect(settings)
                engine = make_engine(settings.sqlalchemy_url, pool_size=args.concurrency)
                sessions = make_sessions(engine)
                try:
                    results = [
                        await bench_bare_temporal(
                            client,
                            args.bare_workflows or max(args.encounters, 500),
                            args.concurrency,
                        ),
                        await bench_raw_postgres(
                            make_url(settings.sqlalchemy_url)
                            .set(drivername="postgresql")
                            .render_as_string(hide_password=False),
                            args.pg_transactions,
                            args.concurrency,
                        ),
                    ]
                    async with (
                        httpx.AsyncClient(timeout=30) as worker_http,
                        build_worker(client, sessions, settings, worker_http),
                        serving_api(settings, sessions, client) as api,
                        httpx.AsyncClient(
                            timeout=120, limits=httpx.Limits(max_connections=args.concurrency)
                        ) as http,
                    ):
                        tenant = await make_tenant(settings, sessions, api, args.concurrency)
                        results += await bench_clearchart(
                            http, api, tenant, args.encounters, args.concurrency
                        )
                finally:
                    await engine.dispose()
            return results
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def report(results: list[Result], args: argparse.Namespace, database: str) -> str:
    bare = results[0].rate
    lines = [
        "",
        f"ClearChart intake benchmark: {args.encounters} encounters, concurrency {args.concurrency}, "
        f"{os.cpu_count()} CPU(s), PostgreSQL: {database}, Temporal: dev server (SQLite, WAL)",
        "",
        f"{'measure':<32} {'count':>6} {'seconds':>8} {'per second':>11} {'p50 ms':>8} {'p95 ms':>8} {'% of bare Temporal':>19}",
        "-" * 98,
    ]
    for r in results:
        p50, p95 = r.percentile(50), r.percentile(95)
        pct = "" if r is results[0] or r.unit == "transactions" else f"{100 * r.rate / bare:.0f}%"
        lines.append(
            f"{r.name:<32} {r.count:>6} {r.seconds:>8.2f} {r.rate:>11.1f} "
            f"{'' if p50 is None else f'{p50:.0f}':>8} {'' if p95 is None else f'{p95:.0f}':>8} {pct:>19}"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.intake", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--encounters", type=int, default=200, help="webhooks, claims and submissions (default 200)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=16, help="requests in flight (default 16)"
    )
    parser.add_argument(
        "--bare-workflows",
        type=int,
        default=0,
        help="bare workflows (default: --encounters, at least 500)",
    )
    parser.add_argument(
        "--pg-transactions", type=int, default=4000, help="raw insert transactions (default 4000)"
    )
    args = parser.parse_args(argv)
    if args.encounters < 1 or args.concurrency < 1:
        parser.error("--encounters and --concurrency must be positive")
    configure_logging(json_logs=False, level="WARNING")
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    database = "DATABASE_URL (fresh database)" if os.environ.get("DATABASE_URL") else "embedded"
    try:
        results = asyncio.run(run(args))
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted; the stack was stopped and its directory removed\n")
        raise SystemExit(130) from None
    print(report(results, args, database))


if __name__ == "__main__":
    main()
