"""Realistic FHIR R4 bundles for tests and the demo, built from public sample resources.

The samples (Cerner's open sandbox, the HL7 R4 examples, a Synthea patient) are real-world
shaped but not mutually consistent — e.g. the Cerner DocumentReference belongs to another
encounter and patient — so each builder rewires references the way one EHR push would carry
them. Samples are read from ``fixtures/`` next to this module unless ``samples_dir`` is given.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

FIXTURES_DIR = Path(__file__).parent / "fixtures"
CERNER_BASE = "https://fhir-open.cerner.com/r4/ec2458f2-1e24-41c8-b71b-0e701af7583d"
HL7_BASE = "http://hl7.org/fhir"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
SNOMED_SYSTEM = "http://snomed.info/sct"
LOINC_SYSTEM = "http://loinc.org"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_SANDBOX_NS = uuid.UUID("6f1c1f1e-5b7e-4c2a-9a57-c1ea7c4a7700")
_MR_TYPE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
LOINC_NOTES = {
    "11506-3": "Progress note",
    "34117-2": "History and physical note",
    "11488-4": "Consult note",
    "18842-5": "Discharge summary",
    "28570-0": "Procedure note",
    "34111-5": "Emergency department note",
}

Resource = dict[str, Any]


def load_sample(name: str, samples_dir: Path | None = None) -> Resource:
    """A fresh copy of one sample file (callers mutate it)."""
    path = (samples_dir or FIXTURES_DIR) / name
    data: Resource = json.loads(path.read_text(encoding="utf-8"))
    return data


def npi_with_check_digit(base9: str) -> str:
    """Complete a 9-digit base into a Luhn-valid NPI (prefix 80840), so fake NPIs pass edits."""
    digits = [int(d) for d in "80840" + base9]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if position % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return base9 + str((10 - total % 10) % 10)


def _bundle(bundle_type: str, entries: list[tuple[str, Resource]]) -> Resource:
    return {
        "resourceType": "Bundle",
        "type": bundle_type,
        "entry": [{"fullUrl": url, "resource": res} for url, res in entries],
    }


def _concept(system: str | None, code: str, display: str | None = None) -> Resource:
    coding = {"system": system, "code": code, "display": display}
    return {"coding": [{k: v for k, v in coding.items() if v is not None}]}


def _npi(value: str) -> list[dict[str, str]]:
    return [{"system": NPI_SYSTEM, "value": value}]


def cerner_bundle(
    encounter_id: str | None = None, with_document: bool = True, *, samples_dir: Path | None = None
) -> Resource:
    """The Cerner inpatient Encounter with resolvable Patient, Practitioners and Coverage.

    The Cerner resources use relative references (``Patient/12724066``); entries carry absolute
    ``fullUrl``s as a Cerner search would. With ``encounter_id`` the encounter (and its document
    id) are renamed so each test can start a fresh workflow.
    """
    encounter = load_sample("cerner-r4-Encounter-97939518.json", samples_dir)
    enc_id = encounter_id or encounter["id"]
    encounter["id"] = enc_id
    patient_id = encounter["subject"]["reference"].split("/")[1]
    patient: Resource = {
        "resourceType": "Patient",
        "id": patient_id,
        "identifier": [
            {"type": _MR_TYPE, "system": f"{CERNER_BASE}/codeSet/4", "value": "10002701"}
        ],
        "name": [{"use": "official", "family": "SMART", "given": ["NANCY"]}],
        "gender": "female",
        "birthDate": "1980-08-11",
    }
    people: dict[str, Resource] = {}
    for position, participant in enumerate(encounter["participant"]):
        ref = participant["individual"]
        prac_id = ref["reference"].split("/")[1]
        family, _, given = ref["display"].partition(", ")
        people.setdefault(
            prac_id,
            {
                "resourceType": "Practitioner",
                "id": prac_id,
                "identifier": _npi(npi_with_check_digit(f"{1_000_000_00 + position:09d}")),
                "name": [
                    {"use": "official", "text": ref["display"], "family": family, "given": [given]}
                ],
            },
        )
    org_id = encounter["serviceProvider"]["reference"].split("/")[1]
    hospital: Resource = {
        "resourceType": "Organization",
        "id": org_id,
        "identifier": _npi(npi_with_check_digit("155555555")),
        "name": "Model Hospital",
    }
    coverage = load_sample("hl7-r4-Coverage-7546D.json", samples_dir)
    coverage["subscriber"] = coverage["beneficiary"] = {"reference": f"Patient/{patient_id}"}
    coverage["period"] = {"start": "2019-01-01", "end": "2020-12-31"}
    payer_id = coverage["payor"][0]["reference"].split("/")[1]
    payer: Resource = {
        "resourceType": "Organization",
        "id": payer_id,
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.221.5", "value": "WESTAIR01"}],
        "name": "Western Airlines Health Plan",
    }
    resources = [encounter, patient, *people.values(), hospital, payer, coverage]
    if with_document:
        document = load_sample("cerner-r4-DocumentReference-198381924.json", samples_dir)
        if encounter_id:
            document["id"] = f"{document['id']}-{encounter_id}"
        document["subject"] = {"reference": f"Patient/{patient_id}"}
        document["context"]["encounter"] = [{"reference": f"Encounter/{enc_id}"}]
        resources.append(document)
    entries = [(f"{CERNER_BASE}/{r['resourceType']}/{r['id']}", r) for r in resources]
    return _bundle("collection", entries)


def synthea_bundle(
    max_encounters: int | None = None, *, samples_dir: Path | None = None
) -> Resource:
    """The Synthea transaction bundle (urn:uuid and conditional references), optionally trimmed.

    Trimming keeps the first ``max_encounters`` encounters and drops every entry that refers to
    a dropped one (documents, claims, immunizations...), so what remains is self-consistent.
    """
    bundle = load_sample("synthea-Ha329_OHara248-bundle.json", samples_dir)
    if max_encounters is None:
        return bundle
    entries: list[Resource] = bundle["entry"]
    encounters = [e["fullUrl"] for e in entries if e["resource"]["resourceType"] == "Encounter"]
    dropped = set(encounters[max_encounters:])
    kept: list[Resource] = []
    for entry in entries:
        resource = entry["resource"]
        if resource["resourceType"] == "Provenance":
            kept.append(entry)
            continue
        text = json.dumps(resource)
        if entry["fullUrl"] in dropped or any(url in text for url in dropped):
            dropped.add(entry["fullUrl"])
        else:
            kept.append(entry)
    for entry in kept:
        if entry["resource"]["resourceType"] == "Provenance":
            targets = entry["resource"].get("target", [])
            entry["resource"]["target"] = [t for t in targets if t.get("reference") not in dropped]
    bundle["entry"] = kept
    return bundle


def hl7_example_bundle(
    bundle_type: str = "collection", *, samples_dir: Path | None = None
) -> Resource:
    """The HL7 R4 Encounter and DocumentReference examples, made to describe one visit.

    The published DocumentReference points at ``Patient/xcda`` and ``Encounter/xcda``; here it is
    re-pointed at the example Encounter and its patient (the HL7 example Patient, abridged).
    """
    encounter = load_sample("hl7-r4-Encounter-example.json", samples_dir)
    document = load_sample("hl7-r4-DocumentReference-example.json", samples_dir)
    patient: Resource = {
        "resourceType": "Patient",
        "id": "example",
        "identifier": [
            {"type": _MR_TYPE, "system": "urn:oid:1.2.36.146.595.217.0.1", "value": "12345"}
        ],
        "name": [{"use": "official", "family": "Chalmers", "given": ["Peter", "James"]}],
        "gender": "male",
        "birthDate": "1974-12-25",
    }
    document["subject"] = {"reference": "Patient/example"}
    document["context"]["encounter"] = [{"reference": "Encounter/example"}]
    document["context"]["sourcePatientInfo"] = {"reference": "Patient/example"}
    document["context"].pop("related", None)
    entries = [
        (f"{HL7_BASE}/{r['resourceType']}/{r['id']}", r) for r in (encounter, patient, document)
    ]
    return _bundle(bundle_type, entries)


def _note(code: str, encounter_id: str, day: datetime) -> str:
    title = LOINC_NOTES.get(code, "Clinical note")
    return (
        f"{title} — SANDBOX TEST DATA, NOT A REAL PATIENT\n"
        f"Encounter {encounter_id}, {day:%Y-%m-%d}\n\n"
        "Chief complaint: follow-up of chronic conditions.\n"
        "History: type 2 diabetes mellitus, on metformin; essential hypertension.\n"
        "Exam: BP 142/88. Feet: intact sensation, no ulcers.\n"
        "Labs: HbA1c 7.9% (prior 7.1%).\n"
        "Assessment: type 2 diabetes mellitus with hyperglycemia; essential hypertension.\n"
        "Plan: increase metformin, recheck HbA1c in 3 months.\n"
    )


def synthetic_bundle(
    *,
    encounter_id: str,
    patient_id: str,
    encounter_type: str = "AMB",
    specialty: str = "394802001",
    doc_types: Sequence[str] = ("11506-3",),
    payer_name: str = "Medicare Part B",
    payer_id: str = "MEDICARE",
    npi: str = "1234567893",
    period_start: datetime | None = None,
    charges: Decimal | None = Decimal("185.00"),
) -> Resource:
    """A fully synthetic transaction bundle (urn:uuid references, obviously fake people).

    ``period_start`` defaults to a day ago so demo charts age realistically.
    """
    start = period_start or (datetime.now(UTC) - timedelta(days=1)).replace(second=0, microsecond=0)
    payer_key = payer_id.lower()
    ids = {
        "patient": patient_id,
        "encounter": encounter_id,
        "prac": f"prac-{npi}",
        "clinic": "sandbox-clinic",
        "payer": f"payer-{payer_key}",
        "cov": f"cov-{patient_id}-{payer_key}",
    }
    urns = {key: f"urn:uuid:{uuid.uuid5(_SANDBOX_NS, value)}" for key, value in ids.items()}

    def ref(key: str) -> dict[str, str]:
        return {"reference": urns[key]}

    resources: dict[str, Resource] = {
        "patient": {
            "resourceType": "Patient",
            "identifier": [
                {"type": _MR_TYPE, "system": "urn:sandbox:mrn", "value": f"MRN-{patient_id}"}
            ],
            "name": [{"use": "official", "family": "Testpatient", "given": ["Sandbox"]}],
            "gender": "female",
            "birthDate": "1950-01-01",
            "address": [
                {"use": "home", "line": ["1 Sandbox Way"], "city": "Springfield", "state": "IL", "postalCode": "62701"}
            ],
        },
        "prac": {
            "resourceType": "Practitioner",
            "identifier": _npi(npi),
            "name": [{"family": "Testdoctor", "given": ["Sandbox"], "prefix": ["Dr."]}],
        },
        "clinic": {
            "resourceType": "Organization",
            "identifier": _npi(npi_with_check_digit("155555555")),
            "name": "Sandbox Clinic",
        },
        "payer": {
            "resourceType": "Organization",
            "identifier": [{"system": "urn:sandbox:payer-id", "value": payer_id}],
            "name": payer_name,
        },
        "cov": {
            "resourceType": "Coverage",
            "status": "active",
            "subscriberId": f"SBX{patient_id}",
            "beneficiary": ref("patient"),
            "payor": [ref("payer")],
            "class": [{"type": _concept(None, "plan"), "value": payer_id, "name": payer_name}],
        },
        "encounter": {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"system": ACT_CODE_SYSTEM, "code": encounter_type},
            "type": [_concept(SNOMED_SYSTEM, "185349003", "Encounter for check up")],
            "serviceType": _concept(SNOMED_SYSTEM, specialty),
            "subject": ref("patient"),
            "participant": [{"individual": ref("prac")}],
            "period": {
                "start": start.isoformat(),
                "end": (start + timedelta(minutes=30)).isoformat(),
            },
            "serviceProvider": ref("clinic"),
        },
    }
    entries = [(urns[key], {**res, "id": ids[key]}) for key, res in resources.items()]
    for position, code in enumerate(doc_types):
        doc_id = f"{encounter_id}-doc{position + 1}"
        note = _note(code, encounter_id, start).encode()
        attachment = {
            "contentType": "text/plain; charset=utf-8",
            "data": base64.b64encode(note).decode("ascii"),
        }
        document: Resource = {
            "resourceType": "DocumentReference",
            "id": doc_id,
            "status": "current",
            "type": _concept(LOINC_SYSTEM, code, LOINC_NOTES.get(code, "Clinical note")),
            "subject": ref("patient"),
            "date": (start + timedelta(minutes=45)).isoformat(),
            "content": [{"attachment": attachment}],
            "context": {"encounter": [ref("encounter")]},
        }
        entries.append((f"urn:uuid:{uuid.uuid5(_SANDBOX_NS, doc_id)}", document))
    if charges is not None:
        claim_id = f"{encounter_id}-charges"
        claim: Resource = {
            "resourceType": "Claim",
            "id": claim_id,
            "status": "active",
            "use": "claim",
            "patient": ref("patient"),
            "created": start.isoformat(),
            "provider": ref("clinic"),
            "item": [{"sequence": 1, "encounter": [ref("encounter")]}],
            "total": {"value": float(charges), "currency": "USD"},
        }
        entries.append((f"urn:uuid:{uuid.uuid5(_SANDBOX_NS, claim_id)}", claim))
    bundle = _bundle("transaction", entries)
    for entry in bundle["entry"]:
        entry["request"] = {"method": "POST", "url": entry["resource"]["resourceType"]}
    return bundle
