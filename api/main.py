"""The FastAPI app: routers per audience, one error renderer, shared clients made once."""

import asyncio
import gc
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request, Response
from prometheus_client import Counter, Histogram
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.access_log import AccessLogMiddleware
from api.docs_assets import install_docs
from api.edge import EdgeGuard, EdgeLimits
from api.errors import PROBLEM_RESPONSES, install_error_handlers
from api.openapi_examples import install as install_examples
from api.rate_limit import RateLimiter
from api.routes import (
    access_log,
    claims,
    codec,
    denials,
    encounters,
    evidence,
    fhir,
    health,
    hl7v2,
    holds,
    inbound,
    intake_failures,
    metrics,
    payers,
    qa_audits,
    queries,
    queues,
    remittance_exceptions,
    suggestions,
    templates,
    tenant_policy,
    ui,
    webhook_endpoints,
    webhooks,
    x12_intake,
)
from clearchart.db import make_engine, make_sessions
from clearchart.settings import Settings, get_settings
from clearchart.temporal import connect
from integrations.codesets.catalog import warm_catalog
from integrations.sandbox.clearinghouse import DatabaseStore
from integrations.sandbox.clearinghouse import create_app as create_sandbox_clearinghouse
from models.repositories.claim_history import claim_history
from services import parse_pool
from services.codesets import refresh_catalog

log = structlog.get_logger(__name__)

FULL_COLLECTION_EVERY = 100
"""Generation-1 collections per full garbage collection (CPython's default is 10)."""

REQUESTS = Counter("clearchart_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("clearchart_http_request_seconds", "HTTP request latency", ["method", "route"])


def create_app(
    settings: Settings | None = None,
    *,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    temporal: Client | None = None,
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = None
        if sessions is None:
            engine = make_engine(settings.sqlalchemy_url)
            app.state.sessions = make_sessions(engine)
        if temporal is None:
            app.state.temporal = await connect(settings, interactive=True)
        # Code sets take ~2 s to load; do it now, off the event loop, not in the first request.
        await asyncio.to_thread(warm_catalog)
        await refresh_catalog(app.state.sessions)  # and the ICD-10-CM releases an operator loaded
        # The code sets are ~700,000 long-lived objects: every full garbage collection walked them
        # all, holding the event loop for up to 2 s while a big 835 grew the heap. Startup objects
        # leave the collector's generations (freed by reference counting as before).
        gc.freeze()
        # And a full collection after 100 younger ones instead of 10: while a big 835's claims are
        # alive each one still walks them all (0.8 s); with 100, `/readyz` p99 during a
        # 50,000-claim file fell from 763 to 124 ms (bench/README.md). Cyclic garbage waits longer.
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
        yield
        await asyncio.to_thread(parse_pool.shutdown)  # the 835 worker process, if one was started
        if engine is not None:
            await engine.dispose()

    app = FastAPI(
        title="ClearChart",
        version="1.0.0",
        summary="Durable workflows for outsourced medical coding",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.temporal = temporal
    app.state.claim_history = claim_history
    install_error_handlers(app)
    install_examples(app)
    for module in (webhooks, inbound, intake_failures, encounters, suggestions, queues, holds, queries, templates, claims, x12_intake, remittance_exceptions, payers, denials, metrics, evidence, qa_audits, access_log, tenant_policy, codec, health, webhook_endpoints, fhir, hl7v2, ui):
        app.include_router(module.router, responses=PROBLEM_RESPONSES if module is not ui else None)
    if settings.environment == "local" and not settings.clearinghouse_url:
        # No clearinghouse configured: serve the sandbox one, so claims still travel real HTTP.
        store = DatabaseStore(lambda: app.state.sessions)  # files and numbering survive a restart
        app.mount("/sandbox/clearinghouse", create_sandbox_clearinghouse(settings.clearinghouse_api_key, store))

    @app.middleware("http")
    async def request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        response.headers["x-request-id"] = request_id
        return response

    app.add_middleware(
        EdgeGuard,
        limits=EdgeLimits(
            json_bytes=settings.max_json_bytes,
            webhook_bytes=settings.max_webhook_bytes,
            x12_bytes=settings.max_x12_bytes,
            json_depth=settings.max_json_depth,
        ),
        routes=lambda: app.routes,  # each route's declared body media types
    )
    # Outside the edge checks: a flood is refused before its bodies are read.
    app.add_middleware(RateLimiter, per_second=settings.rate_limit_per_second, burst=settings.rate_limit_burst)
    # Added last, so outermost: it sees the final status and the request id of every PHI read.
    app.add_middleware(AccessLogMiddleware)

    return app
