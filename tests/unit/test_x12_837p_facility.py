"""Service facility (837P loop 2310C): from the chart's Encounter.location, only when it is not
the billing provider's address; read back from the built file and checked by pyx12."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from activities.claims import SANDBOX_PROVIDER, service_facility
from integrations.billing.schemas import ServiceFacility
from integrations.billing.segments import tokenize
from integrations.billing.x837p import build_837p
from integrations.ehr.bundle import parse_bundle
from integrations.sandbox.bundles import synthetic_bundle
from tests.unit.x12_support import (
    BILLING,
    INTERCHANGE,
    JANE,
    MEDICARE,
    RECEIVER,
    SUBMITTER,
    claim,
    line,
    pyx12_findings,
)

CLINIC = {"name": "EAST SIDE CLINIC", "address_line": "42 Oak St", "address_line2": None, "city": "Peoria",
          "state": "IL", "postal_code": "61602-1234", "npi": "1245319599"}  # fmt: skip


def with_location(location: dict[str, Any], status: str = "completed") -> dict[str, Any]:
    bundle = copy.deepcopy(synthetic_bundle(encounter_id="E-LOC", patient_id="P-LOC"))
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Encounter":
            entry["resource"]["location"] = [{"location": {"reference": "urn:uuid:loc-1"}, "status": status}]
    bundle["entry"].append({"fullUrl": "urn:uuid:loc-1", "resource": {"resourceType": "Location", **location}})
    return bundle


LOCATION = {
    "name": "East Side Clinic",
    "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1245319599"}],
    "address": {"line": ["42 Oak St", "Suite 5"], "city": "Peoria", "state": "IL", "postalCode": "61602-1234"},
}


def loops_2310c(text: str) -> list[list[str]]:
    segments = tokenize(text)
    out = []
    for n, seg in enumerate(segments):
        if seg.id == "NM1" and seg.get(1) == "77":
            out.append([f"{s.id}*{'*'.join(s.elements)}" for s in segments[n : n + 3]])
    return out


def test_the_encounter_location_is_read_from_the_bundle() -> None:
    (found,) = parse_bundle(with_location(LOCATION))
    facility = found.service_facility
    assert facility is not None
    assert (facility.name, facility.address_line, facility.address_line2, facility.npi) == ("East Side Clinic", "42 Oak St", "Suite 5", "1245319599")
    (planned,) = parse_bundle(with_location(LOCATION, status="planned"))
    assert planned.service_facility is None  # the patient was never there
    (no_street,) = parse_bundle(with_location({**LOCATION, "address": {"city": "Peoria", "state": "IL"}}))
    assert no_street.service_facility is None  # an address is never guessed


def test_a_facility_elsewhere_is_loop_2310c_after_the_rendering_provider_and_pyx12_accepts_it() -> None:
    facility = service_facility(CLINIC, SANDBOX_PROVIDER)
    assert facility == ServiceFacility("EAST SIDE CLINIC", "42 Oak St", "Peoria", "IL", "616021234", "1245319599")
    text = build_837p(INTERCHANGE, SUBMITTER, RECEIVER, BILLING,
                      [(JANE, MEDICARE, replace(claim("ENC-9", line("99214", 15000)), service_facility=facility))])  # fmt: skip
    assert loops_2310c(text) == [["NM1*77*2*EAST SIDE CLINIC*****XX*1245319599", "N3*42 Oak St", "N4*Peoria*IL*616021234"]]
    ids = [s.id + (s.get(1) if s.id == "NM1" else "") for s in tokenize(text)]
    assert ids.index("NM182") < ids.index("NM177") < ids.index("LX")
    ok, errors, _ = pyx12_findings(text)
    assert ok
    assert errors == []


def test_no_2310c_when_the_service_was_at_the_billing_provider_or_the_chart_has_no_location() -> None:
    same = {**CLINIC, "address_line": "100  Main St.", "city": "springfield", "state": "IL", "postal_code": "62701"}
    assert service_facility(same, SANDBOX_PROVIDER) is None
    assert service_facility(None, SANDBOX_PROVIDER) is None
    bad_npi = service_facility({**CLINIC, "npi": "1245319590"}, SANDBOX_PROVIDER)
    assert bad_npi is not None
    assert bad_npi.npi == ""
    text = build_837p(INTERCHANGE, SUBMITTER, RECEIVER, BILLING, [(JANE, MEDICARE, replace(claim("ENC-9", line("99214", 15000)), service_facility=bad_npi))])
    assert loops_2310c(text) == [["NM1*77*2*EAST SIDE CLINIC", "N3*42 Oak St", "N4*Peoria*IL*616021234"]]
    assert pyx12_findings(text)[0]
    plain = build_837p(INTERCHANGE, SUBMITTER, RECEIVER, BILLING, [(JANE, MEDICARE, claim("ENC-9", line("99214", 15000)))])
    assert loops_2310c(plain) == []
