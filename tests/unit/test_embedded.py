"""Embedded servers against real processes: PostgreSQL from pgserver, the Temporal dev server."""

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from clearchart.embedded import EmbeddedPostgres, EmbeddedServerError, TemporalDevServer, free_port
from tests.support import eventually

REPO = Path(__file__).resolve().parents[2]
DEADLINE = 20.0


async def wait_until_async(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    assert await eventually(condition, until=bool, within=DEADLINE), what


async def gone(pid: int) -> bool:
    return not pid_alive(pid)


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def postmaster_pid(pg: EmbeddedPostgres) -> int:
    return int((pg.pgdata / "postmaster.pid").read_text().splitlines()[0])


def scalar(url: str, query: str) -> object:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(query)).scalar_one()
    finally:
        engine.dispose()


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    """A data dir outside pytest's tmp_path: as root, PostgreSQL runs as `pgserver` and needs
    every parent traversable, but each pytest session start re-chmods /tmp/pytest-of-<user> to
    0700, so a concurrent test run would break it mid-test."""
    path = Path(tempfile.mkdtemp(prefix="clearchart-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    with scratch_dir() as path:
        yield path


@pytest.fixture
def pg(data_dir: Path) -> Iterator[EmbeddedPostgres]:
    """A fresh cluster, not started yet."""
    server = EmbeddedPostgres(data_dir / "var")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def running_pg() -> Iterator[EmbeddedPostgres]:
    """One started cluster shared by the tests that only need a server (initdb is the slow part)."""
    with scratch_dir() as path, EmbeddedPostgres(path) as server:
        yield server


class TestFreePort:
    def test_returned_port_can_be_bound(self) -> None:
        port = free_port()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


class TestEmbeddedPostgres:
    def test_start_returns_a_working_sqlalchemy_url_for_clearchart(
        self, running_pg: EmbeddedPostgres
    ) -> None:
        url = running_pg.url()

        assert url == f"postgresql+psycopg://postgres@/clearchart?host={running_pg.socket_dir}"
        assert scalar(url, "SELECT current_database()") == "clearchart"

    async def test_url_works_with_the_async_engine(self, running_pg: EmbeddedPostgres) -> None:
        engine = create_async_engine(running_pg.url())
        try:
            async with engine.connect() as conn:
                assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
        finally:
            await engine.dispose()

    def test_second_start_resumes_existing_data(self, pg: EmbeddedPostgres) -> None:
        url = pg.start()
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)"))
        engine.dispose()
        pg.stop()

        assert scalar(pg.start(), "SELECT x FROM kept") == 7

        # Same again after a crash and reboot: the old pid now belongs to an unrelated process.
        pidfile = pg.pgdata / "postmaster.pid"
        stale = pidfile.read_text()
        pg.stop()
        pidfile.write_text(stale.replace(stale.splitlines()[0], str(os.getpid()), 1))

        assert scalar(pg.start(), "SELECT x FROM kept") == 7
        assert postmaster_pid(pg) != os.getpid()

    def test_create_and_drop_database(self, running_pg: EmbeddedPostgres) -> None:
        pg = running_pg
        name = f"test_{uuid.uuid4().hex[:8]}"

        url = pg.create_database(name)
        assert pg.create_database(name) == url  # idempotent
        assert scalar(url, "SELECT current_database()") == name

        pg.drop_database(name)
        with pytest.raises(psycopg.OperationalError, match="does not exist"):
            psycopg.connect(host=str(pg.socket_dir), user="postgres", dbname=name).close()

    def test_rejects_database_names_that_are_not_plain_identifiers(
        self, running_pg: EmbeddedPostgres
    ) -> None:
        with pytest.raises(ValueError, match="identifier"):
            running_pg.create_database('x"; DROP DATABASE clearchart; --')

    async def test_restarts_after_the_server_was_killed(self, pg: EmbeddedPostgres) -> None:
        url = pg.start()
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)"))
        engine.dispose()
        pid = postmaster_pid(pg)

        os.kill(pid, signal.SIGKILL)  # leaves postmaster.pid and the socket lock behind
        await wait_until_async(lambda: gone(pid), "postmaster to die")

        restarted = EmbeddedPostgres(pg.data_dir)
        try:
            assert scalar(restarted.start(), "SELECT x FROM kept") == 7
            assert postmaster_pid(pg) != pid
        finally:
            restarted.stop()

    def test_a_process_that_adopts_the_server_leaves_it_running(
        self, running_pg: EmbeddedPostgres
    ) -> None:
        pid = postmaster_pid(running_pg)
        adopt = "import sys; from pathlib import Path; from clearchart.embedded import EmbeddedPostgres as P; p = P(Path(sys.argv[1])); p.start(); assert p.adopted"

        subprocess.run(
            [sys.executable, "-c", adopt, str(running_pg.data_dir)], check=True, cwd=REPO
        )

        assert postmaster_pid(running_pg) == pid
        assert pid_alive(pid)

    def test_runs_under_the_repo_var_dir(self) -> None:
        # Root runs PostgreSQL as the `pgserver` user, which must be able to traverse the parents.
        (REPO / "var").mkdir(exist_ok=True)
        with (
            tempfile.TemporaryDirectory(dir=REPO / "var", prefix="test-embedded-") as tmp,
            EmbeddedPostgres(Path(tmp)) as pg,
        ):
            assert scalar(pg.url(), "SELECT current_database()") == "clearchart"


@workflow.defn(sandboxed=False)
class AwaitReleaseWorkflow:
    def __init__(self) -> None:
        self._note: str | None = None

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self._note is not None)
        return f"released: {self._note}"

    @workflow.signal
    def release(self, note: str) -> None:
        self._note = note


