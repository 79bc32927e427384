"""Tenant administration: GET/PUT /v1/admin/tenant-policy, its CLI, and what the policy does to new charts."""

import asyncio
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select

from models.tenants.tables import TenantPolicyVersion
from tests.conftest import REPO
from tests.support import Tenant

PATH = "/v1/admin/tenant-policy"


async def put(tenant: Tenant, who: str, body: dict[str, object]) -> httpx.Response:
    return await tenant.http.put(f"{tenant.stack.url}{PATH}", headers=tenant.auth(who), json=body)


class TestAdminApi:
    async def test_an_admin_reads_every_policy_value(self, tenant: Tenant) -> None:
        r = await tenant.get(PATH, "admin")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["tenant_id"] == tenant.id
        assert body["version"] == 0
        assert body["policy"]["required_documents"] == {"AMB": ["11506-3"], "*": []}
        for key in ("coding_sla_hours", "lease_minutes", "query_reminder_hours", "query_escalate_hours", "query_expire_hours",
                    "query_escalate_to", "prebill_review_hours", "appeal_warning_days", "require_any_document"):
            assert key in body["policy"]
        assert body["document_types"]["11506-3"] == "Progress note"

    async def test_a_change_is_versioned_and_recorded_with_who_and_why(self, tenant: Tenant) -> None:
        r = await put(tenant, "admin", {"policy": {"coding_sla_hours": 24, "query_escalate_to": "dr.advisor"}, "reason": "contract", "version": 0})
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 1
        assert r.json()["policy"]["coding_sla_hours"] == 24
        assert r.json()["changed_by"] == "admin-1"
        again = await tenant.get(PATH, "admin")
        assert again.json()["policy"]["query_escalate_to"] == "dr.advisor"
        versions = (await tenant.get(f"{PATH}/versions", "admin")).json()
        assert versions[0]["changed"] == ["coding_sla_hours", "query_escalate_to"]
        assert versions[0]["reason"] == "contract"
        async with tenant.stack.sessions() as session:
            row = await session.scalar(select(TenantPolicyVersion).where(TenantPolicyVersion.tenant_id == tenant.id))
        assert row is not None
        assert row.prev_hash == "0" * 64
        assert len(row.hash) == 64

    async def test_a_stale_version_is_refused_with_409(self, tenant: Tenant) -> None:
        assert (await put(tenant, "admin", {"policy": {"lease_minutes": 20}})).status_code == 200
        stale = await put(tenant, "admin", {"policy": {"lease_minutes": 25}, "version": 0})
        assert stale.status_code == 409
        assert "version 1" in stale.json()["detail"]

    async def test_invalid_values_are_refused_with_422_and_change_nothing(self, tenant: Tenant) -> None:
        cases: list[tuple[dict[str, object], str]] = [
            ({"required_documents": {"AMB": ["12345-6"]}}, "12345-6"),
            ({"required_documents": {"CLINIC": []}}, "CLINIC"),
            ({"coding_sla_hours": -1}, "coding_sla_hours"),
            ({"default_queue": "nowhere"}, "nowhere"),
        ]
        for bad, named in cases:
            r = await put(tenant, "admin", {"policy": {"lease_minutes": 10, **bad}})
            assert r.status_code == 422, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert named in r.json()["detail"]
        after = (await tenant.get(PATH, "admin")).json()
        assert after["version"] == 0
        assert after["policy"]["lease_minutes"] == 30

    async def test_other_roles_are_refused(self, tenant: Tenant) -> None:
        for who in ("ops", "coder", "auditor", "integrator"):
            assert (await tenant.get(PATH, who)).status_code == 403
            assert (await put(tenant, who, {"policy": {"lease_minutes": 5}})).status_code == 403
        assert (await tenant.http.get(f"{tenant.stack.url}{PATH}")).status_code == 401

    async def test_an_admin_of_another_tenant_cannot_reach_this_policy(self, tenant: Tenant, other_tenant: Tenant) -> None:
        assert (await put(other_tenant, "admin", {"policy": {"lease_minutes": 5}})).status_code == 200
        mine = (await tenant.get(PATH, "admin")).json()
        assert mine["version"] == 0
        assert mine["policy"]["lease_minutes"] == 30
        theirs = (await other_tenant.get(PATH, "admin")).json()
        assert theirs["tenant_id"] == other_tenant.id


