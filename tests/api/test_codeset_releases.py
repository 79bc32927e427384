"""ICD-10-CM releases: the operator's one command, what serves which dates, and charts no release serves.

Loading a release is global (every tenant codes against it), so loads here go to a database of
this module's own (see test_codesets_cli.py); the chart-hold test only reads on the shared one.
"""

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from clearchart.migrate import upgrade
from clearchart.settings import Settings
from integrations.codesets.icd10_order import OrderFileError, parse_order_file
from integrations.sandbox.bundles import synthetic_bundle
from services.codesets import uncovered_reason
from tests.conftest import REPO
from tests.support import Tenant

ORDER = REPO / "tests" / "fixtures" / "codesets" / "icd10cm_order_excerpt.txt"


@pytest.fixture(scope="module")
def own_db(database_url: str) -> Iterator[str]:
    base = make_url(Settings(DATABASE_URL=database_url).sqlalchemy_url)
    server = base.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    name = f"cc_icd_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = base.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearchart.cli", "codesets", *args],
        env={**os.environ, "DATABASE_URL": url}, cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )


class TestOrderFile:
    def test_the_cms_layout_is_read_with_dots_and_billable_flags(self) -> None:
        entries = {e.code: e for e in parse_order_file(ORDER.open(encoding="utf-8", newline=""))}
        assert entries["E11.65"].billable is True
        assert entries["E11"].billable is False
        assert entries["A00.1"].description == "Cholera due to Vibrio cholerae 01, biovar eltor"

    def test_a_file_in_another_layout_is_refused_naming_the_line(self) -> None:
        with pytest.raises(OrderFileError, match="line 2"):
            parse_order_file(["00001 A00     0 Cholera" + " " * 54 + "Cholera\n", "A000,Cholera due to Vibrio cholerae\n"])


class TestLoadAndStatus:
    async def test_an_operator_loads_a_release_and_status_shows_the_dates_it_serves(self, own_db: str, tmp_path: Path) -> None:
        before = await asyncio.to_thread(cli, own_db, "status")
        assert before.returncode == 0, before.stderr
        assert "FY2026  2025-10-01 onward" in before.stdout
        assert "no release; such charts are held" in before.stdout

        bad = tmp_path / "codes.csv"
        bad.write_text("code,description\nA000,Cholera\n")
        refused = await asyncio.to_thread(cli, own_db, "load", "--table", "icd10cm", "--release", "FY2027", "--file", str(bad))
        assert refused.returncode == 2
        assert "line 1" in refused.stderr
        assert "nothing was changed" in refused.stderr
        wrong = await asyncio.to_thread(cli, own_db, "load", "--table", "icd10cm", "--release", "2027", "--file", str(ORDER))
        assert wrong.returncode == 2
        assert "FY2027" in wrong.stderr

        loaded = await asyncio.to_thread(cli, own_db, "load", "--table", "icd10cm", "--release", "FY2027", "--file", str(ORDER))
        assert loaded.returncode == 0, loaded.stderr
        assert "icd10cm FY2027: 6 codes loaded; it serves dates of service from 2026-10-01" in loaded.stdout
        after = await asyncio.to_thread(cli, own_db, "status")
        assert "FY2026  2025-10-01 to 2026-09-30" in after.stdout
        assert "FY2027  2026-10-01 onward" in after.stdout
        assert "loaded: icd10cm_order_excerpt.txt" in after.stdout


class TestChartsWithoutARelease:
    def test_the_reason_names_the_release_and_the_command(self) -> None:
        reason = uncovered_reason(date(2019, 3, 4), date(2025, 10, 1))
        assert reason is not None
        assert "FY2019" in reason
        assert "clearchart codesets load --table icd10cm --release FY2019" in reason
        assert uncovered_reason(date(2026, 1, 2), date(2025, 10, 1)) is None

    async def test_a_chart_no_release_serves_is_held_and_never_queued(self, tenant: Tenant) -> None:
        key = uuid.uuid4().hex[:8]
        bundle = synthetic_bundle(encounter_id=f"old-{key}", patient_id=f"pt-{key}", period_start=datetime(2019, 3, 4, 9, tzinfo=UTC))
        answer = await tenant.push(bundle)
        assert answer.status_code == 202, answer.text
        [enc] = answer.json()["encounters"]
        assert enc["status"] == "on_hold"
        chart = (await tenant.get(f"/v1/encounters/{enc['id']}", "ops")).json()
        reasons = " ".join(e.get("reason") or "" for e in chart["timeline"])
        assert "ICD-10-CM release for FY2019" in reasons
        assert "clearchart codesets load --table icd10cm --release FY2019" in reasons
        assert (await tenant.post("/v1/queues/q1/claim", "coder")).status_code == 204
