"""A sandbox EHR that speaks the real protocols: signed webhook pushes and FHIR R4 reads.

The demo and the end-to-end tests drive our intake through this over HTTP, so they exercise
the same signature check and FHIR parsing a real EHR integration would.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from integrations.ehr.signing import signed_headers
from integrations.sandbox.bundles import (
    cerner_bundle,
    hl7_example_bundle,
    synthea_bundle,
    synthetic_bundle,
)

FHIR_JSON = "application/fhir+json"


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


async def push_bundle(
    client: httpx.AsyncClient,
    url: str,
    secret: str,
    bundle: dict[str, Any],
    msg_id: str | None = None,
) -> httpx.Response:
    """POST a bundle signed per Standard Webhooks; reuse ``msg_id`` to simulate a redelivery."""
    body = json.dumps(bundle, separators=(",", ":")).encode()
    headers = signed_headers(secret, msg_id or f"msg_{uuid.uuid4().hex}", body)
    headers["content-type"] = FHIR_JSON
    return await client.post(url, content=body, headers=headers)


def default_resources() -> list[dict[str, Any]]:
    """Every resource in the sandbox bundles, so each reference they carry can be read back."""
    bundles = [
        cerner_bundle(),
        hl7_example_bundle(),
        synthea_bundle(),
        synthetic_bundle(
            encounter_id="sandbox-enc-1",
            patient_id="sandbox-pat-1",
            period_start=datetime(2024, 1, 15, 9, 30, tzinfo=UTC),
        ),
    ]
    return [entry["resource"] for bundle in bundles for entry in bundle["entry"]]


def _outcome(code: str, diagnostics: str) -> dict[str, Any]:
    issue = {"severity": "error", "code": code, "diagnostics": diagnostics}
    return {"resourceType": "OperationOutcome", "issue": [issue]}


WRITABLE = ("DocumentReference",)


def create_app(resources: Iterable[dict[str, Any]] | None = None) -> FastAPI:
    """A FHIR R4 server over ``resources`` (the fixture resources by default) that also stores
    the DocumentReferences ClearChart writes back (PUT, update-as-create) and searches them."""
    store: dict[tuple[str, str], dict[str, Any]] = {}
    for resource in default_resources() if resources is None else resources:
        if resource.get("resourceType") and resource.get("id"):
            store.setdefault((resource["resourceType"], resource["id"]), resource)
    types = sorted({rtype for rtype, _ in store} | set(WRITABLE))
    app = FastAPI(title="ClearChart sandbox EHR", docs_url=None, redoc_url=None)

    @app.get("/fhir/r4/metadata", response_class=FhirResponse)
    async def metadata() -> FhirResponse:
        return FhirResponse(
            {
                "resourceType": "CapabilityStatement",
                "status": "active",
                "date": "2024-01-01",
                "kind": "instance",
                "software": {"name": "ClearChart sandbox EHR"},
                "fhirVersion": "4.0.1",
                "format": ["json"],
                "rest": [
                    {
                        "mode": "server",
                        "resource": [
                            {"type": rtype, "interaction": [{"code": "read"}]} for rtype in types
                        ],
                    }
                ],
            }
        )

    @app.put("/fhir/r4/{resource_type}/{resource_id}", response_class=FhirResponse)
    async def update(resource_type: str, resource_id: str, request: Request) -> FhirResponse:
        if resource_type not in WRITABLE:
            return FhirResponse(_outcome("not-supported", f"{resource_type} is read-only here"), status_code=405)
        try:
            resource = json.loads(await request.body())
        except ValueError:
            return FhirResponse(_outcome("structure", "the body is not JSON"), status_code=400)
        if not isinstance(resource, dict) or resource.get("resourceType") != resource_type or resource.get("id") != resource_id:
            return FhirResponse(_outcome("invalid", "resourceType and id must match the URL"), status_code=400)
        created = (resource_type, resource_id) not in store
        version = 1 if created else int(store[(resource_type, resource_id)]["meta"]["versionId"]) + 1
        resource["meta"] = {"versionId": str(version), "lastUpdated": datetime.now(UTC).isoformat()}
        store[(resource_type, resource_id)] = resource
        return FhirResponse(resource, status_code=201 if created else 200)

    @app.get("/fhir/r4/DocumentReference", response_class=FhirResponse)
    async def search_documents(encounter: str | None = None) -> FhirResponse:
        found = [
            r for (rtype, _), r in store.items()
            if rtype == "DocumentReference"
            and (encounter is None or any(e.get("reference") == encounter for e in r.get("context", {}).get("encounter", [])))
        ]  # fmt: skip
        entries = [{"fullUrl": f"DocumentReference/{r['id']}", "resource": r, "search": {"mode": "match"}} for r in found]
        return FhirResponse({"resourceType": "Bundle", "type": "searchset", "total": len(found), "entry": entries})

    @app.get("/fhir/r4/{resource_type}/{resource_id}", response_class=FhirResponse)
    async def read(resource_type: str, resource_id: str) -> FhirResponse:
        if resource_type not in types:
            return FhirResponse(
                _outcome("not-supported", f"resource type {resource_type!r} is not served here"),
                status_code=404,
            )
        found = store.get((resource_type, resource_id))
        if found is None:
            return FhirResponse(
                _outcome("not-found", f"{resource_type}/{resource_id} is not known"),
                status_code=404,
            )
        return FhirResponse(found)

    return app
