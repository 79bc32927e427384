"""The 837P carries only facts from the chart: Coverage member id, the tenant's payer table, the
patient's own address; a missing fact is a hard scrub edit naming it."""

import uuid
from typing import Any

from integrations.sandbox.bundles import synthetic_bundle
from tests.api.claim_support import coding, submitted_claim
from tests.support import Tenant, eventually
from tests.unit.x12_support import pyx12_findings


async def coded_bundle(tenant: Tenant, bundle: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    pushed = await tenant.push(bundle)
    assert pushed.status_code == 202, pushed.text
    enc = pushed.json()["encounters"][0]["id"]
    chart = (await tenant.post("/v1/queues/q1/claim", "coder")).json()
    assert chart["id"] == enc
    coded = await tenant.post(f"/v1/encounters/{enc}/coding", "coder", json=coding(chart["documents"][0]["id"]))
    assert coded.status_code == 200, coded.text
    return enc, coded.json()


def without(bundle: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return {**bundle, "entry": [e for e in bundle["entry"] if e["resource"]["resourceType"] != resource_type]}


def rules(scrub: dict[str, Any]) -> set[str]:
    return {e["rule"] for e in scrub["scrub"]["edits"] if e["severity"] == "hard"}


async def test_the_837p_bills_the_coverage_member_id_and_the_payer_table(tenant: Tenant) -> None:
    _enc, claim = await submitted_claim(tenant)
    x12 = (await tenant.get(f"/v1/claims/{claim['id']}/x12", "ops")).text
    segments = x12.replace("\n", "").split("~")
    subscriber = next(s for s in segments if s.startswith("NM1*IL*"))
    assert subscriber.split("*")[9].startswith("SBXpt-")  # Coverage.subscriberId of the synthetic bundle
    assert next(s for s in segments if s.startswith("NM1*PR*")).split("*")[3] == "MEDICARE PART B"
    assert next(s for s in segments if s.startswith("SBR*")).split("*")[9] == "MB"
    assert next(s for s in segments if (s.startswith("N3*") and "Sandbox Way" in s.upper().title()) or "SANDBOX WAY" in s.upper())
    ok, errors, _ = pyx12_findings(x12)
    assert (ok, errors) == (True, [])


async def test_a_chart_without_coverage_is_a_hard_edit_not_an_unknown_payer(tenant: Tenant) -> None:
    key = uuid.uuid4().hex[:10]
    bundle = without(synthetic_bundle(encounter_id=f"enc-{key}", patient_id=f"pt-{key}"), "Coverage")
    enc, answer = await coded_bundle(tenant, bundle)
    assert "coverage_missing" in rules(answer)
    assert (await tenant.get(f"/v1/encounters/{enc}", "ops")).json()["status"] == "in_coding"
    assert (await tenant.get(f"/v1/claims?encounter_id={enc}", "ops")).json() == []


async def test_an_unknown_payer_is_named_until_an_admin_adds_it(tenant: Tenant, other_tenant: Tenant) -> None:
    key = uuid.uuid4().hex[:10]
    payer = f"P{key[:6].upper()}"
    enc, answer = await coded_bundle(tenant, synthetic_bundle(encounter_id=f"enc-{key}", patient_id=f"pt-{key}", payer_id=payer, payer_name="Blue Plan"))
    edit = next(e for e in answer["scrub"]["edits"] if e["rule"] == "payer_unknown")
    assert edit["code"] == payer
    body = {"payer_id": payer, "name": "BLUE PLAN", "x12_payer_id": "BP001", "filing_indicator": "BL"}
    assert (await tenant.post("/v1/payers", "ops", json=body)).status_code == 403
    refused = await tenant.post("/v1/payers", "admin", json={**body, "filing_indicator": "XX"})
    assert refused.status_code == 422
    assert "SBR09" in refused.json()["detail"]
    added = await tenant.post("/v1/payers", "admin", json=body)
    assert added.status_code == 201, added.text
    assert payer in [p["payer_id"] for p in (await tenant.get("/v1/payers", "ops")).json()]
    assert payer not in [p["payer_id"] for p in (await other_tenant.get("/v1/payers", "ops")).json()]

    again = await tenant.post(f"/v1/encounters/{enc}/coding", "coder", json=coding((await tenant.get(f"/v1/encounters/{enc}", "coder")).json()["documents"][0]["id"]))
    assert again.status_code == 200, again.text
    await eventually(lambda: tenant.get(f"/v1/encounters/{enc}", "ops"), until=lambda r: r.json()["status"] == "submitted")
    claim = (await tenant.get(f"/v1/claims?encounter_id={enc}", "ops")).json()[0]
    x12 = (await tenant.get(f"/v1/claims/{claim['id']}/x12", "ops")).text
    assert "NM1*PR*2*BLUE PLAN*****PI*BP001~" in x12.replace("\n", "")


def with_parent_subscriber(bundle: dict[str, Any], *, complete: bool = True) -> dict[str, Any]:
    """The patient is covered as the child of a policy holder (a RelatedPerson)."""
    parent_url = f"urn:uuid:{uuid.uuid4()}"
    parent: dict[str, Any] = {"resourceType": "RelatedPerson", "name": [{"family": "Holder", "given": ["Pat"]}], "gender": "male",
                              "patient": {"reference": bundle["entry"][0]["fullUrl"]}}  # fmt: skip
    if complete:
        parent |= {"birthDate": "1975-03-02", "address": [{"line": ["9 Policy Rd"], "city": "Springfield", "state": "IL", "postalCode": "62704"}]}
    entries = []
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Coverage":
            resource = {**resource, "subscriber": {"reference": parent_url},
                        "relationship": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "code": "child"}]}}  # fmt: skip
        entries.append({**entry, "resource": resource})
    entries.append({"fullUrl": parent_url, "request": {"method": "POST", "url": "RelatedPerson"}, "resource": parent})
    return {**bundle, "entry": entries}


