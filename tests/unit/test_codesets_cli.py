"""`clearchart codesets load|status` against a real database, and a scrub that uses what it loaded.

PTP and MUE tables are global, and other tests assert a clean claim *skips* ptp/mue. So this
module runs on a database of its own (created here, dropped after), with its own API and
worker on that database; nothing it loads is visible to any other test.
"""

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import pytest_asyncio
import uvicorn
from psycopg import sql
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.main import create_app
from clearchart import admin
from clearchart.codesets_cli import LoadError, Progress, load_table, status
from clearchart.db import make_engine, make_sessions
from clearchart.embedded import TemporalDevServer, free_port
from clearchart.migrate import upgrade
from clearchart.settings import Settings
from clearchart.worker import build_worker
from integrations.codesets.scrub_files import TableFormatError
from models.claims.reference import CodeTableVersion, FeeScheduleRow, MueLimitRow, PtpEditRow
from models.claims.tables import DenialRow
from models.repositories.claims import fee
from tests.api.claim_support import claimed, coding, post_x12, remittance_835, submitted_claim
from tests.conftest import REPO
from tests.support import LiveStack, eventually, make_tenant, started

FIXTURES = REPO / "tests" / "fixtures" / "scrub-tables"
PTP, MUE, FEES = FIXTURES / "ptp_synthetic.csv", FIXTURES / "mue_synthetic.csv", FIXTURES / "fee_schedule_synthetic.csv"
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture(scope="module")
def codesets_url(database_url: str) -> Iterator[str]:
    base = make_url(Settings(DATABASE_URL=database_url).sqlalchemy_url)
    server = base.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    name = f"cc_codesets_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = base.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def db(codesets_url: str) -> AsyncIterator[Sessions]:
    engine = make_engine(codesets_url)
    yield make_sessions(engine)
    await engine.dispose()


async def count(sessions: Sessions, model: Any) -> int:
    async with sessions() as s:
        return await s.scalar(select(func.count()).select_from(model)) or 0


async def versions(sessions: Sessions) -> dict[str, str]:
    async with sessions() as s:
        return dict((await s.execute(select(CodeTableVersion.table_name, CodeTableVersion.version))).all())


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "clearchart.codesets_cli", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )


def broken_copy(tmp_path: Path, source: Path, bad_row: str) -> tuple[Path, int]:
    """The fixture with one bad data row appended; returns the file and the bad row's line."""
    lines = source.read_text().splitlines()
    path = tmp_path / source.name
    path.write_text("\n".join([*lines, bad_row]) + "\n")
    return path, len(lines) + 1


class TestLoad:
    async def test_the_synthetic_fixtures_load_with_their_versions_and_counts(self, db: Sessions) -> None:
        ptp = await load_table(db, "ptp", [PTP], "synthetic-ptp-1")
        mue = await load_table(db, "mue", [MUE], "synthetic-mue-1", effective_from=date(2025, 1, 1))
        assert (ptp.rows, mue.rows) == (6, 4)
        assert await count(db, PtpEditRow) == 6
        assert await count(db, MueLimitRow) == 4
        assert await versions(db) == {"ptp": "synthetic-ptp-1", "mue": "synthetic-mue-1"}
        async with db() as s:
            limit = await s.scalar(select(MueLimitRow).where(MueLimitRow.code == "20610"))
            deleted = await s.scalar(select(PtpEditRow).where(PtpEditRow.column1 == "17000"))
        assert limit is not None
        assert (limit.limit, limit.adjudication_indicator, limit.effective_from) == (2, "1", date(2025, 1, 1))
        assert deleted is not None
        assert deleted.effective_to == date(2019, 12, 31)
        listed = {r["table"]: r for r in await status(db) if r["scope"] == "global"}
        assert listed["ptp"]["rows"] == listed["ptp"]["rows_in_table"] == 6
        assert listed["mue"]["loaded_at"]

    async def test_a_reload_replaces_every_row_of_the_table(self, db: Sessions, tmp_path: Path) -> None:
        await load_table(db, "ptp", [PTP], "synthetic-ptp-1")
        smaller = tmp_path / "ptp_q2.txt"  # the tab-separated layout CMS also ships
        smaller.write_text("Column 1\tColumn 2\tEffective Date\tDeletion Date\tModifier\n29881\t29877\t20100101\t*\t1\n")
        report = await load_table(db, "ptp", [smaller], "synthetic-ptp-2")
        assert report.rows == 1
        assert await count(db, PtpEditRow) == 1
        assert (await versions(db))["ptp"] == "synthetic-ptp-2"
        async with db() as s:
            assert set((await s.scalars(select(PtpEditRow.version))).all()) == {"synthetic-ptp-2"}
        two_parts = await load_table(db, "ptp", [PTP, smaller], "synthetic-ptp-3")
        assert two_parts.rows == await count(db, PtpEditRow) == 7

    async def test_a_malformed_file_names_its_line_and_leaves_the_loaded_version(self, db: Sessions, tmp_path: Path) -> None:
        await load_table(db, "mue", [MUE], "synthetic-mue-1")
        bad, line = broken_copy(tmp_path, MUE, "20611,lots,1 Line Edit,synthetic")
        with pytest.raises(TableFormatError, match=f"line {line}"):
            await load_table(db, "mue", [bad], "synthetic-mue-bad")
        too_long, _ = broken_copy(tmp_path, PTP, "2988100,29877,,20100101,*,1,synthetic")
        with pytest.raises(TableFormatError, match="1-5 letters"):
            await load_table(db, "ptp", [too_long], "synthetic-ptp-bad")
        assert (await versions(db))["mue"] == "synthetic-mue-1"
        assert await count(db, MueLimitRow) == 4
        assert "synthetic-ptp-bad" not in (await versions(db)).values()

    def test_the_command_reports_progress_and_refuses_a_bad_file_with_exit_2(self, codesets_url: str, tmp_path: Path) -> None:
        ok = cli(codesets_url, "load", "--table", "ptp", "--file", str(PTP), "--version", "cli-ptp-1")
        assert ok.returncode == 0, ok.stderr
        assert "6 rows loaded" in ok.stdout
        assert "writing ptp: 6 rows" in ok.stderr  # not a TTY: plain lines, no carriage returns
        assert "\r" not in ok.stderr
        bad, line = broken_copy(tmp_path, PTP, "29881,29877,,20100101,*,7,synthetic")
        refused = cli(codesets_url, "load", "--table", "ptp", "--file", str(bad), "--version", "cli-ptp-bad")
        assert refused.returncode == 2
        assert f"line {line}" in refused.stderr
        assert "nothing was changed" in refused.stderr
        shown = cli(codesets_url, "status")
        assert "cli-ptp-1" in shown.stdout
        assert "cli-ptp-bad" not in shown.stdout