class TestPolicyEffects:
    async def test_a_chart_with_no_document_is_held_for_documentation(self, tenant: Tenant) -> None:
        enc = await tenant.new_encounter(doc_types=(), encounter_type="EMER")
        assert enc["status"] == "on_hold"
        chart = (await tenant.get(f"/v1/encounters/{enc['id']}", "ops")).json()
        assert [h["reason"] for h in chart["holds"]] == ["missing_documentation"]

    async def test_new_charts_run_on_the_changed_durations(self, tenant: Tenant) -> None:
        assert (await put(tenant, "admin", {"policy": {"coding_sla_hours": 5}})).status_code == 200
        enc = await tenant.new_encounter()
        chart = (await tenant.get(f"/v1/encounters/{enc['id']}", "ops")).json()
        due = datetime.fromisoformat(chart["sla_due_at"]) - datetime.fromisoformat(chart["received_at"])
        assert abs(due - timedelta(hours=5)) < timedelta(minutes=1)


class TestCli:
    async def test_set_then_show(self, tenant: Tenant, database_url: str) -> None:
        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "clearchart.cli", "tenant", "policy", *args],
                env={**os.environ, "DATABASE_URL": database_url}, cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
            )

        refused = await asyncio.to_thread(cli, "set", "--tenant", tenant.id, "query_expire_hours=-3")
        assert refused.returncode == 2
        assert "query_expire_hours: must be more than 0" in refused.stderr
        done = await asyncio.to_thread(
            cli, "set", "--tenant", tenant.id, 'required_documents={"AMB": ["11506-3", "34117-2"], "*": []}', "appeal_warning_days=20,5", "--reason", "audit"
        )
        assert done.returncode == 0, done.stderr
        shown = await asyncio.to_thread(cli, "show", "--tenant", tenant.id, "--history")
        assert shown.returncode == 0, shown.stderr
        assert "policy version 1" in shown.stdout
        assert "34117-2 (History and physical note)" in shown.stdout
        assert "appeal_warning_days: [20, 5]" in shown.stdout
        assert "— audit" in shown.stdout


class TestAdminPage:
    async def test_the_page_saves_a_change_and_shows_refusals_beside_the_field(self, tenant: Tenant) -> None:
        async with httpx.AsyncClient(base_url=tenant.stack.url, timeout=30) as client:
            form = await client.get("/ui")
            nonce = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert nonce
            assert (await client.post("/ui/login", data={"token": tenant.tokens["admin"], "csrf": nonce[1]})).status_code == 303
            shown = await client.get("/ui/admin/policy")
            assert shown.status_code == 200
            csrf = re.search(r'data-csrf="([^"]+)"', shown.text)
            assert csrf
            assert 'value="11506-3"' in shown.text
            fields = {"csrf": csrf[1], "version": "0", "docs_AMB": "11506-3, 34117-2", "coding_sla_hours": "36", "lease_minutes": "30",
                      "query_reminder_hours": "24", "query_escalate_hours": "48", "query_expire_hours": "168", "prebill_review_hours": "0",
                      "claim_follow_up_days": "30", "appeal_warning_days": "30, 14", "query_escalate_to": "physician-advisor",
                      "require_any_document": "on", "default_queue": "q1", "reason": "from the page"}
            refused = await client.post("/ui/admin/policy", data={**fields, "docs_EMER": "00000-0"})
            assert 'aria-invalid="true"' in refused.text
            assert "unknown LOINC document type &#39;00000-0&#39;" in refused.text
            assert (await tenant.get(PATH, "admin")).json()["version"] == 0
            saved = await client.post("/ui/admin/policy", data=fields, follow_redirects=True)
            assert "Saved as version 1" in saved.text
        body = (await tenant.get(PATH, "admin")).json()
        assert body["policy"]["required_documents"] == {"AMB": ["11506-3", "34117-2"], "*": []}
        assert body["policy"]["coding_sla_hours"] == 36
        assert body["policy"]["appeal_warning_days"] == [30, 14]
