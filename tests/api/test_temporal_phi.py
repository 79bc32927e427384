"""No PHI in Temporal: the raw history of a full lifecycle holds none of the patient's names, ids,
dates or note words (free text travels as hashes, and every payload is encrypted); the codec
endpoint gives an authorised operator the payloads back, and only them."""

import base64
import json
from typing import Any

from sqlalchemy import select
from temporalio.client import Client

from models.encounters.tables import Document, Encounter, Patient
from models.evidence.access_log_tables import PhiAccess
from tests.api.claim_support import ack_277ca, post_x12, remittance_835
from tests.api.test_evidence import coded_chart
from tests.support import Tenant, eventually, operator_tenant

WRITE_OFF_REASON = "Patient Testpatient asked us to stop billing after the fall"
ENCRYPTED = base64.b64encode(b"binary/encrypted").decode()


def haystack(history: dict[str, Any]) -> str:
    """The history as stored, plus every payload's bytes decoded from base64: what Temporal holds."""
    found: list[str] = [json.dumps(history)]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "data" and isinstance(value, str):
                    found.append(base64.b64decode(value).decode("latin-1"))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(history)
    return "\n".join(found)


async def full_lifecycle(tenant: Tenant) -> str:
    """Hold, query, coding, claim, 277CA, 835 denial, write-off: every stage writes history."""
    chart = await coded_chart(tenant)
    eid = chart["id"]
    await eventually(lambda: tenant.get(f"/v1/encounters/{eid}", "ops"), until=lambda r: r.json()["status"] == "submitted")
    claim = (await tenant.get(f"/v1/claims?encounter_id={eid}", "ops")).json()[0]
    await post_x12(tenant, "/v1/acknowledgments", ack_277ca(claim["control_number"], accepted=True))
    text = remittance_835(claim["control_number"], paid_cents=0, charge_cents=claim["total_charge_cents"], adjustments=[("CO", "11", claim["total_charge_cents"])])
    denial = (await post_x12(tenant, "/v1/remittances", text)).json()["matched"][0]["denials"][0]
    written = await tenant.post(f"/v1/denials/{denial['id']}/write-off", "ops", json={"reason": WRITE_OFF_REASON})
    assert written.status_code == 200, written.text
    assert written.json()["status"] == "closed"
    return str(eid)


async def phi_of(tenant: Tenant, eid: str) -> list[str]:
    async with tenant.stack.sessions() as session:
        e = await session.get_one(Encounter, eid)
        p = await session.get_one(Patient, e.patient_id)
        note = await session.scalar(select(Document.text).where(Document.encounter_id == e.id))
    assert note
    assert p.birth_date
    assert p.family
    assert p.given
    assert p.mrn
    words = ["metformin", "hyperglycemia", "HbA1c", "Testpatient", "stop billing"]
    dates = [p.birth_date.isoformat(), p.birth_date.strftime("%Y%m%d")]
    if e.date_of_service:
        dates += [e.date_of_service.isoformat(), e.date_of_service.strftime("%Y%m%d")]
    return [p.family, p.given, p.mrn, p.external_id, e.external_id, *dates, *words]


class TestNoPhiInTemporal:
    async def test_the_raw_history_of_a_whole_lifecycle_holds_no_phi(self, tenant: Tenant) -> None:
        eid = await full_lifecycle(tenant)
        raw_client = await Client.connect(tenant.stack.settings.temporal_address)  # no codec: what the server keeps
        history = await raw_client.get_workflow_handle(f"encounter/{eid}").fetch_history()
        stored = haystack(history.to_json_dict())
        assert ENCRYPTED in stored  # payloads are there, encrypted
        assert len(history.events) > 20
        leaked = [s for s in await phi_of(tenant, eid) if s and s in stored]
        assert leaked == []

    async def test_the_codec_endpoint_decrypts_only_for_the_installation_operator_and_logs_it(self, tenant: Tenant) -> None:
        chart = await coded_chart(tenant)
        raw_client = await Client.connect(tenant.stack.settings.temporal_address)
        history = await raw_client.get_workflow_handle(f"encounter/{chart['id']}").fetch_history()
        payloads = [
            p for e in history.to_json_dict()["events"] for k, v in e.items() if k.endswith("Attributes")
            for p in (v.get("input") or {}).get("payloads", [])
        ]  # fmt: skip
        assert payloads
        assert all(p["metadata"]["encoding"] == ENCRYPTED for p in payloads)
        operators = await operator_tenant(tenant.stack, tenant.http)
        headers = {**operators.auth("admin"), "X-Namespace": "default"}
        r = await tenant.http.post(f"{tenant.stack.url}/codec/decode", json={"payloads": payloads}, headers=headers)
        assert r.status_code == 200, r.text
        plain = "".join(base64.b64decode(p["data"]).decode() for p in r.json()["payloads"])
        assert chart["id"] in plain  # the workflow's own ids and codes, readable again
        assert "E11.65" in plain
        # The chart's own tenant admin (and any other customer tenant's) is not an installation operator.
        for who in ("admin", "ops"):
            refused = await tenant.post("/codec/decode", who, json={"payloads": payloads})
            assert refused.status_code == 403, refused.text
            assert "CLEARCHART_OPERATOR_TENANT" in refused.json()["detail"] or who == "ops"
        assert (await tenant.post("/codec/encode", "admin", json={"payloads": payloads})).status_code == 403
        assert (await operators.post("/codec/decode", "ops", json={"payloads": payloads})).status_code == 403
        tampered = [{**payloads[0], "data": base64.b64encode(b"x" * 40).decode()}]
        assert (await operators.post("/codec/decode", "admin", json={"payloads": tampered})).status_code == 422
        async with tenant.stack.sessions() as session:
            logged = (
                await session.execute(
                    select(PhiAccess.tenant_id, PhiAccess.user_id, PhiAccess.outcome, PhiAccess.reason).where(
                        PhiAccess.tenant_id.in_([tenant.id, operators.id]), PhiAccess.action == "temporal_payloads.decode"
                    )
                )
            ).all()
        assert (operators.id, "admin-1", "allowed", "default") in logged
        assert (tenant.id, "admin-1", "refused", None) in logged  # the refused attempt is on record too