class TestFees:
    async def test_a_fee_schedule_loads_per_tenant_and_prices_claims(self, db: Sessions, tmp_path: Path) -> None:
        tenant = f"t-{uuid.uuid4().hex[:8]}"
        await admin.create_tenant(db, tenant, "Fees", {})
        report = await load_table(db, "fees", [FEES], "fees-2024", tenant=tenant)
        assert report.rows == 6
        async with db() as s:
            assert await fee(s, tenant, "PAYER-A", "99213", date(2024, 6, 1)) == 10000
            assert await fee(s, tenant, "PAYER-A", "99213", date(2025, 6, 1)) == 10500
            assert await fee(s, tenant, "OTHER", "99213", date(2024, 6, 1)) == 9000
            assert await fee(s, tenant, "PAYER-A", "93000", date(2024, 6, 1)) == 2500
            assert await fee(s, tenant, "PAYER-A", "93000", date(2024, 6, 1), ["26"]) == 900
            assert await fee(s, tenant, "PAYER-A", "93000", date(2024, 6, 1), ["59"]) == 2500
        dollars = tmp_path / "payer_b.csv"
        dollars.write_text("code,modifier,amount,effective_from,effective_to\n99213,,$112.50,2024-01-01,\n")
        await load_table(db, "fees", [dollars], "fees-b-1", tenant=tenant, payer="PAYER-B")
        async with db() as s:
            assert await fee(s, tenant, "PAYER-B", "99213", date(2024, 6, 1)) == 11250
        scopes = {r["scope"]: r["rows"] for r in await status(db, tenant) if r["table"] == "fees"}
        assert scopes == {f"{tenant}/*": 1, f"{tenant}/PAYER-A": 5, f"{tenant}/PAYER-B": 1}  # PAYER-B added, others kept
        async with db() as s:
            versions_b = (await s.scalars(select(FeeScheduleRow.version).where(FeeScheduleRow.payer_id == "PAYER-B"))).all()
        assert list(versions_b) == ["fees-b-1"]

    async def test_fee_mistakes_are_refused_before_anything_is_written(self, db: Sessions, tmp_path: Path) -> None:
        tenant = f"t-{uuid.uuid4().hex[:8]}"
        await admin.create_tenant(db, tenant, "Fees", {})
        bad, line = broken_copy(tmp_path, FEES, "PAYER-A,99214,,12.5,2024-01-01,")
        with pytest.raises(TableFormatError, match=f"line {line}: amount_cents must be whole cents"):
            await load_table(db, "fees", [bad], "fees-bad", tenant=tenant)
        with pytest.raises(LoadError, match="fees need --tenant"):
            await load_table(db, "fees", [FEES], "fees-x")
        with pytest.raises(LoadError, match="no tenant"):
            await load_table(db, "fees", [FEES], "fees-x", tenant="no-such-tenant")
        assert [r for r in await status(db, tenant) if r["table"] == "fees"] == []


