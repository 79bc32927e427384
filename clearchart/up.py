"""`clearchart up`: database, Temporal, migrations, worker, API and UI in one process tree."""

import asyncio
import contextlib

import httpx
import structlog
import uvicorn

from activities.clearinghouse_poll import ensure_schedule
from api.main import create_app
from clearchart.db import make_engine, make_sessions
from clearchart.settings import Settings
from clearchart.stack import running_stack
from clearchart.supervise import supervise
from clearchart.temporal import ADDRESS_FILE, connect
from clearchart.worker import build_worker

log = structlog.get_logger(__name__)


async def run_up(settings: Settings, *, demo: bool) -> None:
    async with running_stack(settings) as stack:
        settings = stack.settings
        recorded = settings.data_dir / ADDRESS_FILE
        if stack.temporal is not None:  # CLI commands run beside this stack reach its Temporal
            recorded.write_text(settings.temporal_address + "\n")
        client = await connect(settings)
        engine = make_engine(settings.sqlalchemy_url)
        sessions = make_sessions(engine)
        # The API gets its own fail-fast client; the worker keeps the patient one.
        app = create_app(settings, sessions=sessions, temporal=await connect(settings, interactive=True))
        # A request still waiting on a dead dependency at Ctrl-C cannot hold the stop.
        config = uvicorn.Config(
            app, host=settings.api_host, port=settings.api_port, log_config=None, lifespan="on", timeout_graceful_shutdown=10
        )
        server = uvicorn.Server(config)
        http = httpx.AsyncClient(timeout=30)
        worker = build_worker(client, sessions, settings, http)
        api_url = f"http://{settings.api_host}:{settings.api_port}"
        stop_polling = asyncio.Event()
        supervising = asyncio.create_task(supervise(stack.postgres, stack.temporal, stop_polling))
        try:
            # The API first: it serves the sandbox clearinghouse that the scheduled polls (kept
            # by Temporal across restarts) read from, so the worker starts once it listens.
            serving = asyncio.create_task(server.serve())
            while not server.started and not serving.done():  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
                await asyncio.sleep(0.05)
            if serving.done():
                await serving  # surfaces the bind error
                return
            try:
                async with worker:
                    _banner(api_url, stack.temporal.ui_url if stack.temporal else None, settings, embedded_db=stack.postgres is not None)
                    # Each poll is a Temporal workflow run started by a schedule (position, retries
                    # and failures visible in Temporal); the worker above runs it.
                    await ensure_schedule(client, settings)
                    if demo:
                        from clearchart.demo import seed_demo

                        await seed_demo(sessions, settings, api_url)
                    await serving
            finally:
                stop_polling.set()
                if not serving.done():  # the worker failed: stop serving too
                    server.should_exit = True
                    await serving
        finally:
            stop_polling.set()
            # Before the stack stops its servers, so a deliberate stop is never taken for a death.
            supervising.cancel()
            with contextlib.suppress(Exception):
                await http.aclose()
                await engine.dispose()
            if stack.temporal is not None:
                recorded.unlink(missing_ok=True)
            log.info("clearchart.stopping")


def _banner(api_url: str, temporal_ui: str | None, settings: Settings, *, embedded_db: bool) -> None:
    database = f"embedded, under {settings.data_dir.resolve()}" if embedded_db else "DATABASE_URL"
    lines = [
        "",
        "ClearChart is running.",
        f"  API        {api_url}   (OpenAPI docs: {api_url}/docs)",
        f"  Web UI     {api_url}/ui",
        f"  Temporal   {settings.temporal_address}" + (f"   (UI: {temporal_ui})" if temporal_ui else ""),
        f"  Database   {database}",
        "Press Ctrl-C to stop; run it again to resume every workflow where it was.",
        "",
    ]
    print("\n".join(lines), flush=True)  # noqa: T201 - the banner is the command's output