async def test_a_dependent_is_billed_in_the_patient_loop_under_the_policy_holder(tenant: Tenant) -> None:
    key = uuid.uuid4().hex[:10]
    enc, answer = await coded_bundle(tenant, with_parent_subscriber(synthetic_bundle(encounter_id=f"enc-{key}", patient_id=f"pt-{key}")))
    assert rules(answer) == set(), answer["scrub"]
    await eventually(lambda: tenant.get(f"/v1/encounters/{enc}", "ops"), until=lambda r: r.json()["status"] in ("submitted", "closed"))
    claim = (await tenant.get(f"/v1/claims?encounter_id={enc}", "ops")).json()[0]
    segments = (await tenant.get(f"/v1/claims/{claim['id']}/x12", "ops")).text.replace("\n", "").split("~")
    assert next(s for s in segments if s.startswith("NM1*IL*")).split("*")[3:5] == ["Holder", "Pat"]
    assert "PAT*19" in segments
    assert any(s.startswith("HL*") and s.split("*")[3] == "23" for s in segments)
    assert next(s for s in segments if s.startswith("NM1*QC*")).split("*")[3] == "Testpatient"
    ok, errors, _ = pyx12_findings("~".join(segments))
    assert (ok, errors) == (True, [])


async def test_an_incomplete_policy_holder_is_a_hard_edit_naming_what_is_missing(tenant: Tenant) -> None:
    key = uuid.uuid4().hex[:10]
    _enc, answer = await coded_bundle(tenant, with_parent_subscriber(synthetic_bundle(encounter_id=f"enc-{key}", patient_id=f"pt-{key}"), complete=False))
    edit = next(e for e in answer["scrub"]["edits"] if e["rule"] == "subscriber_missing")
    assert "birth date" in edit["message"]
    assert "street" in edit["message"]


async def test_a_visit_at_another_site_carries_the_service_facility_loop_from_the_encounter_location(tenant: Tenant) -> None:
    key = uuid.uuid4().hex[:10]
    bundle = synthetic_bundle(encounter_id=f"enc-{key}", patient_id=f"pt-{key}")
    location = {"resourceType": "Location", "name": "North Annex", "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1245319599"}],
                "address": {"line": ["7 Harbor Rd"], "city": "Peoria", "state": "IL", "postalCode": "61602"}}  # fmt: skip
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Encounter":
            entry["resource"]["location"] = [{"location": {"reference": f"urn:uuid:loc-{key}"}, "status": "completed"}]
    bundle["entry"].append({"fullUrl": f"urn:uuid:loc-{key}", "resource": location})
    enc, answer = await coded_bundle(tenant, bundle)
    assert rules(answer) == set(), answer["scrub"]
    await eventually(lambda: tenant.get(f"/v1/claims?encounter_id={enc}", "ops"), until=lambda r: len(r.json()) == 1)
    claim = (await tenant.get(f"/v1/claims?encounter_id={enc}", "ops")).json()[0]
    x12 = (await tenant.get(f"/v1/claims/{claim['id']}/x12", "ops")).text
    segments = x12.replace("\n", "").split("~")
    at = next(n for n, s in enumerate(segments) if s.startswith("NM1*77*"))
    assert segments[at : at + 3] == ["NM1*77*2*North Annex*****XX*1245319599", "N3*7 Harbor Rd", "N4*Peoria*IL*61602"]
    assert at < next(n for n, s in enumerate(segments) if s.startswith("LX*"))  # in the claim loop, before the lines
    ok, errors, _ = pyx12_findings(x12)
    assert (ok, errors) == (True, [])

    _enc, plain = await submitted_claim(tenant)  # no Location in the chart: no 2310C
    assert "NM1*77*" not in (await tenant.get(f"/v1/claims/{plain['id']}/x12", "ops")).text
