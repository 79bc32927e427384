"""A chart no ICD-10-CM release serves waits on `codeset_release_missing`; loading a release that
serves its date of service releases it through its workflow, run by the operator's one command.

Releases are global, so the release this module loads (FY2017, which serves every date from
2016-10-01 up to the shipped FY2026) is removed again when the test ends; no other test of the
suite runs meanwhile.
"""

import asyncio
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import delete

from integrations.sandbox.bundles import synthetic_bundle
from models.coding.reference import Icd10cmCode, Icd10cmRelease
from services.codesets import refresh_catalog
from tests.api.test_access_log_posts import signed_in
from tests.conftest import FIXTURES
from tests.support import LiveStack, Tenant

ORDER = FIXTURES / "codesets" / "icd10cm_order_excerpt.txt"
LOADED_YEAR = 2017


def clearchart(live: LiveStack, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as an operator runs it, from a directory that is not the checkout."""
    env = {k: v for k, v in os.environ.items() if k != "CLEARCHART_DATA_DIR"}
    env.update(DATABASE_URL=live.settings.database_url, TEMPORAL_ADDRESS=live.settings.temporal_address)
    return subprocess.run(
        [sys.executable, "-m", "clearchart.cli", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=180, check=False
    )


@pytest_asyncio.fixture(loop_scope="session")
async def unloads(live: LiveStack) -> AsyncIterator[None]:
    """Whatever the test loads is gone afterwards: the next tests see the shipped release only."""
    yield
    assert live.admin_sessions is not None
    async with live.admin_sessions.begin() as session:
        await session.execute(delete(Icd10cmCode).where(Icd10cmCode.fiscal_year == LOADED_YEAR))
        await session.execute(delete(Icd10cmRelease).where(Icd10cmRelease.fiscal_year == LOADED_YEAR))
    await refresh_catalog(live.sessions)


async def _held(tenant: Tenant, key: str, dos: datetime) -> dict[str, Any]:
    bundle = synthetic_bundle(encounter_id=f"{key}-{uuid.uuid4().hex[:6]}", patient_id=f"pt-{uuid.uuid4().hex[:8]}", period_start=dos)
    answer = await tenant.push(bundle)
    assert answer.status_code == 202, answer.text
    [found] = answer.json()["encounters"]
    assert found["status"] == "on_hold"
    chart: dict[str, Any] = (await tenant.get(f"/v1/encounters/{found['id']}", "ops")).json()
    return chart


@pytest.mark.usefixtures("unloads")
class TestLoadingAReleaseReleasesItsCharts:
    async def test_held_with_an_actionable_reason_then_released_by_the_load_and_claimable(
        self, live: LiveStack, tenant: Tenant, tmp_path: Path
    ) -> None:
        served = await _held(tenant, "fy2017", datetime(2017, 3, 4, 9, tzinfo=UTC))
        older = await _held(tenant, "fy2016", datetime(2016, 3, 4, 9, tzinfo=UTC))
        [hold] = served["holds"]
        assert hold["reason"] == "codeset_release_missing"
        assert "date of service 2017-03-04" in hold["detail"]
        assert "clearchart codesets load --table icd10cm --release FY2017" in hold["detail"]
        assert [h["reason"] for h in older["holds"]] == ["codeset_release_missing"]
        assert "FY2016" in older["holds"][0]["detail"]
        assert (await tenant.post("/v1/queues/q1/claim", "coder")).status_code == 204  # neither reaches a coder

        browser, _ = await signed_in(tenant, "ops")
        try:  # the ops list and the encounter page name what to do beside the hold
            listed = await browser.get("/ui/encounters?hold_reason=codeset_release_missing")
            assert listed.status_code == 200
            assert "codeset release missing" in listed.text
            assert "--release FY2017" in listed.text
            assert "--release FY2016" in listed.text
            page = await browser.get(f"/ui/encounters/{served['id']}")
            assert "No ICD-10-CM release serves the date of service 2017-03-04" in page.text
        finally:
            await browser.aclose()

        loaded = await asyncio.to_thread(
            clearchart, live, tmp_path, "codesets", "load", "--table", "icd10cm", "--release", f"FY{LOADED_YEAR}", "--file", str(ORDER)
        )
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        assert "icd10cm FY2017: 6 codes loaded" in loaded.stdout
        assert f"{tenant.id} {served['external_id']} (date of service 2017-03-04): released" in loaded.stdout
        assert older["external_id"] not in loaded.stdout
        # Other charts of the shared test database dated in FY2017 are released by the same load.
        totals = re.search(r"(\d+) released, (\d+) already released, (\d+) failed", loaded.stdout)
        assert totals is not None
        assert int(totals[1]) >= 1
        assert not (tmp_path / "var").exists()  # the keys and data dir are the checkout's, not the cwd's

        chart = (await tenant.get(f"/v1/encounters/{served['id']}", "ops")).json()
        assert (chart["status"], chart["holds"]) == ("ready", [])
        [release] = [e for e in chart["timeline"] if e["action"] == "release_hold"]
        assert (release["actor"], release["reason"]) == ("system", hold["id"])
        still = (await tenant.get(f"/v1/encounters/{older['id']}", "ops")).json()
        assert [h["reason"] for h in still["holds"]] == ["codeset_release_missing"]

        browser, _ = await signed_in(tenant, "ops")
        try:  # the encounter page says which hold the system released, not its id
            page = await browser.get(f"/ui/encounters/{served['id']}")
            assert "release hold</strong> by system (system) — codeset release missing" in page.text
        finally:
            await browser.aclose()

        claimed = await tenant.post("/v1/queues/q1/claim", "coder")
        assert claimed.status_code == 200, claimed.text
        assert claimed.json()["id"] == served["id"]

        again = await asyncio.to_thread(clearchart, live, tmp_path, "codesets", "release-holds")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "no chart is held for an ICD-10-CM release that is now loaded" in again.stdout
        held = re.search(r"(\d+) chart\(s\) stay held", again.stdout)  # this test's FY2016 chart among them
        assert held is not None
        assert int(held[1]) >= 1
        timeline = (await tenant.get(f"/v1/encounters/{served['id']}", "ops")).json()["timeline"]
        assert [e["action"] for e in timeline].count("release_hold") == 1  # the second run changed nothing
