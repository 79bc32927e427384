"""The PHI access log: every read of a chart's data is recorded, allowed or refused, and only
admins of the same tenant can list it."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from api.access_log import AccessLogMiddleware, classify, clean_reason
from tests.support import Tenant


async def log_of(tenant: Tenant, who: str = "admin", **params: Any) -> list[dict[str, Any]]:
    r = await tenant.get("/v1/access-log", who, params=params)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


class TestRecording:
    async def test_allowed_and_refused_reads_are_recorded_with_who_why_and_the_answer(self, tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        eid = enc["id"]
        base = f"{tenant.stack.url}/v1/encounters/{eid}"
        reads = [
            (await tenant.http.get(base, headers={**tenant.auth("ops"), "X-Access-Reason": "treatment review", "X-Request-Id": "req-42"})).status_code,
            (await tenant.get(f"/v1/encounters/{eid}/evidence", "ops", params={"reason": "payer audit", "format": "html"})).status_code,
            (await tenant.get(f"/v1/encounters/{eid}", "coder2")).status_code,  # not its chart
            (await tenant.get(f"/v1/encounters/{eid}/evidence", "physician")).status_code,  # no permission
            (await tenant.http.get(base)).status_code,  # no token at all
            (await tenant.http.get(base, headers={"Authorization": "Bearer cc_garbage"})).status_code,
        ]
        assert reads == [200, 200, 404, 403, 401, 401]
        rows = await log_of(tenant, encounter_id=eid)
        seen = [(r["user"], r["role"], r["action"], r["status"], r["outcome"]) for r in reversed(rows)]
        assert seen == [
            ("ops-1", "ops", "encounter.read", 200, "allowed"),
            ("ops-1", "ops", "evidence.read", 200, "allowed"),
            ("coder-2", "coder", "encounter.read", 404, "refused"),
            ("dr-1", "physician", "evidence.read", 403, "refused"),
            (None, None, "encounter.read", 401, "refused"),
            (None, None, "encounter.read", 401, "refused"),
        ]
        first, second = rows[-1], rows[-2]
        assert (first["reason"], first["request_id"], first["method"]) == ("treatment review", "req-42", "GET")
        assert first["path"] == f"/v1/encounters/{eid}"
        assert second["reason"] == "payer audit"
        assert all(r["at"] and r["client_ip"] and r["tenant_id"] == tenant.id for r in rows)  # anonymous: the chart's tenant

    async def test_reads_that_show_no_chart_data_are_not_logged(self, tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        assert (await tenant.get("/v1/encounters", "ops")).status_code == 200
        assert (await tenant.get("/v1/queues", "ops")).status_code == 200
        assert (await tenant.get(f"/v1/encounters/{enc['id']}", "ops")).status_code == 200
        assert [r["path"] for r in await log_of(tenant)] == [f"/v1/encounters/{enc['id']}"]

    def test_classification_and_reason_cleaning(self) -> None:
        eid = uuid.uuid4()
        assert classify("GET", f"/v1/encounters/{eid}/evidence") is not None
        assert classify("GET", f"/v1/encounters/{eid}/documents/x") == classify("GET", f"/v1/encounters/{eid}/documents")
        assert classify("GET", "/v1/encounters/not-a-uuid") is not None
        assert classify("GET", "/v1/encounters/not-a-uuid").encounter_id is None  # type: ignore[union-attr]
        x12 = classify("GET", f"/v1/claims/{eid}/x12")
        assert x12 is not None
        assert (x12.action, x12.encounter_id) == ("claim_x12.read", None)  # a claim id is not a chart id
        for method, path in (("POST", f"/v1/encounters/{eid}/coding"), ("GET", "/v1/encounters"), ("GET", "/v1/queues")):
            assert classify(method, path) is None
        assert clean_reason("  ") is None
        assert clean_reason("a\r\nb" + "x" * 500) == "ab" + "x" * 254


class TestListing:
    async def test_admins_filter_page_and_see_only_their_tenant(self, tenant: Tenant, other_tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        eid = enc["id"]
        for who in ("ops", "admin", "coder2", "ops"):
            await tenant.get(f"/v1/encounters/{eid}", who)
        assert [r["user"] for r in await log_of(tenant, outcome="refused")] == ["coder-2"]
        assert len(await log_of(tenant, user="ops-1")) == 2
        assert len(await log_of(tenant, role="admin")) == 1
        assert await log_of(tenant, action="evidence.read") == []
        later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
        assert await log_of(tenant, **{"from": later}) == []
        assert len(await log_of(tenant, to=later, encounter_id=eid)) == 4
        page1 = (await tenant.get("/v1/access-log", "admin", params={"limit": 3})).json()
        assert len(page1["items"]) == 3
        assert page1["next_cursor"]
        page2 = (await tenant.get("/v1/access-log", "admin", params={"limit": 3, "cursor": page1["next_cursor"]})).json()
        assert (len(page2["items"]), page2["next_cursor"]) == (1, None)
        assert page2["items"][0]["id"] < page1["items"][-1]["id"]
        assert await log_of(other_tenant) == []  # another tenant's admin sees none of it
        bad = await tenant.get("/v1/access-log", "admin", params={"cursor": "nonsense"})
        assert bad.status_code == 400
        assert "cursor" in bad.json()["detail"]

    async def test_only_admins_read_the_log(self, tenant: Tenant) -> None:
        for who in ("ops", "auditor", "coder"):
            r = await tenant.get("/v1/access-log", who)
            assert r.status_code == 403
            assert "access_log.read" in r.json()["detail"]


class TestIntegrity:
    @pytest.mark.parametrize("statement", ["UPDATE phi_access_log SET user_id = 'nobody' WHERE tenant_id = :t", "DELETE FROM phi_access_log WHERE tenant_id = :t"])
    async def test_the_database_refuses_to_change_or_delete_the_log(self, tenant: Tenant, statement: str) -> None:
        enc = await tenant.new_encounter()
        await tenant.get(f"/v1/encounters/{enc['id']}", "ops")
        with pytest.raises(Exception, match="append-only"):
            async with tenant.stack.sessions.begin() as session:
                await session.execute(text(statement), {"t": tenant.id})
        assert [r["user"] for r in await log_of(tenant)] == ["ops-1"]

    async def test_a_read_that_cannot_be_recorded_is_not_served(self) -> None:
        class Broken:
            def begin(self) -> Any:
                raise ConnectionError("database down")

        app = FastAPI()

        @app.get("/v1/encounters/{encounter_id}")
        async def chart(encounter_id: str) -> dict[str, str]:
            return {"id": encounter_id, "note": "PATIENT NOTE"}

        app.state.sessions = Broken()
        app.add_middleware(AccessLogMiddleware)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            r = await client.get(f"/v1/encounters/{uuid.uuid4()}")
            passthrough = await client.get("/v1/other")
        assert r.status_code == 503
        assert r.headers["content-type"] == "application/problem+json"
        assert "PATIENT NOTE" not in r.text
        assert "access log" in r.json()["detail"]
        assert passthrough.status_code == 404  # not a PHI read: no log needed, the app answers
