"""`up`'s supervisor brings a killed embedded PostgreSQL or Temporal back, and says so in the log."""

import asyncio
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest_asyncio
from structlog.testing import capture_logs
from temporalio.client import Client

from clearchart.embedded import EmbeddedPostgres, TemporalDevServer, free_port
from clearchart.supervise import supervise
from tests.support import eventually


@pytest_asyncio.fixture(loop_scope="session")
async def stop() -> AsyncIterator[asyncio.Event]:
    event = asyncio.Event()
    yield event
    event.set()


class TestTemporal:
    async def test_a_killed_dev_server_is_restarted_with_its_data(self, tmp_path: Path, stop: asyncio.Event) -> None:
        server = TemporalDevServer(tmp_path, port=free_port(), headless=True, persist=True)
        await server.start()
        try:
            first_pid = server.pid
            assert first_pid is not None
            with capture_logs() as logs:
                watching = asyncio.create_task(supervise(None, server, stop, every=0.2))
                os.kill(first_pid, signal.SIGKILL)

                async def connected() -> bool:
                    try:
                        await asyncio.wait_for(Client.connect(server.address), timeout=2)
                    except Exception:
                        return False
                    return server.pid not in (None, first_pid)

                await eventually(connected, until=bool, within=60)
                stop.set()
                await watching
            events = [e["event"] for e in logs]
            assert "temporal.died" in events
            assert "temporal.restarted" in events
        finally:
            await server.stop()


class TestPostgres:
    async def test_a_killed_cluster_is_restarted(self, stop: asyncio.Event) -> None:
        pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="clearchart-test-pg-")))
        await asyncio.to_thread(pg.start)
        try:
            postmaster = int((pg.pgdata / "postmaster.pid").read_text().splitlines()[0])
            with capture_logs() as logs:
                watching = asyncio.create_task(supervise(pg, None, stop, every=0.2))
                os.kill(postmaster, signal.SIGKILL)

                async def answers() -> bool:
                    def query() -> bool:
                        try:
                            with psycopg.connect(host=str(pg.socket_dir), user="postgres", dbname="postgres", connect_timeout=2) as conn:
                                return conn.execute("SELECT 1").fetchone() == (1,)
                        except psycopg.Error:
                            return False

                    pid = (pg.pgdata / "postmaster.pid").read_text().split("\n")[0] if pg.is_running() else ""
                    return pid not in ("", str(postmaster)) and await asyncio.to_thread(query)

                await eventually(answers, until=bool, within=90)
                stop.set()
                await watching
            events = [e["event"] for e in logs]
            assert "postgres.died" in events
            assert "postgres.restarted" in events
        finally:
            await asyncio.to_thread(pg.stop)
            shutil.rmtree(pg.data_dir, ignore_errors=True)
