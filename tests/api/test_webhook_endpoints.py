"""Outbound webhooks over the live stack: subscribing, SSRF refusals, signed thin events received
by a real HTTP server and verified with the standardwebhooks reference package, the delivery
log and replay."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
import standardwebhooks

from tests.api.claim_support import ack_277ca, post_x12, remittance_835, submitted_claim
from tests.api.test_audits import coded_chart, findings_for, recode
from tests.support import LiveStack, Tenant, eventually, make_tenant
from tests.webhook_receiver import Receiver, receiver

PROBLEM = "application/problem+json"
PATH = "/v1/webhook-endpoints"
ALL_TYPES = ["encounter.status_changed", "hold.placed", "hold.released"]


@pytest_asyncio.fixture(loop_scope="session")
async def hooks() -> AsyncIterator[Receiver]:
    async with receiver() as box:
        yield box


@pytest_asyncio.fixture(loop_scope="session")
async def loopback_tenant(live: LiveStack, http: httpx.AsyncClient) -> Tenant:
    return await make_tenant(live, http, webhooks_allow_private_addresses=True)


async def subscribe(tenant: Tenant, url: str, types: list[str] = ALL_TYPES, who: str = "integrator") -> httpx.Response:
    return await tenant.post(PATH, who, json={"url": url, "event_types": types, "description": "test receiver"})


def events(box: Receiver, secret: str) -> list[dict[str, Any]]:
    """Every received event, each verified with the reference package (raises if forged)."""
    hook = standardwebhooks.Webhook(secret)
    out = []
    for r in box.received:
        payload = hook.verify(r.body, {k: r.headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")})
        out.append({"id": r.headers["webhook-id"], **payload})
    return out


class TestSubscribing:
    async def test_the_secret_is_shown_once(self, loopback_tenant: Tenant, hooks: Receiver) -> None:
        created = await subscribe(loopback_tenant, hooks.url)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["secret"].startswith("whsec_")
        assert body["status"] == "enabled"
        listed = (await loopback_tenant.get(PATH, "admin")).json()
        assert [e["id"] for e in listed] == [body["id"]]
        assert "secret" not in listed[0]
        assert "secret" not in (await loopback_tenant.get(f"{PATH}/{body['id']}", "integrator")).json()

    async def test_loopback_private_and_metadata_addresses_are_refused_by_default(self, tenant: Tenant) -> None:
        for url in ("http://127.0.0.1:9/hooks", "http://10.0.0.7/hooks", "http://169.254.169.254/latest", "http://localhost:8080/x"):
            refused = await subscribe(tenant, url)
            assert refused.status_code == 422, url
            assert refused.headers["content-type"] == PROBLEM
            assert "address" in refused.json()["detail"]
        assert (await tenant.get(PATH, "integrator")).json() == []

    async def test_unknown_event_types_and_non_http_urls_are_refused(self, tenant: Tenant) -> None:
        assert (await subscribe(tenant, "https://example.org/h", ["claim.exploded"])).status_code == 422
        assert (await subscribe(tenant, "ftp://example.org/h")).status_code == 422
        assert (await subscribe(tenant, "https://example.org/h", [])).status_code == 422

    async def test_other_roles_and_other_tenants_are_refused(self, loopback_tenant: Tenant, other_tenant: Tenant, hooks: Receiver) -> None:
        for who in ("coder", "ops", "physician", "auditor"):
            assert (await subscribe(loopback_tenant, hooks.url, who=who)).status_code == 403
            assert (await loopback_tenant.get(PATH, who)).status_code == 403
        endpoint = (await subscribe(loopback_tenant, hooks.url)).json()["id"]
        assert (await other_tenant.get(f"{PATH}/{endpoint}", "integrator")).status_code == 404
        assert (await other_tenant.http.delete(f"{other_tenant.stack.url}{PATH}/{endpoint}", headers=other_tenant.auth("admin"))).status_code == 404
        assert (await other_tenant.get(f"{PATH}/{endpoint}/deliveries", "integrator")).status_code == 404
        assert (await other_tenant.post(f"{PATH}/{endpoint}/replay", "integrator", json={"since": "2026-01-01T00:00:00Z"})).status_code == 404
        assert (await loopback_tenant.http.get(f"{loopback_tenant.stack.url}{PATH}")).status_code == 401

    async def test_a_deleted_endpoint_is_gone(self, loopback_tenant: Tenant, hooks: Receiver) -> None:
        endpoint = (await subscribe(loopback_tenant, hooks.url)).json()["id"]
        deleted = await loopback_tenant.http.delete(f"{loopback_tenant.stack.url}{PATH}/{endpoint}", headers=loopback_tenant.auth("integrator"))
        assert deleted.status_code == 204
        assert (await loopback_tenant.get(f"{PATH}/{endpoint}", "integrator")).status_code == 404


class TestEvents:
    async def test_encounter_and_hold_events_arrive_signed_thin_and_in_order(self, loopback_tenant: Tenant, hooks: Receiver) -> None:
        tenant = loopback_tenant
        created = (await subscribe(tenant, hooks.url)).json()
        enc = await tenant.new_encounter()
        chart = (await tenant.post("/v1/queues/q1/claim", "coder")).json()
        assert chart["id"] == enc["id"]
        held = await tenant.post(f"/v1/encounters/{enc['id']}/holds", "coder", json={"reason": "authorization_missing", "note": "no auth on file"})
        assert held.status_code == 201, held.text
        hold_id = held.json()["holds"][0]["id"]
        assert (await tenant.post(f"/v1/holds/{hold_id}/release", "ops", json={})).status_code == 200

        def mine() -> list[dict[str, Any]]:
            return [e for e in events(hooks, created["secret"]) if e["data"]["encounter_id"] == enc["id"]]

        async def probe() -> list[dict[str, Any]]:
            return mine()

        got = await eventually(probe, until=lambda es: len(es) >= 6)
        assert [(e["type"], e["data"].get("to")) for e in got] == [
            ("encounter.status_changed", "ready"),
            ("encounter.status_changed", "in_coding"),
            ("encounter.status_changed", "on_hold"),
            ("hold.placed", None),
            ("encounter.status_changed", "in_coding"),
            ("hold.released", None),
        ]
        assert got[3]["data"] == {"encounter_id": enc["id"], "hold_id": hold_id, "reason": "authorization_missing"}
        # Thin: ids, states and taxonomy values only; nothing about the patient or the note.
        assert set(got[0]) == {"id", "type", "timestamp", "data"}
        raw = b" ".join(r.body for r in hooks.received)
        for phi in (b"birth", b"name", b"patient", b"no auth on file"):
            assert phi not in raw.lower()

        log = (await tenant.get(f"{PATH}/{created['id']}/deliveries", "integrator")).json()
        assert {d["event_id"] for d in log} >= {e["id"] for e in got}
        assert all(d["status"] == "delivered" and d["attempts"][0]["status_code"] == 204 for d in log)

        before = len(hooks.received)
        replayed = await tenant.post(f"{PATH}/{created['id']}/replay", "integrator", json={"event_ids": [got[0]["id"]]})
        assert replayed.status_code == 200, replayed.text
        assert replayed.json() == {"queued": [got[0]["id"]]}
        again = await eventually(lambda: _after(hooks, before), until=lambda rs: len(rs) == 1)
        assert again[0].headers["webhook-id"] == got[0]["id"]
        assert json.loads(again[0].body)["type"] == "encounter.status_changed"

    async def test_replay_refuses_unknown_events_and_changes_nothing(self, loopback_tenant: Tenant, hooks: Receiver) -> None:
        created = (await subscribe(loopback_tenant, hooks.url)).json()
        refused = await loopback_tenant.post(f"{PATH}/{created['id']}/replay", "integrator", json={"event_ids": ["msg_nope"]})
        assert refused.status_code == 422
        assert "msg_nope" in refused.json()["detail"]
        both = await loopback_tenant.post(f"{PATH}/{created['id']}/replay", "integrator", json={"event_ids": ["x"], "since": "2026-01-01T00:00:00Z"})
        assert both.status_code == 422
        assert (await loopback_tenant.get(f"{PATH}/{created['id']}/deliveries", "integrator")).json() == []


async def _after(box: Receiver, n: int) -> list[Any]:
    return box.received[n:]


class TestBillingAndAuditEvents:
    async def test_claim_milestones_denials_and_audit_findings_are_announced(self, loopback_tenant: Tenant, hooks: Receiver) -> None:
        tenant = loopback_tenant
        types = ["claim.submitted", "claim.accepted", "denial.opened", "appeal.decided", "audit.finding_issued"]
        created = (await subscribe(tenant, hooks.url, types)).json()
        enc, claim = await submitted_claim(tenant)
        await post_x12(tenant, "/v1/acknowledgments", ack_277ca(claim["control_number"], accepted=True))
        text = remittance_835(claim["control_number"], paid_cents=0, charge_cents=claim["total_charge_cents"], adjustments=[("CO", "11", claim["total_charge_cents"])])
        denial = (await post_x12(tenant, "/v1/remittances", text)).json()["matched"][0]["denials"][0]
        appeal = await tenant.post(f"/v1/denials/{denial['id']}/appeals", "ops", json={"level": "redetermination", "reason": "The diagnosis is documented."})
        assert appeal.status_code == 201, appeal.text
        decided = await tenant.post(f"/v1/appeals/{appeal.json()['id']}/decision", "ops", json={"decision": "overturned", "recovered_cents": 100})
        assert decided.status_code == 200, decided.text

        async def received() -> list[dict[str, Any]]:
            return events(hooks, created["secret"])

        got = await eventually(received, until=lambda es: len(es) >= 4)
        assert [e["type"] for e in got] == ["claim.submitted", "claim.accepted", "denial.opened", "appeal.decided"]
        assert {e["data"].get("claim_id") for e in got[:3]} == {claim["id"]}
        assert got[2]["data"]["denial_id"] == denial["id"]
        assert got[3]["data"] == {"encounter_id": enc, "appeal_id": appeal.json()["id"], "decision": "overturned"}

        # An audit finding on another chart of the tenant.
        chart = await coded_chart(tenant)
        audit = (await tenant.post("/v1/audits", "auditor", json={"method": "census", "seed": 3})).json()
        assert (await tenant.post(f"/v1/audits/{audit['id']}/charts/{chart}/review", "auditor", json=recode("E11.9", "I10"))).status_code == 201
        finding = await findings_for(tenant, audit["id"], chart)
        assert finding.status_code == 201, finding.text
        # The audited chart's own claim milestones are announced too; the finding is what counts here.
        got = await eventually(received, until=lambda es: any(e["type"] == "audit.finding_issued" for e in es))
        issued = [e for e in got if e["type"] == "audit.finding_issued"]
        assert len(issued) == 1
        assert issued[0]["data"] == {"audit_id": audit["id"], "finding_id": finding.json()[0]["id"], "encounter_id": chart}


class TestQueryEvents:
    async def test_a_query_raised_and_answered_is_announced_with_its_id(self, loopback_tenant: Tenant, hooks: Receiver) -> None:
        tenant = loopback_tenant
        created = (await subscribe(tenant, hooks.url, ["query.opened", "query.answered", "query.escalated", "query.expired"])).json()
        enc = await tenant.new_encounter()
        chart = (await tenant.post("/v1/queues/q1/claim", "coder")).json()
        query = {"physician_npi": "1234567893", "question": "Based on your clinical judgment, please clarify the type of diabetes being treated.",
                 "indicators": [{"document_id": chart["documents"][0]["id"], "excerpt": "HbA1c 7.9%"}]}  # fmt: skip
        raised = await tenant.post(f"/v1/encounters/{enc['id']}/queries", "coder", json=query)
        assert raised.status_code == 201, raised.text
        answered = await tenant.post(f"/v1/queries/{raised.json()['id']}/answer", "physician", json={"free_text": "Type 2."})
        assert answered.status_code == 200, answered.text

        async def received() -> list[dict[str, Any]]:
            return events(hooks, created["secret"])

        got = await eventually(received, until=lambda es: len(es) >= 2)
        assert [(e["type"], e["data"]) for e in got] == [
            ("query.opened", {"encounter_id": enc["id"], "query_id": raised.json()["id"]}),
            ("query.answered", {"encounter_id": enc["id"], "query_id": raised.json()["id"]}),
        ]
        assert b"diabetes" not in b"".join(r.body for r in hooks.received)
