"""Probe latency while a huge 835 is applied: `/readyz` and a read route must stay fast.

    python -m bench.readyz --claims 50000          # the figure in bench/README.md
    python -m bench.readyz --claims 20 --idle 0.5  # the smoke size .ci/run uses

Starts the stack (embedded PostgreSQL and Temporal, migrations) and serves the API on uvicorn
in this process, as `clearchart up` does. Probes `GET /readyz` and `GET /v1/queues` (a coder's
read) back to back, first on an idle API, then while one `POST /v1/remittances` carries an 835
of `--claims` claim payments (two service lines each, none of them ours: every payment is kept
as unmatched and queued as a remittance exception, the most work a file can ask for). Prints
p50/p95/p99/max per probe and phase, and the 835's size, time and payments per second. The
answer is checked (every payment listed as unmatched); no timing is asserted.
"""

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn

from api.main import create_app
from bench.remittance import file_835
from clearchart import admin
from clearchart.db import make_engine, make_sessions
from clearchart.embedded import free_port
from clearchart.settings import Settings
from clearchart.stack import running_stack
from clearchart.temporal import connect

TENANT = "bench-readyz"
PROBES = ("/readyz", "/v1/queues")
# Pause between one probe's requests: steady sampling without queueing behind ourselves.
PROBE_GAP_SECONDS = 0.01


LAG = "event loop lag"


@dataclass
class Samples:
    ms: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in (*PROBES, LAG)})
    failures: list[str] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class _Server(uvicorn.Server):
    """uvicorn minus its own Ctrl-C handling: asyncio.run cancels us and we stop in order."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def api(settings: Settings) -> AsyncIterator[tuple[str, str, str]]:
    """The API on a fresh tenant: (base URL, integrator token, coder token)."""
    engine = make_engine(settings.sqlalchemy_url)
    sessions = make_sessions(engine)
    await admin.create_tenant(sessions, TENANT, "Bench clinic", {"default_queue": "q1"})
    await admin.create_vendor(sessions, TENANT, "v1", "Bench vendor")
    await admin.create_queue(sessions, TENANT, "q1", "Bench queue", ["v1"])
    integrator = await admin.create_token(sessions, settings.secret_key, tenant_id=TENANT, role="integrator", user_id="integrator")
    coder = await admin.create_token(sessions, settings.secret_key, tenant_id=TENANT, role="coder", user_id="coder-1", vendor_id="v1")
    app = create_app(settings, sessions=sessions, temporal=await connect(settings))
    server = _Server(
        uvicorn.Config(app, host="127.0.0.1", port=settings.api_port, log_config=None, access_log=False, timeout_graceful_shutdown=5)
    )
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(300):  # the API loads its code sets first; slow on a busy machine
            while not server.started:  # uvicorn exposes a flag, not an event
                if serving.done():
                    await serving
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{settings.api_port}", integrator, coder
    finally:
        server.should_exit = True
        await serving
        await engine.dispose()


async def probe(http: httpx.AsyncClient, url: str, token: str, path: str, samples: Samples, stop: asyncio.Event) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    while not stop.is_set():
        began = time.perf_counter()
        response = await http.get(f"{url}{path}", headers=headers)
        samples.ms[path].append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            samples.failures.append(f"{path}: {response.status_code} {response.text[:200]}")
        await asyncio.sleep(PROBE_GAP_SECONDS)


async def loop_lag(samples: Samples, stop: asyncio.Event) -> None:
    """How late a 10 ms sleep wakes up: the API shares this event loop, so this is how long
    anything in it (parsing, ORM flushes, JSON) held the loop."""
    while not stop.is_set():
        began = time.perf_counter()
        await asyncio.sleep(PROBE_GAP_SECONDS)
        samples.ms[LAG].append((time.perf_counter() - began - PROBE_GAP_SECONDS) * 1000)


@asynccontextmanager
async def probing(http: httpx.AsyncClient, url: str, token: str) -> AsyncIterator[Samples]:
    samples, stop = Samples(), asyncio.Event()
    tasks = [asyncio.create_task(probe(http, url, token, path, samples, stop)) for path in PROBES]
    tasks.append(asyncio.create_task(loop_lag(samples, stop)))
    try:
        yield samples
    finally:
        stop.set()
        await asyncio.gather(*tasks)


def rows(phase: str, samples: Samples) -> list[str]:
    return [
        f"| {phase} | {path if path == LAG else f'`GET {path}`'} | {len(ms)} | {percentile(ms, 0.5):.0f} | {percentile(ms, 0.95):.0f} | "
        f"{percentile(ms, 0.99):.0f} | {max(ms, default=float('nan')):.0f} |"
        for path, ms in samples.ms.items()
    ]


async def run(args: argparse.Namespace) -> str:
    text = file_835(0, args.claims, 1)
    workdir = Path(tempfile.mkdtemp(prefix="clearchart-bench-readyz-"))
    try:
        settings = Settings(
            CLEARCHART_DATA_DIR=workdir / "var",
            DATABASE_URL="",
            TEMPORAL_ADDRESS="",
            CLEARCHART_API_PORT=free_port(),
            CLEARCHART_TEMPORAL_PORT=free_port(),
            CLEARCHART_TEMPORAL_UI_PORT=free_port(),
            CLEARCHART_TASK_QUEUE="bench-readyz",
        )
        sys.stderr.write(f"starting the stack under {workdir} ...\n")
        async with (
            running_stack(settings) as stack,
            api(stack.settings) as (url, integrator, coder),
            httpx.AsyncClient(timeout=None) as http,
        ):
            for path in PROBES:  # the first requests pay for connections and lazy imports
                await http.get(f"{url}{path}", headers={"Authorization": f"Bearer {coder}"})
            async with probing(http, url, coder) as idle:
                await asyncio.sleep(args.idle)
            sys.stderr.write(f"posting an 835 of {args.claims} claim payments ({len(text) / 1e6:.1f} MB) ...\n")
            async with probing(http, url, coder) as busy:
                began = time.perf_counter()
                answer = await http.post(
                    f"{url}/v1/remittances",
                    content=text.encode(),
                    headers={"Authorization": f"Bearer {integrator}", "content-type": "application/edi-x12"},
                )
                seconds = time.perf_counter() - began
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if answer.status_code != 200:
        raise SystemExit(f"the 835 was refused: {answer.status_code} {answer.text[:500]}")
    result = answer.json()
    if len(result["unmatched"]) != args.claims or result["matched"]:
        raise SystemExit(f"expected {args.claims} unmatched payments, got {len(result['unmatched'])} (matched {len(result['matched'])})")
    failed = idle.failures + busy.failures
    return "\n".join(
        [
            f"835: {args.claims} claim payments, {len(text) / 1e6:.1f} MB, applied in {seconds:.1f} s "
            f"({args.claims / seconds:,.0f} payments/s)",
            "",
            "| phase | probe | count | p50 ms | p95 ms | p99 ms | max ms |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
            *rows("idle", idle),
            *rows("835 running", busy),
            "",
            f"probe answers other than 200: {len(failed)}" + (f" (first: {failed[0][:200]})" if failed else ""),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.readyz", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--claims", type=int, default=50000, help="claim payments in the 835 (default 50000)")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of probing before the 835 (default 5)")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(asyncio.run(run(args)) + "\n")
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
