"""FHIR R4 Bundle → EncounterIntake, against the real public samples and crafted edge cases."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from integrations.ehr.bundle import parse_bundle
from integrations.ehr.errors import FhirValidationError
from integrations.ehr.schemas import EncounterIntake, PractitionerIn
from integrations.sandbox.bundles import FIXTURES_DIR, cerner_bundle, hl7_example_bundle

# The sandbox EHR's building blocks are the public samples themselves; the one sample it does
# not use lives with the test fixtures. Provenance of both: tests/fixtures/README.md.
SAMPLES = FIXTURES_DIR
OTHER_SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir"
NPI = "http://hl7.org/fhir/sid/us-npi"


def sample(name: str) -> dict[str, Any]:
    folder = SAMPLES if (SAMPLES / name).exists() else OTHER_SAMPLES
    data: dict[str, Any] = json.loads((folder / name).read_text())
    return data


def bundle(*resources: dict[str, Any], full_urls: list[str] | None = None) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [{"resource": r} for r in resources]
    for entry, url in zip(entries, full_urls or [], strict=False):
        entry["fullUrl"] = url
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def patient(pid: str = "p1", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, **extra}


def encounter(eid: str = "e1", subject: str = "Patient/p1", **extra: Any) -> dict[str, Any]:
    resource = {"resourceType": "Encounter", "id": eid, "status": "finished"}
    return resource | {"subject": {"reference": subject}} | extra


def note(
    encounter_ref: str = "Encounter/e1", doc_id: str | None = "d1", **attachment: Any
) -> dict[str, Any]:
    """A DocumentReference linked to one encounter, with an attachment built from kwargs."""
    resource: dict[str, Any] = {"resourceType": "DocumentReference", "status": "current"}
    if doc_id:
        resource["id"] = doc_id
    resource["context"] = {"encounter": [{"reference": encounter_ref}]}
    resource["content"] = [{"attachment": attachment}] if attachment else []
    return resource


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def problems_of(data: Any) -> list[str]:
    with pytest.raises(FhirValidationError) as caught:
        parse_bundle(data)
    assert str(caught.value) == "; ".join(caught.value.problems)
    return caught.value.problems


def only(intakes: list[EncounterIntake]) -> EncounterIntake:
    assert len(intakes) == 1
    return intakes[0]


@pytest.fixture(scope="module")
def intakes() -> list[EncounterIntake]:
    return parse_bundle(sample("synthea-Ha329_OHara248-bundle.json"))


class TestSyntheaSample:
    def test_every_encounter_is_parsed_in_order(self, intakes: list[EncounterIntake]) -> None:
        assert len(intakes) == 13
        assert intakes[0].external_id == "ffd8b565-648d-2232-bc35-22da9cb4ed7c"
        assert all(i.class_code == "AMB" and i.status == "finished" for i in intakes)
        assert intakes[0].type_codes == ("410620009",)
        assert intakes[0].type_display == "Well child visit (procedure)"

    def test_urn_uuid_subject_resolves_to_the_patient(self, intakes: list[EncounterIntake]) -> None:
        pat = intakes[0].patient
        assert pat.external_id == "4daed6be-02bd-98c6-0ac5-0e64ddd27492"
        assert pat.mrn == "4daed6be-02bd-98c6-0ac5-0e64ddd27492"  # the MR-typed identifier
        assert (pat.family, pat.given, pat.sex) == ("O'Hara248", "Ha329", "female")
        assert pat.birth_date == date(2017, 5, 23)

    def test_conditional_practitioner_reference_keeps_the_npi(
        self, intakes: list[EncounterIntake]
    ) -> None:
        assert intakes[0].practitioners == (
            PractitionerIn(external_id=None, npi="9999963859", name="Dr. Cira533 Tromp100"),
        )

    def test_conditional_organization_reference_keeps_the_display(
        self, intakes: list[EncounterIntake]
    ) -> None:
        org = intakes[0].organization
        assert org is not None
        assert (org.external_id, org.name) == (
            None,
            "SOUTH SHORE SPORTS AND MUSCULAR THERAPY, INC.",
        )

    def test_coverage_comes_from_the_eob_for_that_encounter(
        self, intakes: list[EncounterIntake]
    ) -> None:
        assert intakes[0].coverage is not None
        assert intakes[0].coverage.payer_name == "Medicaid"

    def test_each_encounter_gets_its_own_inline_note(self, intakes: list[EncounterIntake]) -> None:
        assert all(len(i.documents) == 1 for i in intakes)
        doc = intakes[0].documents[0]
        assert doc.external_id == "d0601bda-92b2-beaa-e614-f85d2bb7df43"
        assert (doc.type_code, doc.type_display) == ("34117-2", "History and physical note")
        assert doc.text is not None
        assert doc.text.startswith("\n2017-05-23\n\n# Chief Complaint")
        assert doc.sha256 == hashlib.sha256(doc.text.encode()).hexdigest()
        assert doc.created == datetime(2017, 5, 23, 3, 6, 39, 133000, tzinfo=UTC)
        assert len({i.documents[0].sha256 for i in intakes}) == 13

    def test_period_is_timezone_aware(self, intakes: list[EncounterIntake]) -> None:
        assert intakes[0].period_start == datetime(2017, 5, 23, 3, 6, 39, tzinfo=UTC)
        assert intakes[0].period_end == datetime(2017, 5, 23, 3, 21, 39, tzinfo=UTC)


class TestCernerSamples:
    def test_sandbox_bundle_from_the_samples_resolves_relative_references(self) -> None:
        intake = only(parse_bundle(cerner_bundle(samples_dir=SAMPLES)))
        assert intake.external_id == "97939518"
        assert (intake.class_code, intake.type_codes) == ("IMP", ("309308", "I"))
        assert intake.specialty == "700232004"  # SNOMED preferred over the Cerner code set
        assert intake.patient.external_id == "12724066"
        assert [p.external_id for p in intake.practitioners] == ["4122622", "12732065", "12724045"]
        assert all(p.npi for p in intake.practitioners)
        assert intake.organization is not None
        assert intake.organization.external_id == "675844"
        assert intake.coverage is not None
        assert intake.coverage.external_id == "7546D"
        assert intake.coverage.member_id == "AB9876"
        assert intake.coverage.payer_id == "WESTAIR01"
        (doc,) = intake.documents
        assert (doc.content_type, doc.text, doc.title) == ("application/pdf", None, "test1")
        assert doc.url is not None
        assert doc.sha256 == hashlib.sha256(doc.url.encode()).hexdigest()

    def test_raw_samples_link_the_document_to_nothing(self) -> None:
        # As published, the DocumentReference belongs to Encounter/97966172, not this one.
        enc = sample("cerner-r4-Encounter-97939518.json")
        doc = sample("cerner-r4-DocumentReference-198381924.json")
        intake = only(parse_bundle(bundle(enc, patient("12724066"), doc)))
        assert intake.documents == ()
        # Practitioners are not in the bundle: ids and displays are kept, once each.
        assert [(p.external_id, p.name) for p in intake.practitioners] == [
            ("4122622", "Cerner Test, Physician - Hospitalist Cerner"),
            ("12732065", "PWDiabetesMe, Physician - Hospitalist"),
            ("12724045", "Graham, Joshua"),
        ]
        assert intake.organization is not None
        assert intake.organization.external_id == "675844"

    def test_raw_coverage_for_another_patient_is_not_attached(self) -> None:
        enc = sample("cerner-r4-Encounter-97939518.json")
        cov = sample("hl7-r4-Coverage-7546D.json")  # beneficiary Patient/5
        assert only(parse_bundle(bundle(enc, patient("12724066"), cov))).coverage is None


class TestHl7Samples:
    def test_example_bundle_links_document_and_keeps_the_sha1(self) -> None:
        intake = only(parse_bundle(hl7_example_bundle(samples_dir=SAMPLES)))
        assert (intake.external_id, intake.status, intake.class_code) == (
            "example",
            "in-progress",
            "IMP",
        )
        assert intake.patient.mrn == "12345"
        assert intake.patient.given == "Peter James"
        (doc,) = intake.documents
        assert doc.attachment_hash == "2jmj7l5rSw0yVb/vlWAYkK/YBwk="
        assert doc.created == datetime(2005, 12, 24, 9, 35, tzinfo=timezone(timedelta(hours=11)))

    @pytest.mark.parametrize(
        "bundle_type", ["transaction", "batch", "message", "searchset", "document"]
    )
    def test_accepted_bundle_types(self, bundle_type: str) -> None:
        assert len(parse_bundle(hl7_example_bundle(bundle_type))) == 1

    def test_raw_encounter_example_needs_its_patient(self) -> None:
        problems = problems_of(bundle(sample("hl7-r4-Encounter-example.json")))
        assert problems == [
            "entry[0].resource.subject: reference 'Patient/example' does not resolve inside the "
            "bundle; include the Patient as an entry"
        ]


class TestReferences:
    def test_relative_reference_matches_a_full_url_ending_in_it(self) -> None:
        # A POSTed resource may omit its id; the absolute fullUrl still names it.
        data = bundle(
            encounter(),
            {"resourceType": "Patient"},
            full_urls=["", "https://ehr.test/fhir/Patient/p1"],
        )
        assert only(parse_bundle(data)).patient.external_id == "p1"

    def test_resource_without_any_id_cannot_be_the_subject(self) -> None:
        data = bundle(
            encounter(subject="urn:uuid:p"),
            {"resourceType": "Patient"},
            full_urls=["", "urn:uuid:p"],
        )
        assert problems_of(data) == ["entry[1].resource (Patient): id is required"]

    def test_absolute_reference_matches_type_and_id(self) -> None:
        data = bundle(encounter(subject="https://ehr.test/fhir/Patient/p1/_history/3"), patient())
        assert only(parse_bundle(data)).patient.external_id == "p1"

    def test_absolute_full_url_is_matched_exactly(self) -> None:
        url = "https://ehr.test/fhir/Patient/p1"
        data = bundle(encounter(subject=url), patient(), full_urls=["", url])
        assert only(parse_bundle(data)).patient.external_id == "p1"

    def test_conditional_reference_resolves_to_an_inline_practitioner(self) -> None:
        doc = {
            "resourceType": "Practitioner",
            "id": "dr1",
            "identifier": [{"system": NPI, "value": "1234567893"}],
            "name": [{"family": "Testdoctor", "given": ["Ann"]}],
        }
        enc = encounter(
            participant=[{"individual": {"reference": f"Practitioner?identifier={NPI}|1234567893"}}]
        )
        intake = only(parse_bundle(bundle(enc, patient(), doc)))
        assert intake.practitioners == (PractitionerIn("dr1", "1234567893", "Ann Testdoctor", "Testdoctor", "Ann"),)

    def test_practitioner_role_contributes_practitioner_and_specialty(self) -> None:
        role = {
            "resourceType": "PractitionerRole",
            "id": "r1",
            "practitioner": {"reference": "Practitioner/dr1"},
            "specialty": [{"coding": [{"system": "http://snomed.info/sct", "code": "394579002"}]}],
        }
        doc = {"resourceType": "Practitioner", "id": "dr1", "name": [{"text": "Dr Ann Testdoctor"}]}
        enc = encounter(participant=[{"individual": {"reference": "PractitionerRole/r1"}}])
        intake = only(parse_bundle(bundle(enc, patient(), role, doc)))
        assert intake.practitioners == (PractitionerIn("dr1", None, "Dr Ann Testdoctor"),)
        assert intake.specialty == "394579002"

    def test_non_practitioner_participants_are_ignored(self) -> None:
        enc = encounter(participant=[{"individual": {"reference": "RelatedPerson/rp1"}}])
        assert only(parse_bundle(bundle(enc, patient()))).practitioners == ()

    def test_contained_coverage_on_a_claim_for_the_encounter(self) -> None:
        contained = {
            "resourceType": "Coverage",
            "id": "c",
            "status": "active",
            "subscriberId": "M1",
            "payor": [{"display": "Acme Health", "identifier": {"value": "ACME"}}],
        }
        eob = {
            "resourceType": "ExplanationOfBenefit",
            "id": "x",
            "contained": [contained],
            "insurance": [{"focal": True, "coverage": {"reference": "#c"}}],
            "item": [{"encounter": [{"reference": "Encounter/e1"}]}],
        }
        coverage = only(parse_bundle(bundle(encounter(), patient(), eob))).coverage
        assert coverage is not None
        assert coverage.external_id is None
        assert (coverage.payer_id, coverage.payer_name, coverage.member_id) == (
            "ACME",
            "Acme Health",
            "M1",
        )

    def test_inactive_coverage_is_skipped(self) -> None:
        old = {
            "resourceType": "Coverage",
            "id": "old",
            "status": "cancelled",
            "beneficiary": {"reference": "Patient/p1"},
        }
        new = {
            "resourceType": "Coverage",
            "id": "new",
            "status": "active",
            "beneficiary": {"reference": "Patient/p1"},
        }
        coverage = only(parse_bundle(bundle(encounter(), patient(), old, new))).coverage
        assert coverage is not None
        assert coverage.external_id == "new"

    def test_mrn_falls_back_to_system_then_first_identifier(self) -> None:
        by_system = patient(
            identifier=[{"system": "urn:x", "value": "A"}, {"system": "urn:acme:mrn", "value": "B"}]
        )
        first = patient(identifier=[{"system": "urn:x", "value": "A"}])
        assert only(parse_bundle(bundle(encounter(), by_system))).patient.mrn == "B"
        assert only(parse_bundle(bundle(encounter(), first))).patient.mrn == "A"


class TestTolerantValues:
    @pytest.mark.parametrize(
        ("raw", "parsed"),
        [
            ("2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),
            ("2024-03", datetime(2024, 3, 1, tzinfo=UTC)),
            ("2024-03-01T09:30Z", datetime(2024, 3, 1, 9, 30, tzinfo=UTC)),
            ("2024-03-01T09:30:15", datetime(2024, 3, 1, 9, 30, 15, tzinfo=UTC)),
            ("2024-03-01T09:30:15.123-05:00", datetime(2024, 3, 1, 14, 30, 15, 123000, tzinfo=UTC)),
        ],
    )
    def test_period_start_forms(self, raw: str, parsed: datetime) -> None:
        intake = only(parse_bundle(bundle(encounter(period={"start": raw}), patient())))
        assert intake.period_start == parsed
        assert intake.period_start is not None
        assert intake.period_start.tzinfo is not None

    def test_unused_resource_types_are_ignored(self) -> None:
        claim = sample("hl7-r4-Claim-MED-00050.json")
        imm = {"resourceType": "Immunization", "status": "completed"}
        assert only(parse_bundle(bundle(encounter(), patient(), claim, imm))).coverage is None

    def test_r5_style_encounter_class_and_document_context(self) -> None:
        r5_note = note(data=b64(b"hi")) | {"context": [{"reference": "Encounter/e1"}]}
        enc = encounter() | {"class": [{"coding": [{"code": "AMB"}]}]}
        intake = only(parse_bundle(bundle(enc, patient(), r5_note)))
        assert intake.class_code == "AMB"
        assert intake.documents[0].text == "hi"


class TestProblems:
    @pytest.mark.parametrize(
        ("data", "problem"),
        [
            ([], "Bundle must be a JSON object, got list"),
            ("{}", "Bundle must be a JSON object, got str"),
            (
                sample("hl7-r4-Encounter-example.json") | {"resourceType": "Patient"},
                "resourceType must be 'Bundle', got 'Patient'",
            ),
            ({"resourceType": "Bundle", "type": "collection"}, "Bundle has no entry"),
            ({"resourceType": "Bundle", "type": "collection", "entry": []}, "Bundle has no entry"),
        ],
    )
    def test_envelope_problems(self, data: Any, problem: str) -> None:
        assert problems_of(data)[0].startswith(problem)

    def test_bundle_without_encounter(self) -> None:
        assert problems_of(bundle(patient())) == ["Bundle contains no Encounter"]

    def test_unsupported_bundle_type(self) -> None:
        data = bundle(encounter(), patient()) | {"type": "history"}
        assert problems_of(data) == [
            "type must be one of batch, collection, document, message, searchset, transaction; "
            "got 'history'"
        ]

    def test_all_problems_are_collected_with_paths(self) -> None:
        bad_doc = note("Encounter/e2", contentType="text/plain", data="%%not base64%%")
        data = bundle(
            {
                "resourceType": "Encounter",
                "status": "finished",
                "subject": {"reference": "Patient/p1"},
            },
            encounter("e2", subject="Patient/missing"),
            encounter("e3", subject=""),
            patient(birthDate="1990-02-30", gender="F"),
            bad_doc,
            encounter("e4", period={"start": "2024-13-01", "end": "yesterday"}),
            {},  # replaced by a non-object entry below
            {"id": "x"},
        )
        data["entry"][6] = "not an entry"
        assert problems_of(data) == [
            "entry[6]: must be an object",
            "entry[7].resource: resourceType is required",
            "entry[4].resource.content[0].attachment.data: not valid base64",
            "entry[0].resource (Encounter): id is required",
            "entry[3].resource.gender: must be one of female, male, other, unknown; got 'F'",
            "entry[3].resource.birthDate: '1990-02-30' is not a valid FHIR date (expected YYYY-MM-DD)",
            "entry[1].resource.subject: reference 'Patient/missing' does not resolve inside the "
            "bundle; include the Patient as an entry",
            "entry[2].resource (Encounter/e3): subject is required (a reference to the Patient)",
            "entry[5].resource.period.start: '2024-13-01' is not a valid FHIR dateTime "
            "(expected e.g. 2024-03-01T09:30:00Z)",
            "entry[5].resource.period.end: 'yesterday' is not a valid FHIR dateTime "
            "(expected e.g. 2024-03-01T09:30:00Z)",
        ]

    def test_subject_that_is_not_a_patient(self) -> None:
        data = bundle(encounter(subject="Group/g1"), {"resourceType": "Group", "id": "g1"})
        assert problems_of(data) == [
            "entry[0].resource.subject: reference 'Group/g1' is a Group, expected Patient"
        ]

    def test_unresolved_urn_references_are_problems(self) -> None:
        enc = encounter(participant=[{"individual": {"reference": "urn:uuid:0000"}}])
        dangling = note("urn:uuid:1111", data=b64(b"x"))
        assert problems_of(bundle(enc, patient(), dangling)) == [
            "entry[2].resource.context.encounter[0]: reference 'urn:uuid:1111' does not resolve inside the bundle",
            "entry[0].resource.participant[0].individual: reference 'urn:uuid:0000' does not resolve inside the bundle",
        ]

    def test_encounter_status_and_duplicate_ids(self) -> None:
        first = encounter()
        del first["status"]
        problems = problems_of(bundle(first, encounter(), patient()))
        assert problems == [
            "entry[0].resource (Encounter/e1): status is required",
            "entry[1].resource: duplicate Encounter id 'e1' (also entry[0].resource)",
        ]

    def test_period_end_before_start(self) -> None:
        enc = encounter(period={"start": "2024-03-02", "end": "2024-03-01"})
        assert problems_of(bundle(enc, patient())) == [
            "entry[0].resource.period: end 2024-03-01T00:00:00+00:00 is before start 2024-03-02T00:00:00+00:00"
        ]

    def test_document_needs_content_id_and_status(self) -> None:
        bare = note(doc_id=None) | {"status": None}
        assert problems_of(bundle(encounter(), patient(), bare)) == [
            "entry[2].resource (DocumentReference): id is required",
            "entry[2].resource (DocumentReference): status is required",
            "entry[2].resource (DocumentReference): content needs an attachment with data or url",
        ]

    def test_text_that_does_not_match_its_charset(self) -> None:
        latin = note(contentType="text/plain; charset=utf-8", data=b64(b"\xff\xfe"))
        assert problems_of(bundle(encounter(), patient(), latin)) == [
            "entry[2].resource.content[0].attachment.data: declared 'text/plain; charset=utf-8' "
            "but is not valid utf-8 text"
        ]

    def test_input_is_not_mutated(self) -> None:
        data = cerner_bundle()
        before = copy.deepcopy(data)
        parse_bundle(data)
        assert data == before
