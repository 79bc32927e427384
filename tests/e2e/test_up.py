"""`clearchart up` as a user runs it: a real process tree, administered through the real CLI,
stopped with Ctrl-C and started again on the same data directory, where every workflow resumes.

With DATABASE_URL set, each `up` gets a fresh database on that server; otherwise it runs its
embedded PostgreSQL under the data directory, as it does on a laptop.
"""

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import pytest_asyncio
from psycopg import sql
from sqlalchemy.engine import make_url

from clearchart.embedded import EmbeddedPostgres, free_port
from clearchart.settings import Settings
from integrations.sandbox.bundles import synthetic_bundle
from integrations.sandbox.ehr import push_bundle
from tests.support import eventually

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
CLI_TIMEOUT = 60.0
TENANT = "e2e-clinic"


def _coding_body(document_id: str) -> dict[str, Any]:
    return {
        "diagnoses": [
            {
                "code": "E11.65",
                "evidence": [
                    {
                        "document_id": document_id,
                        "excerpt": "type 2 diabetes mellitus with hyperglycemia",
                    }
                ],
            },
            {
                "code": "I10",
                "evidence": [{"document_id": document_id, "excerpt": "essential hypertension"}],
            },
        ],
        "procedures": [
            {
                "code": "99214",
                "pointers": [1, 2],
                "evidence": [{"document_id": document_id, "excerpt": "follow-up of chronic conditions"}],
            }
        ],
    }


def _processes_under(data_dir: Path) -> dict[int, str]:
    """Live processes whose command line names `data_dir` (Temporal, the postmaster), and their children."""
    marker = str(data_dir.resolve())
    commands: dict[int, str] = {}
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (
                (entry / "cmdline")
                .read_bytes()
                .replace(b"\0", b" ")
                .decode(errors="replace")
                .strip()
            )
            stat = (entry / "stat").read_text()
        except OSError:  # exited while we looked
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state == "Z" or not cmdline:
            continue
        commands[int(entry.name)] = cmdline
        parents[int(entry.name)] = int(ppid)
    found = {pid for pid, cmd in commands.items() if marker in cmd}
    grew = True
    while grew:
        children = {pid for pid, ppid in parents.items() if ppid in found} - found
        found |= children
        grew = bool(children)
    return {pid: commands[pid] for pid in found}