async def first_task_completed(handle: WorkflowHandle[AwaitReleaseWorkflow, str]) -> bool:
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            return True
    return False


class TestTemporalDevServer:
    def test_command_persists_to_sqlite_in_wal_mode(self, tmp_path: Path) -> None:
        args = TemporalDevServer(tmp_path, port=7300, ui_port=8300).command()

        assert args[1:3] == ["server", "start-dev"]
        assert args[args.index("--db-filename") + 1] == str(tmp_path / "temporal.sqlite")
        assert "journal_mode=wal" in args
        assert "synchronous=normal" in args
        assert args[args.index("--ui-port") + 1] == "8300"

    def test_command_without_persistence_or_ui(self, tmp_path: Path) -> None:
        args = TemporalDevServer(tmp_path, persist=False, headless=True).command()

        assert "--db-filename" not in args
        assert "--headless" in args
        assert "--ui-port" not in args

    async def test_workflow_survives_a_server_restart(self, tmp_path: Path) -> None:
        server = TemporalDevServer(tmp_path, port=free_port(), headless=True)
        queue = f"tq-{uuid.uuid4()}"
        await server.start()
        try:
            client = await Client.connect(server.address)
            # No sticky cache: the post-restart task must not wait for the old worker's queue.
            async with Worker(
                client, task_queue=queue, workflows=[AwaitReleaseWorkflow], max_cached_workflows=0
            ):
                handle = await client.start_workflow(
                    AwaitReleaseWorkflow.run, id=f"await-release/{uuid.uuid4()}", task_queue=queue
                )
                await wait_until_async(lambda: first_task_completed(handle), "first workflow task")

            await server.stop()
            await server.start()

            client = await Client.connect(server.address)
            handle = client.get_workflow_handle_for(AwaitReleaseWorkflow.run, handle.id)
            await handle.signal(AwaitReleaseWorkflow.release, "after restart")
            async with Worker(
                client, task_queue=queue, workflows=[AwaitReleaseWorkflow], max_cached_workflows=0
            ):
                result = await asyncio.wait_for(handle.result(), timeout=DEADLINE)
        finally:
            await server.stop()

        assert result == "released: after restart"
        assert (tmp_path / "temporal.sqlite").exists()
        assert "start-dev" in (tmp_path / "temporal.log").read_text()

    async def test_in_memory_server_leaves_no_database_file(self, tmp_path: Path) -> None:
        async with TemporalDevServer(
            tmp_path, port=free_port(), persist=False, headless=True
        ) as server:
            await Client.connect(server.address)

        assert not (tmp_path / "temporal.sqlite").exists()

    async def test_refuses_a_port_that_is_taken(self, tmp_path: Path) -> None:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            server = TemporalDevServer(tmp_path, port=port, headless=True)

            with pytest.raises(EmbeddedServerError, match="already in use"):
                await server.start()

    async def test_reports_the_log_tail_when_the_server_exits(self, tmp_path: Path) -> None:
        class BrokenServer(TemporalDevServer):
            def command(self) -> list[str]:
                return [*super().command(), "--no-such-flag"]

        server = BrokenServer(tmp_path, port=free_port(), headless=True)

        with pytest.raises(EmbeddedServerError, match="no-such-flag"):
            await server.start()


CHILD = """
import asyncio, sys
from pathlib import Path
from clearchart.embedded import EmbeddedPostgres, TemporalDevServer

async def main() -> None:
    data = Path(sys.argv[1])
    with EmbeddedPostgres(data) as pg:
        async with TemporalDevServer(data, port=int(sys.argv[2]), headless=True) as temporal:
            pids = (data / "pg" / "postmaster.pid").read_text().split()[0], temporal.pid
            print("PIDS", *pids, flush=True)
            await asyncio.Event().wait()

asyncio.run(main())
"""


class TestParentInterrupted:
    @pytest.fixture
    def child(self, data_dir: Path) -> Iterator[tuple[subprocess.Popen[str], int, int]]:
        """A `clearchart up`-like parent holding both servers; yields it and the server pids."""
        proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(CHILD), str(data_dir), str(free_port())],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=REPO,
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:  # skip log lines until the servers are up
                if line.startswith("PIDS "):
                    _, pg_pid, temporal_pid = line.split()
                    break
            else:
                raise AssertionError("child exited before starting the servers")
            yield proc, int(pg_pid), int(temporal_pid)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=DEADLINE)

    def test_ctrl_c_stops_both_servers(self, child: tuple[subprocess.Popen[str], int, int]) -> None:
        proc, pg_pid, temporal_pid = child

        proc.send_signal(signal.SIGINT)

        assert proc.wait(timeout=DEADLINE) != 0  # KeyboardInterrupt, after cleaning up
        assert not pid_alive(temporal_pid)
        assert not pid_alive(pg_pid)

    async def test_temporal_dies_with_a_killed_parent(
        self, child: tuple[subprocess.Popen[str], int, int], data_dir: Path
    ) -> None:
        proc, pg_pid, temporal_pid = child

        proc.kill()
        proc.wait(timeout=DEADLINE)

        await wait_until_async(lambda: gone(temporal_pid), "temporal to exit")
        # PostgreSQL outlives a hard kill of its parent: the next start adopts it.
        assert pid_alive(pg_pid)
        adopted = EmbeddedPostgres(data_dir)
        adopted.start()
        assert postmaster_pid(adopted) == pg_pid
        adopted.stop()
        assert not pid_alive(pg_pid)
