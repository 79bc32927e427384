"""HL7 v2 intake over HTTP and MLLP, into the same intake as FHIR: idempotent by MSH-10, the same
projection, routing and documentation holds. Real example messages (tests/fixtures/hl7v2)."""

import uuid

import hl7.mllp
import httpx

from clearchart.embedded import free_port
from clearchart.mllp import serve_mllp
from integrations.ehr.signing import signed_headers
from models.encounters.tables import Encounter
from tests.support import Tenant, eventually
from tests.unit.test_hl7v2_messages import fixture, with_field

ER7 = "x-application/hl7-v2+er7"


async def send(tenant: Tenant, text: str, *, secret: str | None = None) -> httpx.Response:
    body = text.encode()
    headers = {**signed_headers(secret or tenant.secret, f"msg_{uuid.uuid4().hex}", body), "content-type": ER7}
    return await tenant.http.post(f"{tenant.stack.url}/v1/hl7v2?source={tenant.source_id}", content=body, headers=headers)


def msa(ack: str) -> list[str]:
    return next(s for s in ack.split("\r") if s.startswith("MSA")).split("|")


# The published messages carry 2015 visits, before any ICD-10-CM release the code ships: such a
# chart is rightly held until its release is loaded, so the accepted paths use a current visit.
ADMITTED = "20260410090000"


class TestOverHttp:
    async def test_a_discharge_is_taken_once_and_an_update_reaches_the_same_encounter(self, tenant: Tenant) -> None:
        a03 = with_field(fixture("adt_a03.hl7"), "PV1", 44, ADMITTED)
        first = await send(tenant, a03)
        assert first.status_code == 202, first.text
        [enc] = first.json()["encounters"]
        assert enc["external_id"] == "VisitNumber"
        assert msa(first.json()["ack"])[1:3] == ["AA", "controlID"]
        again = await send(tenant, a03)
        assert again.status_code == 202
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["encounters"] == first.json()["encounters"]
        # The published A08 reuses the A03's control id: a different message under a used MSH-10 is refused.
        reused = await send(tenant, fixture("adt_a08.hl7"))
        assert reused.status_code == 422
        assert "MSH-10" in reused.json()["detail"]
        assert msa(reused.json()["ack"])[1] == "AR"
        update = await send(tenant, with_field(with_field(fixture("adt_a08.hl7"), "MSH", 10, "controlID-2"), "PV1", 44, ADMITTED))
        assert update.status_code == 202, update.text
        assert update.json()["encounters"][0]["id"] == enc["id"]
        chart = (await tenant.get(f"/v1/encounters/{enc['id']}", "ops")).json()
        # An ADT carries no note: the chart waits for its first document, as every chart does.
        assert (chart["status"], [h["reason"] for h in chart["holds"]]) == ("on_hold", ["missing_documentation"])
        assert (chart["encounter_class"], chart["date_of_service"]) == ("IMP", "2026-04-10")

    async def test_charges_then_the_missing_note_release_the_documentation_hold(self, tenant: Tenant) -> None:
        visit = f"V-{uuid.uuid4().hex[:8]}"
        dft = with_field(with_field(with_field(fixture("dft_p03.hl7"), "PV1", 19, visit), "PV1", 2, "O"), "FT1", 11, "185.00")
        dft = with_field(dft, "PV1", 44, ADMITTED)
        charged = await send(tenant, dft)
        assert charged.status_code == 202, charged.text
        [enc] = charged.json()["encounters"]
        assert enc["status"] == "on_hold"  # an ambulatory visit needs a progress note first
        async with tenant.stack.sessions() as session:
            assert (await session.get_one(Encounter, uuid.UUID(enc["id"]))).charges_cents == 18500
        note = with_field(with_field(with_field(fixture("mdm_t02.hl7"), "PV1", 19, visit), "TXA", 2, "PN^Progress note"), "MSH", 10, f"MDM-{visit}")
        note = with_field(note, "PV1", 44, ADMITTED)
        documented = await send(tenant, note)
        assert documented.status_code == 202, documented.text
        assert documented.json()["encounters"][0]["id"] == enc["id"]
        chart = await eventually(lambda: tenant.get(f"/v1/encounters/{enc['id']}", "ops"), until=lambda r: r.json()["status"] == "ready")
        assert [d["type_code"] for d in chart.json()["documents"]] == ["11506-3"]

    async def test_refusals_name_the_field_and_change_nothing(self, tenant: Tenant) -> None:
        refused = await send(tenant, fixture("mdm_t02.hl7"))
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "PV1-19" in refused.json()["detail"]
        assert msa(refused.json()["ack"])[1:3] == ["AR", "<MESSAGEID>"]
        assert (await send(tenant, "not hl7 at all")).status_code == 422
        assert (await tenant.get("/v1/encounters", "ops")).json()["items"] == []
        forged = await send(tenant, fixture("adt_a03.hl7"), secret="whsec_" + "QUJD" * 8)
        assert forged.status_code == 401


class TestOverMllp:
    async def test_each_message_gets_its_ack_or_nak(self, tenant: Tenant) -> None:
        port = free_port()
        stack = tenant.stack
        server = await serve_mllp(stack.sessions, stack.temporal, stack.settings.task_queue, uuid.UUID(tenant.source_id), "127.0.0.1", port)
        async with server:
            reader, writer = await hl7.mllp.open_hl7_connection("127.0.0.1", port)
            try:
                writer.writeblock(fixture("adt_a03.hl7").encode())
                await writer.drain()
                accepted = (await reader.readblock()).decode()
                writer.writeblock(fixture("dft_p03.hl7").encode())
                await writer.drain()
                refused = (await reader.readblock()).decode()
            finally:
                writer.close()
                await writer.wait_closed()
        assert msa(accepted)[1:3] == ["AA", "controlID"]
        assert msa(refused)[1:3] == ["AR", "MSGID000001"]
        assert "PV1-19" in msa(refused)[3]
        items = (await tenant.get("/v1/encounters", "ops")).json()["items"]
        assert [e["external_id"] for e in items] == ["VisitNumber"]