class UpProcess:
    """One `clearchart up` child with its own data dir and ports; drives it like a terminal user."""

    def __init__(self, workdir: Path, database_url: str) -> None:
        self.workdir = workdir
        self.data_dir = workdir / "var"
        self.api_port = free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            "CLEARCHART_ENV": "local",
            "CLEARCHART_DATA_DIR": str(self.data_dir),
            "CLEARCHART_API_PORT": str(self.api_port),
            "CLEARCHART_TEMPORAL_PORT": str(free_port()),
            "CLEARCHART_TEMPORAL_UI_PORT": str(free_port()),
            "CLEARCHART_TASK_QUEUE": "clearchart-encounters",
            "CLEARCHART_JSON_LOGS": "false",
            "DATABASE_URL": database_url,  # empty: the embedded cluster under the data dir
            "TEMPORAL_ADDRESS": "",  # empty: the Temporal dev server under the data dir
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.stdout_path = workdir / "up.stdout"
        self.stderr_path = workdir / "up.stderr"

    def start(self, *args: str) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.runs += 1
        self.stdout_path = self.workdir / f"up-{self.runs}.stdout"
        self.stderr_path = self.workdir / f"up-{self.runs}.stderr"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            # Its own process group, so interrupt() can signal the group as a terminal's Ctrl-C does.
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "clearchart.cli", "up", *args],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    def output(self) -> str:
        def tail(path: Path) -> str:
            try:
                return "\n".join(path.read_text(errors="replace").splitlines()[-60:])
            except OSError:
                return ""

        return f"--- stdout ---\n{tail(self.stdout_path)}\n--- stderr ---\n{tail(self.stderr_path)}"

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def _check_alive(self, what: str) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(
                f"`clearchart up` exited with {self.proc.returncode} while {what}\n{self.output()}"
            )

    async def wait_ready(self, http: httpx.AsyncClient) -> None:
        async def probe() -> str:
            self._check_alive("starting")
            try:
                response = await http.get(f"{self.api}/readyz", timeout=5)
            except httpx.TransportError as exc:
                return repr(exc)
            return "ready" if response.status_code == 200 else f"{response.status_code} {response.text}"

        try:
            await eventually(probe, until=lambda last: last == "ready", within=READY_TIMEOUT)
        except AssertionError as exc:
            raise AssertionError(f"not ready: {exc}\n{self.output()}") from None

    async def wait_for_stdout(self, pattern: str) -> re.Match[str]:
        async def probe() -> re.Match[str] | None:
            self._check_alive(f"waiting for {pattern!r} on stdout")
            return re.search(pattern, self.stdout(), re.MULTILINE)

        try:
            found = await eventually(probe, until=lambda m: m is not None, within=READY_TIMEOUT)
        except AssertionError:
            raise AssertionError(f"{pattern!r} not printed within {READY_TIMEOUT}s\n{self.output()}") from None
        assert found is not None
        return found

    async def cli(self, *args: str) -> str:
        """`python -m clearchart.cli ARGS` with the same environment, as a user beside `up` would run it."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "clearchart.cli",
            *args,
            cwd=self.workdir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=CLI_TIMEOUT)
        assert proc.returncode == 0, (
            f"clearchart {' '.join(args)} exited {proc.returncode}\n{out.decode()}\n{err.decode()}"
        )
        return out.decode()

    async def interrupt(self) -> int:
        """Ctrl-C: SIGINT to the foreground process group; returns the exit code."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            return await asyncio.to_thread(self.proc.wait, STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"`clearchart up` still running {STOP_TIMEOUT}s after Ctrl-C\n{self.output()}"
            ) from None

    async def assert_nothing_left_running(self) -> None:
        async def left() -> dict[int, str]:
            return _processes_under(self.data_dir)

        try:
            await eventually(left, until=lambda procs: not procs, within=10)
        except AssertionError as exc:
            raise AssertionError(f"still running after `up` exited: {exc}\n{self.output()}") from None

    def kill(self) -> None:
        """Last resort after a failure: stop the process group, then any embedded PostgreSQL it left."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # PostgreSQL is daemonised by pg_ctl: it outlives a killed parent.
        if (self.data_dir / "pg" / "postmaster.pid").exists():
            pg = EmbeddedPostgres(self.data_dir)
            try:
                pg.start()
            finally:
                pg.stop()


@pytest.fixture
def database_url() -> Iterator[str]:
    """A fresh database on DATABASE_URL's server when the suite runs against one; else "" (embedded)."""
    configured = os.environ.get("DATABASE_URL")
    if not configured:
        yield ""
        return
    name = f"cc_up_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    base = make_url(Settings(DATABASE_URL=configured).sqlalchemy_url)
    admin = base.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield base.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def up(database_url: str) -> Iterator[UpProcess]:
    # Outside pytest's tmp_path: as root, PostgreSQL runs as `pgserver` and needs every parent
    # traversable, and pytest re-chmods its own base dir to 0700.
    workdir = Path(tempfile.mkdtemp(prefix="clearchart-up-"))
    process = UpProcess(workdir, database_url)
    try:
        yield process
    finally:
        try:
            process.kill()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=60) as client:
        yield client


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class TestClearchartUp:
    async def test_administered_by_the_cli_stopped_with_ctrl_c_and_resumed(
        self, up: UpProcess, http: httpx.AsyncClient
    ) -> None:
        up.start()
        await up.wait_ready(http)
        assert "ClearChart is running." in up.stdout()

        # Administer it as a user would, with the CLI beside the running stack.
        await up.cli("tenant", "create", "--id", TENANT, "--name", "E2E Clinic")
        await up.cli(
            "vendor", "create", "--tenant", TENANT, "--id", "acme", "--name", "Acme Coding"
        )
        await up.cli(
            "queue", "create", "--tenant", TENANT, "--id", "outpatient", "--vendors", "acme"
        )
        await up.cli("route", "add", "--tenant", TENANT, "--queue", "outpatient")
        await up.cli(
            "payer", "add", "--tenant", TENANT, "--id", "MEDICARE", "--name", "MEDICARE PART B", "--filing", "MB"
        )
        coder = (
            await up.cli(
                "token",
                "create",
                "--tenant",
                TENANT,
                "--role",
                "coder",
                "--user",
                "alice",
                "--vendor",
                "acme",
            )
        ).split()[-1]
        ops = (
            await up.cli("token", "create", "--tenant", TENANT, "--role", "ops", "--user", "olivia")
        ).split()[-1]
        printed = await up.cli("source", "create", "--tenant", TENANT, "--name", "sandbox-ehr")
        source = re.search(r"^source:\s+(\S+)$", printed, re.MULTILINE)
        secret = re.search(r"^secret:\s+(whsec_\S+)$", printed, re.MULTILINE)
        webhook = re.search(r"^webhook:\s+(\S+)$", printed, re.MULTILINE)
        assert source, printed
        assert secret, printed
        assert webhook, printed
        assert webhook[1] == f"{up.api}/v1/webhooks/ehr?source={source[1]}"
        await up.wait_ready(http)  # the CLI left the running stack's database alone

        async def push(key: str) -> dict[str, Any]:
            bundle = synthetic_bundle(encounter_id=f"e2e-{key}", patient_id=f"e2e-pt-{key}")
            response = await push_bundle(http, webhook[1], secret[1], bundle)
            assert response.status_code == 202, response.text
            [encounter] = response.json()["encounters"]
            assert encounter["status"] == "ready", encounter
            return dict(encounter)

        async def claim() -> dict[str, Any]:
            response = await http.post(f"{up.api}/v1/queues/outpatient/claim", headers=_auth(coder))
            assert response.status_code == 200, response.text
            chart: dict[str, Any] = response.json()
            assert chart["status"] == "in_coding", chart
            return chart

        # Chart A: pushed, claimed, coded, evidenced.
        coded = await push("a")
        chart = await claim()
        assert chart["id"] == coded["id"]
        response = await http.post(
            f"{up.api}/v1/encounters/{coded['id']}/coding",
            headers=_auth(coder),
            json=_coding_body(chart["documents"][0]["id"]),
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] in ("scrubbing", "submitted")
        submitted = await eventually(
            lambda: http.get(f"{up.api}/v1/encounters/{coded['id']}", headers=_auth(ops)),
            until=lambda r: r.json()["status"] == "submitted",
        )
        assert submitted.json()["status"] == "submitted"
        evidence = await http.get(
            f"{up.api}/v1/encounters/{coded['id']}/evidence", headers=_auth(ops)
        )
        assert evidence.status_code == 200, evidence.text
        assert [e["action"] for e in evidence.json()["events"]] == [
            "docs_complete",
            "claim",
            "submit_coding",
            "start_scrub",
            "scrub_clean",
        ]
        assert evidence.json()["chain"]["verified"] is True
        verified = await http.get(f"{up.api}/v1/audit-trail/verify", headers=_auth(ops))
        assert verified.status_code == 200, verified.text
        assert verified.json()["verified"] is True

        # Chart B: left claimed (in_coding) across the restart.
        held = await push("b")
        assert (await claim())["id"] == held["id"]

        code = await up.interrupt()
        assert code == 0, f"Ctrl-C should stop `up` cleanly, got exit code {code}\n{up.output()}"
        await up.assert_nothing_left_running()

        # Second run on the same data dir: the projection is there and the workflows are alive.
        up.start()
        await up.wait_ready(http)
        # The sandbox clearinghouse's files survived the restart: the poller brings the payment.
        again = await eventually(
            lambda: http.get(f"{up.api}/v1/encounters/{coded['id']}", headers=_auth(ops)),
            until=lambda r: r.json()["status"] == "closed",
        )
        assert again.status_code == 200, again.text
        evidence = await http.get(
            f"{up.api}/v1/encounters/{coded['id']}/evidence", headers=_auth(ops)
        )
        assert evidence.status_code == 200, evidence.text
        assert (
            evidence.json()["codes"]["diagnoses"][0]["support"][0]["excerpt"]
            == "type 2 diabetes mellitus with hyperglycemia"
        )
        before = await http.get(f"{up.api}/v1/encounters/{held['id']}", headers=_auth(ops))
        assert before.json()["status"] == "in_coding", before.text
        released = await http.post(
            f"{up.api}/v1/encounters/{held['id']}/release", headers=_auth(coder)
        )
        # Answered by the workflow itself, through the new worker: not just the projection.
        assert released.status_code == 200, released.text
        assert released.json()["status"] == "ready"
        assert (await claim())["id"] == held["id"]
        verified = await http.get(f"{up.api}/v1/audit-trail/verify", headers=_auth(ops))
        assert verified.json()["verified"] is True, verified.text

        code = await up.interrupt()
        assert code == 0, f"second Ctrl-C: exit code {code}\n{up.output()}"
        await up.assert_nothing_left_running()

    async def test_demo_seeds_a_tenant_prints_tokens_and_pushes_encounters(
        self, up: UpProcess, http: httpx.AsyncClient
    ) -> None:
        up.start("--demo")
        await up.wait_for_stdout(r"^Demo tenant 'demo' is seeded")
        ops = await up.wait_for_stdout(r"^\s+ops\s+olivia\.ops\s+(\S+)$")
        coder = await up.wait_for_stdout(r"^\s+coder\s+alice\.coder\s+(\S+)$")
        assert re.search(r"^Webhook secret\s+whsec_\S+$", up.stdout(), re.MULTILINE), up.output()

        listed = await http.get(f"{up.api}/v1/encounters", headers=_auth(ops[1]))
        assert listed.status_code == 200, listed.text
        assert len(listed.json()["items"]) >= 4, listed.json()
        queues = await http.get(f"{up.api}/v1/queues", headers=_auth(coder[1]))
        assert queues.status_code == 200, queues.text

        code = await up.interrupt()
        assert code == 0, (
            f"Ctrl-C should stop `up --demo` cleanly, got exit code {code}\n{up.output()}"
        )
        await up.assert_nothing_left_running()
