"""Large EHR bundles: 202 once stored, taken in by a background workflow, progress readable."""

import time
import uuid
from typing import Any

from sqlalchemy import func, select

from integrations.sandbox.multi import multi_encounter_bundle
from models.encounters.tables import Encounter
from models.intake.tables import InboundItem
from tests.support import Tenant, eventually

PROBLEM = "application/problem+json"


def _large(tenant: Tenant, count: int) -> dict[str, Any]:
    assert count > tenant.stack.settings.inline_bundle_limit
    return multi_encounter_bundle(count, f"big-{uuid.uuid4().hex[:8]}")


async def _progress(tenant: Tenant, inbound_id: str, who: str = "integrator") -> dict[str, Any]:
    r = await tenant.get(f"/v1/inbound/{inbound_id}", who)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


class TestLargeBundle:
    async def test_is_accepted_at_once_and_every_encounter_becomes_ready(self, tenant: Tenant) -> None:
        count = tenant.stack.settings.inline_bundle_limit + 5
        began = time.monotonic()
        r = await tenant.push(_large(tenant, count), msg_id=f"msg_{uuid.uuid4().hex}")
        answered_in = time.monotonic() - began
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["status"] == "accepted"
        assert len(body["encounters"]) == count
        assert {e["status"] for e in body["encounters"]} == {"accepted"}
        assert body["progress"] == f"/v1/inbound/{body['inbound_id']}"
        assert answered_in < 30  # generous: the point is that the answer does not wait for intake

        done = await eventually(
            lambda: _progress(tenant, body["inbound_id"]), until=lambda p: p["done"], within=120
        )
        assert (done["total"], done["processed"], done["failed"], done["accepted"]) == (count, count, 0, 0)
        assert {e["encounter_status"] for e in done["encounters"]} == {"ready"}
        assert [e["id"] for e in done["encounters"]] == [e["id"] for e in body["encounters"]]
        async with tenant.stack.sessions() as session:
            ready = await session.scalar(
                select(func.count()).where(Encounter.tenant_id == tenant.id, Encounter.status == "ready")
            )
        assert ready == count

    async def test_a_redelivery_gets_the_same_answer_and_duplicates_nothing(self, tenant: Tenant) -> None:
        bundle = _large(tenant, tenant.stack.settings.inline_bundle_limit + 1)
        msg_id = f"msg_{uuid.uuid4().hex}"
        first = await tenant.push(bundle, msg_id=msg_id)
        again = await tenant.push(bundle, msg_id=msg_id)
        assert first.status_code == again.status_code == 202
        assert again.json() == first.json()
        assert again.headers.get("idempotent-replayed") == "true"
        await eventually(lambda: _progress(tenant, first.json()["inbound_id"]), until=lambda p: p["done"], within=120)
        async with tenant.stack.sessions() as session:
            items = await session.scalar(
                select(func.count()).where(InboundItem.message_id == uuid.UUID(first.json()["inbound_id"]))
            )
            encounters = await session.scalar(select(func.count()).where(Encounter.tenant_id == tenant.id))
        assert items == encounters == len(bundle_encounters(first.json()))


def bundle_encounters(answer: dict[str, Any]) -> list[dict[str, Any]]:
    encounters: list[dict[str, Any]] = answer["encounters"]
    return encounters


class TestProgressAccess:
    async def test_a_small_bundle_reads_as_processed(self, tenant: Tenant) -> None:
        enc = await tenant.push(multi_encounter_bundle(2, f"small-{uuid.uuid4().hex[:8]}"))
        assert enc.status_code == 202
        progress = await _progress(tenant, enc.json()["inbound_id"], "ops")
        assert (progress["total"], progress["processed"], progress["done"]) == (2, 2, True)
        assert {e["encounter_status"] for e in progress["encounters"]} == {"ready"}

    async def test_roles_without_the_permission_are_refused(self, tenant: Tenant) -> None:
        sent = await tenant.push(multi_encounter_bundle(1, f"r-{uuid.uuid4().hex[:8]}"))
        for who in ("coder", "physician", "auditor", "vendor_lead"):
            r = await tenant.get(f"/v1/inbound/{sent.json()['inbound_id']}", who)
            assert r.status_code == 403, (who, r.text)
            assert r.headers["content-type"].startswith(PROBLEM)

    async def test_another_tenant_cannot_see_that_the_delivery_exists(self, tenant: Tenant, other_tenant: Tenant) -> None:
        sent = await tenant.push(multi_encounter_bundle(1, f"t-{uuid.uuid4().hex[:8]}"))
        theirs = await other_tenant.get(f"/v1/inbound/{sent.json()['inbound_id']}", "integrator")
        unknown = await other_tenant.get(f"/v1/inbound/{uuid.uuid4()}", "integrator")
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.headers["content-type"].startswith(PROBLEM)
        assert theirs.json()["detail"].split(" ", 2)[2] == unknown.json()["detail"].split(" ", 2)[2]