def test_progress_rewrites_one_line_on_a_terminal() -> None:
    class Tty:
        def __init__(self) -> None:
            self.text = ""

        def isatty(self) -> bool:
            return True

        def write(self, s: str) -> None:
            self.text += s

        def flush(self) -> None:
            pass

    tty = Tty()
    show = Progress(tty, every_seconds=0)  # type: ignore[arg-type]
    show.start("writing ptp")
    show(10, final=True)
    assert tty.text.startswith("\rwriting ptp: 10 rows")
    assert tty.text.endswith("\n")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(codesets_url: str, db: Sessions, temporal_client: Client, dev_server: TemporalDevServer) -> AsyncIterator[LiveStack]:
    """API and worker on this module's database."""
    settings = Settings(DATABASE_URL=codesets_url, TEMPORAL_ADDRESS=dev_server.address,
                        CLEARCHART_TASK_QUEUE=f"codesets-{uuid.uuid4().hex[:8]}", CLEARCHART_API_PORT=free_port())  # fmt: skip
    server = uvicorn.Server(uvicorn.Config(create_app(settings, sessions=db, temporal=temporal_client), host="127.0.0.1", port=settings.api_port, log_config=None))
    async with httpx.AsyncClient(timeout=30) as worker_http, build_worker(temporal_client, db, settings, worker_http):
        serving = asyncio.create_task(server.serve())
        await started(server, serving)
        yield LiveStack(settings, db, temporal_client, f"http://127.0.0.1:{settings.api_port}")
        server.should_exit = True
        await serving


async def test_a_scrub_runs_ptp_and_mue_once_they_are_loaded(stack: LiveStack, db: Sessions, http: httpx.AsyncClient) -> None:
    await load_table(db, "ptp", [PTP], "synthetic-ptp-scrub")
    await load_table(db, "mue", [MUE], "synthetic-mue-scrub")
    tenant = await make_tenant(stack, http)
    enc, doc = await claimed(tenant)
    line = {"pointers": [1], "evidence": [{"document_id": "DOC", "excerpt": "follow-up"}]}
    body = {
        "diagnoses": [{"code": "M17.11", "evidence": [{"document_id": "DOC", "excerpt": "follow-up"}]}],
        "procedures": [{"code": "20610", "units": 3, **line}, {"code": "93000", **line}, {"code": "93010", **line}],
    }
    coded = await tenant.post(f"/v1/encounters/{enc}/coding", "coder", json=coding(doc, body))
    assert coded.status_code == 200, coded.text
    scrub = await eventually(lambda: tenant.get(f"/v1/encounters/{enc}/scrub", "coder"), until=lambda r: r.status_code == 200)
    result = scrub.json()
    assert {"ptp", "mue"} <= set(result["checks_ran"])
    assert {s["check"] for s in result["checks_skipped"]}.isdisjoint({"ptp", "mue"})
    rules = {(e["rule"], e["code"]) for e in result["edits"]}
    assert ("mue.exceeded", "20610") in rules
    assert ("ptp.not_allowed", "93010") in rules
    assert coded.json()["status"] == "in_coding"  # hard edits send the chart back


async def test_a_loaded_carc_table_decides_the_root_cause_of_new_denials(stack: LiveStack, db: Sessions, http: httpx.AsyncClient, tmp_path: Path) -> None:
    table = tmp_path / "carc.csv"
    table.write_text("kind,code,category,refinable\ncarc,11,documentation,n\ncarc,45,,n\nrarc,N56,coding,\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,code,category,refinable\ncarc,11,bogus,n\n")
    with pytest.raises(LoadError, match="unknown category"):
        await load_table(db, "carc", [bad], "carc-bad")
    report = await load_table(db, "carc", [table], "carc-2026-10")
    assert report.rows == 3
    assert (await versions(db))["carc"] == "carc-2026-10"
    tenant = await make_tenant(stack, http)
    _, claim = await submitted_claim(tenant)
    text = remittance_835(claim["control_number"], paid_cents=0, charge_cents=claim["total_charge_cents"], adjustments=[("CO", "11", claim["total_charge_cents"])])
    denial = (await post_x12(tenant, "/v1/remittances", text)).json()["matched"][0]["denials"][0]
    assert denial["category"] == "documentation"
    async with db() as session:
        stored = await session.get(DenialRow, uuid.UUID(denial["id"]))
    assert stored is not None
    assert stored.cause_table_version == "carc-2026-10"
