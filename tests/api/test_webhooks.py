"""The EHR intake contract (DESIGN §6): signed FHIR bundles in, one encounter workflow each."""

import base64
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import standardwebhooks
from sqlalchemy import func, select

from integrations.ehr.signing import generate_secret, signed_headers
from integrations.sandbox.bundles import (
    cerner_bundle,
    hl7_example_bundle,
    synthea_bundle,
    synthetic_bundle,
)
from models.encounters.tables import AuditEvent, Document, Encounter, InboundMessage
from tests.support import Tenant

PROBLEM = "application/problem+json"


def _body(bundle: Any) -> bytes:
    return json.dumps(bundle, separators=(",", ":")).encode()


def _fresh(doc_types: tuple[str, ...] = ("11506-3",), **kwargs: Any) -> tuple[str, dict[str, Any]]:
    key = uuid.uuid4().hex[:10]
    enc_id = f"enc-{key}"
    return enc_id, synthetic_bundle(
        encounter_id=enc_id, patient_id=f"pt-{key}", doc_types=doc_types, **kwargs
    )


async def _send(
    tenant: Tenant,
    body: bytes,
    *,
    msg_id: str | None = None,
    secret: str | None = None,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
    url: str | None = None,
) -> httpx.Response:
    signed = signed_headers(
        secret or tenant.secret, msg_id or f"msg_{uuid.uuid4().hex}", body, timestamp
    )
    signed["content-type"] = "application/fhir+json"
    signed.update(headers or {})
    for name in drop:
        signed.pop(name)
    return await tenant.http.post(url or tenant.webhook_url, content=body, headers=signed)


async def _counts(tenant: Tenant) -> dict[str, int]:
    async with tenant.stack.sessions() as session:
        return {
            table.__tablename__: await session.scalar(
                select(func.count()).select_from(table).where(table.tenant_id == tenant.id)
            )
            or 0
            for table in (InboundMessage, Encounter, Document, AuditEvent)
        }


NOTHING = {"inbound_messages": 0, "encounters": 0, "documents": 0, "audit_events": 0}


