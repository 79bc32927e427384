"""Sandbox EHR: bundle builders over the real samples, signed pushes, FHIR reads over HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from standardwebhooks.webhooks import Webhook

from integrations.ehr.bundle import parse_bundle
from integrations.ehr.errors import FhirValidationError, WebhookVerificationError
from integrations.ehr.signing import generate_secret, verify
from integrations.sandbox.bundles import (
    FIXTURES_DIR,
    cerner_bundle,
    hl7_example_bundle,
    npi_with_check_digit,
    synthea_bundle,
    synthetic_bundle,
)
from integrations.sandbox.ehr import create_app, push_bundle

SAMPLES = FIXTURES_DIR  # the public samples, provenance in tests/fixtures/README.md
START = datetime(2024, 1, 15, 9, 30, tzinfo=UTC)


def urn_references(data: Any) -> set[str]:
    return set(re.findall(r'"reference": "(urn:uuid:[^"]+)"', json.dumps(data)))


class TestCernerBundle:
    def test_samples_dir_is_honoured(self, tmp_path: Path) -> None:
        for source in SAMPLES.glob("*.json"):
            (tmp_path / source.name).write_bytes(source.read_bytes())
        assert cerner_bundle() == cerner_bundle(samples_dir=tmp_path)
        (tmp_path / "cerner-r4-Encounter-97939518.json").unlink()
        with pytest.raises(FileNotFoundError):
            cerner_bundle(samples_dir=tmp_path)

    def test_fresh_encounter_id_renames_encounter_and_document(self) -> None:
        intake = parse_bundle(cerner_bundle("enc-test-1"))[0]
        assert intake.external_id == "enc-test-1"
        assert [d.external_id for d in intake.documents] == ["198381924-enc-test-1"]

    def test_without_document(self) -> None:
        data = cerner_bundle(with_document=False)
        types = [e["resource"]["resourceType"] for e in data["entry"]]
        assert "DocumentReference" not in types
        assert parse_bundle(data)[0].documents == ()

    def test_builders_return_independent_copies(self) -> None:
        first = cerner_bundle()
        first["entry"][0]["resource"]["id"] = "changed"
        assert cerner_bundle()["entry"][0]["resource"]["id"] == "97939518"


class TestSyntheaBundle:
    def test_untrimmed_is_the_sample(self) -> None:
        assert synthea_bundle() == json.loads(
            (SAMPLES / "synthea-Ha329_OHara248-bundle.json").read_text()
        )

    @pytest.mark.parametrize("keep", [1, 3, 13])
    def test_trimmed_keeps_the_first_encounters_and_no_dangling_urns(self, keep: int) -> None:
        data = synthea_bundle(keep, samples_dir=SAMPLES)
        full_urls = {e["fullUrl"] for e in data["entry"]}
        assert urn_references(data) <= full_urls
        intakes = parse_bundle(data)
        assert len(intakes) == keep
        assert all(len(i.documents) == 1 for i in intakes)
        assert intakes[0].external_id == "ffd8b565-648d-2232-bc35-22da9cb4ed7c"

    def test_trimming_drops_claims_and_immunizations_of_dropped_encounters(self) -> None:
        types = [e["resource"]["resourceType"] for e in synthea_bundle(1)["entry"]]
        assert types.count("Encounter") == 1
        assert types.count("Claim") == types.count("ExplanationOfBenefit") == 1
        assert types.count("Immunization") < 27


class TestHl7ExampleBundle:
    def test_document_is_repointed_at_the_example_encounter(self) -> None:
        intake = parse_bundle(hl7_example_bundle(samples_dir=SAMPLES))[0]
        assert intake.patient.external_id == "example"
        assert [d.external_id for d in intake.documents] == ["example"]


class TestSyntheticBundle:
    def make(self, **overrides: Any) -> dict[str, Any]:
        args: dict[str, Any] = {
            "encounter_id": "enc-9",
            "patient_id": "pat-9",
            "period_start": START,
        }
        return synthetic_bundle(**(args | overrides))

    def test_parses_with_every_part_linked(self) -> None:
        intake = parse_bundle(self.make())[0]
        assert (intake.external_id, intake.class_code, intake.specialty) == (
            "enc-9",
            "AMB",
            "394802001",
        )
        assert intake.patient.family == "Testpatient"
        assert intake.practitioners[0].npi == "1234567893"
        assert intake.coverage is not None
        assert (intake.coverage.payer_id, intake.coverage.payer_name) == (
            "MEDICARE",
            "Medicare Part B",
        )
        assert intake.organization is not None
        assert intake.organization.name == "Sandbox Clinic"
        assert intake.period_start == START
        (doc,) = intake.documents
        assert doc.type_code == "11506-3"
        assert doc.text is not None
        assert "NOT A REAL PATIENT" in doc.text

    def test_options_flow_through(self) -> None:
        data = self.make(
            encounter_type="EMER",
            specialty="773568002",
            doc_types=["34111-5", "28570-0"],
            payer_name="Acme Health",
            payer_id="ACME1",
            npi="1000000004",
        )
        intake = parse_bundle(data)[0]
        assert (intake.class_code, intake.specialty) == ("EMER", "773568002")
        assert [d.type_code for d in intake.documents] == ["34111-5", "28570-0"]
        assert intake.coverage is not None
        assert intake.coverage.payer_id == "ACME1"
        assert intake.practitioners[0].npi == "1000000004"

    def test_is_deterministic_and_uses_urn_uuid_references(self) -> None:
        data = self.make()
        assert data == self.make()
        assert data["type"] == "transaction"
        assert urn_references(data) <= {e["fullUrl"] for e in data["entry"]}

    def test_two_encounters_of_one_patient_share_the_patient_only(self) -> None:
        a, b = parse_bundle(self.make())[0], parse_bundle(self.make(encounter_id="enc-10"))[0]
        assert a.patient == b.patient
        assert a.documents[0].external_id != b.documents[0].external_id

    def test_defaults_to_a_recent_visit(self) -> None:
        intake = parse_bundle(synthetic_bundle(encounter_id="e", patient_id="p"))[0]
        assert intake.period_start is not None
        assert (datetime.now(UTC) - intake.period_start).days <= 1

    @pytest.mark.parametrize(
        ("base", "npi"), [("123456789", "1234567893"), ("100000000", "1000000004")]
    )
    def test_npi_check_digit(self, base: str, npi: str) -> None:
        assert npi_with_check_digit(base) == npi


def receiver(secret: str, seen: list[str]) -> FastAPI:
    """Stand-in for our webhook endpoint: verify, parse, answer like the public contract."""
    app = FastAPI()

    @app.post("/v1/webhooks/ehr")
    async def receive(request: Request) -> Response:
        body = await request.body()
        try:
            msg_id = verify(secret, request.headers, body, now=datetime.now(UTC))
            intakes = parse_bundle(json.loads(body))
        except WebhookVerificationError as exc:
            return Response(exc.detail, status_code=401)
        except FhirValidationError as exc:
            return Response(str(exc), status_code=422)
        seen.append(msg_id)
        assert request.headers["content-type"] == "application/fhir+json"
        return Response(json.dumps([i.external_id for i in intakes]), status_code=202)

    return app


class TestPushBundle:
    async def test_signed_push_is_accepted(self) -> None:
        secret, seen = generate_secret(), list[str]()
        transport = httpx.ASGITransport(app=receiver(secret, seen))
        async with httpx.AsyncClient(transport=transport, base_url="http://ehr.test") as client:
            response = await push_bundle(
                client, "/v1/webhooks/ehr", secret, cerner_bundle(), "msg_1"
            )
        assert response.status_code == 202
        assert response.json() == ["97939518"]
        assert seen == ["msg_1"]

    async def test_reference_package_verifies_the_push(self) -> None:
        secret, captured = generate_secret(), []

        def handler(request: httpx.Request) -> httpx.Response:
            captured.append(request)
            return httpx.Response(202)

        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            await push_bundle(client, "http://ours.test/hook", secret, hl7_example_bundle())
        (request,) = captured
        assert request.headers["webhook-id"].startswith("msg_")
        payload = Webhook(secret).verify(request.content, dict(request.headers))
        assert payload == hl7_example_bundle()

    async def test_push_with_another_secret_is_refused(self) -> None:
        transport = httpx.ASGITransport(app=receiver(generate_secret(), []))
        async with httpx.AsyncClient(transport=transport, base_url="http://ehr.test") as client:
            response = await push_bundle(
                client, "/v1/webhooks/ehr", generate_secret(), cerner_bundle()
            )
        assert response.status_code == 401
        assert "no matching signature" in response.text


class TestFhirServer:
    @pytest.fixture
    async def client(self) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
            yield client

    async def test_capability_statement_lists_served_types(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/fhir/r4/metadata")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/fhir+json")
        body = response.json()
        assert body["resourceType"] == "CapabilityStatement"
        assert body["fhirVersion"] == "4.0.1"
        served = {r["type"] for r in body["rest"][0]["resource"]}
        assert {"Encounter", "Patient", "Practitioner", "DocumentReference", "Coverage"} <= served

    @pytest.mark.parametrize(
        "path",
        [
            "Encounter/97939518",
            "Patient/12724066",
            "Practitioner/4122622",
            "Encounter/ffd8b565-648d-2232-bc35-22da9cb4ed7c",
            "DocumentReference/example",
        ],
    )
    async def test_reads_fixture_resources(self, client: httpx.AsyncClient, path: str) -> None:
        response = await client.get(f"/fhir/r4/{path}")
        assert response.status_code == 200
        resource = response.json()
        assert f"{resource['resourceType']}/{resource['id']}" == path

    async def test_unknown_id_is_an_operation_outcome(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/fhir/r4/Patient/nope")
        assert response.status_code == 404
        assert response.json()["issue"][0]["code"] == "not-found"

    async def test_unknown_type_is_not_supported(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/fhir/r4/Medication/1")
        assert response.status_code == 404
        assert response.json()["issue"][0]["code"] == "not-supported"

    async def test_serves_given_resources(self) -> None:
        app = create_app([{"resourceType": "Patient", "id": "only"}])
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://s"
        ) as c:
            assert (await c.get("/fhir/r4/Patient/only")).status_code == 200
            assert (await c.get("/fhir/r4/Patient/12724066")).status_code == 404


class TestSyntheticCharges:
    def test_the_ehr_claim_total_becomes_the_encounters_charges(self) -> None:
        found = parse_bundle(synthetic_bundle(encounter_id="chg-1", patient_id="pt-chg"))
        assert found[0].charges_cents == 18500
        assert parse_bundle(synthetic_bundle(encounter_id="chg-2", patient_id="pt-chg", charges=None))[0].charges_cents is None