def _assert_problem(r: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    for word in words:
        assert word.lower() in body["detail"].lower(), (word, body["detail"])
    return body


class TestAcceptance:
    async def test_a_bundle_is_accepted_with_one_entry_per_encounter(self, tenant: Tenant) -> None:
        enc_id, bundle = _fresh()
        r = await tenant.push(bundle)
        assert r.status_code == 202, r.text
        [entry] = r.json()["encounters"]
        assert set(entry) == {"id", "external_id", "status"}
        assert entry["external_id"] == enc_id
        assert entry["status"] == "ready"
        uuid.UUID(entry["id"])
        assert "idempotent-replayed" not in r.headers
        chart = await tenant.get(f"/v1/encounters/{entry['id']}", "ops")
        assert chart.status_code == 200
        assert chart.json()["external_id"] == enc_id
        assert [d["type_code"] for d in chart.json()["documents"]] == ["11506-3"]

    async def test_the_reference_standard_webhooks_signer_is_accepted(self, tenant: Tenant) -> None:
        enc_id, bundle = _fresh()
        body = _body(bundle)
        msg_id = f"msg_{uuid.uuid4().hex}"
        now = datetime.now(UTC)
        signature = standardwebhooks.Webhook(tenant.secret).sign(msg_id, now, body.decode())
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
            "content-type": "application/json",
        }
        r = await tenant.http.post(tenant.webhook_url, content=body, headers=headers)
        assert r.status_code == 202, r.text
        assert r.json()["encounters"][0]["external_id"] == enc_id

    async def test_cerner_sample_is_accepted(self, tenant: Tenant) -> None:
        enc_id = f"cerner-{uuid.uuid4().hex[:8]}"
        r = await tenant.push(cerner_bundle(encounter_id=enc_id))
        assert r.status_code == 202, r.text
        [entry] = r.json()["encounters"]
        assert entry["external_id"] == enc_id
        chart = (await tenant.get(f"/v1/encounters/{entry['id']}", "ops")).json()
        assert chart["status"] == entry["status"]
        assert chart["patient"]["mrn"] == "10002701"
        assert len(chart["documents"]) == 1

    async def test_hl7_example_sample_is_accepted(self, tenant: Tenant) -> None:
        r = await tenant.push(hl7_example_bundle())
        assert r.status_code == 202, r.text
        [entry] = r.json()["encounters"]
        assert entry["external_id"] == "example"
        chart = (await tenant.get(f"/v1/encounters/{entry['id']}", "ops")).json()
        assert chart["patient"]["family"] == "Chalmers"
        assert chart["encounter_class"] == "IMP"

    async def test_synthea_bundle_yields_several_encounters_in_one_answer(
        self, tenant: Tenant
    ) -> None:
        bundle = synthea_bundle(max_encounters=3)
        expected = [
            e["resource"]["id"]
            for e in bundle["entry"]
            if e["resource"]["resourceType"] == "Encounter"
        ]
        assert len(expected) == 3
        r = await tenant.push(bundle)
        assert r.status_code == 202, r.text
        answered = r.json()["encounters"]
        assert sorted(e["external_id"] for e in answered) == sorted(expected)
        assert len({e["id"] for e in answered}) == 3
        counts = await _counts(tenant)
        assert counts["encounters"] == 3
        assert counts["inbound_messages"] == 1

    async def test_the_raw_message_is_kept_verbatim(self, tenant: Tenant) -> None:
        _, bundle = _fresh()
        # Pretty-printed, non-ASCII, trailing newline: stored byte for byte, not re-serialized.
        bundle["entry"][0]["resource"]["name"][0]["given"] = ["Zoë", "Łukasz"]
        body = (json.dumps(bundle, indent=3, ensure_ascii=False) + "\n").encode()
        msg_id = f"msg_{uuid.uuid4().hex}"
        r = await _send(tenant, body, msg_id=msg_id)
        assert r.status_code == 202, r.text
        async with tenant.stack.sessions() as session:
            stored = await session.scalar(
                select(InboundMessage).where(
                    InboundMessage.tenant_id == tenant.id, InboundMessage.webhook_id == msg_id
                )
            )
        assert stored is not None
        assert bytes(stored.body) == body

    async def test_two_tenants_with_the_same_ehr_encounter_id_get_different_encounters(
        self, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        enc_id, bundle = _fresh()
        mine = (await tenant.push(bundle)).json()["encounters"][0]
        theirs = (await other_tenant.push(bundle)).json()["encounters"][0]
        assert mine["external_id"] == theirs["external_id"] == enc_id
        assert mine["id"] != theirs["id"]
        assert (await tenant.get(f"/v1/encounters/{theirs['id']}", "ops")).status_code == 404
        assert (await other_tenant.get(f"/v1/encounters/{mine['id']}", "ops")).status_code == 404


class TestIdempotency:
    async def test_a_redelivery_gets_the_same_answer_and_duplicates_nothing(
        self, tenant: Tenant
    ) -> None:
        _, bundle = _fresh()
        msg_id = f"msg_{uuid.uuid4().hex}"
        first = await tenant.push(bundle, msg_id=msg_id)
        assert first.status_code == 202, first.text
        before = await _counts(tenant)
        assert (before["encounters"], before["inbound_messages"], before["documents"]) == (1, 1, 1)
        for _ in range(2):
            again = await tenant.push(bundle, msg_id=msg_id)
            assert again.status_code == 202, again.text
            assert again.json() == first.json()
            assert again.headers.get("idempotent-replayed") == "true"
        assert await _counts(tenant) == before
        timeline = (
            await tenant.get(f"/v1/encounters/{first.json()['encounters'][0]['id']}", "ops")
        ).json()["timeline"]
        assert [e["action"] for e in timeline] == ["docs_complete"]

    async def test_the_same_webhook_id_with_another_body_is_a_conflict(
        self, tenant: Tenant
    ) -> None:
        msg_id = f"msg_{uuid.uuid4().hex}"
        _, bundle = _fresh()
        assert (await tenant.push(bundle, msg_id=msg_id)).status_code == 202
        before = await _counts(tenant)
        _, different = _fresh()
        r = await tenant.push(different, msg_id=msg_id)
        _assert_problem(r, 409, msg_id)
        assert await _counts(tenant) == before


class TestRefusals:
    async def test_a_tampered_signature_is_refused(self, tenant: Tenant) -> None:
        _, bundle = _fresh()
        body = _body(bundle)
        headers = signed_headers(tenant.secret, "msg_x", body)
        sig = base64.b64decode(headers["webhook-signature"].removeprefix("v1,"))
        forged = "v1," + base64.b64encode(bytes([sig[0] ^ 1]) + sig[1:]).decode()
        r = await _send(tenant, body, msg_id="msg_x", headers={"webhook-signature": forged})
        _assert_problem(r, 401, "signature")
        # A body changed after signing is refused the same way.
        r = await tenant.http.post(tenant.webhook_url, content=body + b" ", headers=headers)
        _assert_problem(r, 401, "signature")
        assert await _counts(tenant) == NOTHING

    async def test_a_signature_made_with_another_secret_is_refused(
        self, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        _, bundle = _fresh()
        for secret in (generate_secret(), other_tenant.secret):
            _assert_problem(await _send(tenant, _body(bundle), secret=secret), 401, "signature")
        assert await _counts(tenant) == NOTHING

    async def test_stale_and_future_timestamps_are_refused(self, tenant: Tenant) -> None:
        _, bundle = _fresh()
        now = int(time.time())
        old = _assert_problem(
            await _send(tenant, _body(bundle), timestamp=now - 6 * 60),
            401,
            "webhook-timestamp",
            "too old",
        )
        assert "tolerance" in old["detail"]
        _assert_problem(
            await _send(tenant, _body(bundle), timestamp=now + 6 * 60),
            401,
            "webhook-timestamp",
            "too new",
        )
        _assert_problem(
            await _send(tenant, _body(bundle), headers={"webhook-timestamp": "yesterday"}),
            401,
            "webhook-timestamp",
        )
        assert await _counts(tenant) == NOTHING
        # Within the five-minute tolerance it is fine.
        assert (await _send(tenant, _body(bundle), timestamp=now - 4 * 60)).status_code == 202

    async def test_missing_headers_are_refused(self, tenant: Tenant) -> None:
        _, bundle = _fresh()
        for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
            r = await _send(tenant, _body(bundle), drop=(header,))
            _assert_problem(r, 401, header)
            assert r.headers.get("www-authenticate")
        assert await _counts(tenant) == NOTHING

    async def test_an_unknown_source_is_refused(self, tenant: Tenant) -> None:
        _, bundle = _fresh()
        url = f"{tenant.stack.url}/v1/webhooks/ehr?source={uuid.uuid4()}"
        _assert_problem(await _send(tenant, _body(bundle), url=url), 401, "source")
        missing = await _send(tenant, _body(bundle), url=f"{tenant.stack.url}/v1/webhooks/ehr")
        assert missing.status_code in (401, 422), missing.text
        assert missing.headers["content-type"].startswith(PROBLEM)
        assert await _counts(tenant) == NOTHING

    async def test_a_body_that_is_not_json_is_422(self, tenant: Tenant) -> None:
        for body in (b"MSH|^~\\&|EPIC|", b"\xff\xfe\x00garbage", b""):
            r = await _send(tenant, body)
            _assert_problem(r, 422, "json")
        assert await _counts(tenant) == NOTHING

    async def test_json_that_is_not_a_bundle_is_422_naming_the_problem(
        self, tenant: Tenant
    ) -> None:
        cases: list[tuple[Any, str]] = [
            ({"resourceType": "Patient", "id": "p1"}, "resourceType must be 'Bundle'"),
            ([1, 2, 3], "must be a JSON object"),
            ({"resourceType": "Bundle", "type": "collection", "entry": []}, "no entry"),
            (
                {
                    "resourceType": "Bundle",
                    "type": "collection",
                    "entry": [{"resource": {"resourceType": "Patient", "id": "p"}}],
                },
                "no encounter",
            ),
        ]
        for payload, expected in cases:
            body = _assert_problem(await _send(tenant, _body(payload)), 422, expected)
            assert body["problems"], body
        assert await _counts(tenant) == NOTHING

    async def test_an_unresolvable_patient_is_422(self, tenant: Tenant) -> None:
        _, bundle = _fresh()
        bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Patient"]
        body = _assert_problem(await _send(tenant, _body(bundle)), 422, "subject")
        assert any("subject" in p for p in body["problems"])
        assert await _counts(tenant) == NOTHING

    async def test_a_refused_delivery_can_be_retried_with_the_same_id_once_fixed(
        self, tenant: Tenant
    ) -> None:
        """A 422 stores nothing, so the webhook-id is not burnt and the fixed body is accepted."""
        _, bundle = _fresh()
        msg_id = f"msg_{uuid.uuid4().hex}"
        assert (await _send(tenant, b"{not json", msg_id=msg_id)).status_code == 422
        r = await _send(tenant, _body(bundle), msg_id=msg_id)
        assert r.status_code == 202, r.text
        assert (await _counts(tenant))["inbound_messages"] == 1


class TestMissingDocumentation:
    async def test_a_chart_waits_on_hold_until_its_required_note_arrives(
        self, tenant: Tenant
    ) -> None:
        key = uuid.uuid4().hex[:10]
        enc_id, pt_id = f"enc-{key}", f"pt-{key}"
        first = await tenant.push(
            synthetic_bundle(encounter_id=enc_id, patient_id=pt_id, doc_types=("34117-2",))
        )
        assert first.status_code == 202, first.text
        [entry] = first.json()["encounters"]
        assert entry["status"] == "on_hold"
        chart = (await tenant.get(f"/v1/encounters/{entry['id']}", "ops")).json()
        assert chart["status"] == "on_hold"
        assert [h["reason"] for h in chart["holds"]] == ["missing_documentation"]
        assert [e["action"] for e in chart["timeline"]] == ["docs_missing"]
        assert "11506-3" in (chart["timeline"][0]["reason"] or "")
        # Nothing to claim while the note is missing.
        assert (await tenant.post("/v1/queues/q1/claim", "coder")).status_code == 204

        second = await tenant.push(
            synthetic_bundle(encounter_id=enc_id, patient_id=pt_id, doc_types=("11506-3",))
        )
        assert second.status_code == 202, second.text
        [again] = second.json()["encounters"]
        assert again["id"] == entry["id"]
        assert again["status"] == "ready"
        chart = (await tenant.get(f"/v1/encounters/{entry['id']}", "ops")).json()
        assert chart["status"] == "ready"
        assert chart["holds"] == []
        assert [e["action"] for e in chart["timeline"]] == ["docs_missing", "docs_complete"]
        assert sorted(d["type_code"] for d in chart["documents"]) == ["11506-3", "34117-2"]
        counts = await _counts(tenant)
        assert (counts["encounters"], counts["inbound_messages"]) == (1, 2)
        claimed = await tenant.post("/v1/queues/q1/claim", "coder")
        assert claimed.status_code == 200
        assert claimed.json()["id"] == entry["id"]

    async def test_a_class_without_requirements_is_ready_at_once(self, tenant: Tenant) -> None:
        _, bundle = _fresh(doc_types=("34117-2",), encounter_type="IMP")
        r = await tenant.push(bundle)
        assert r.status_code == 202, r.text
        assert r.json()["encounters"][0]["status"] == "ready"
