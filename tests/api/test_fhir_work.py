"""The FHIR R4 view of the work (Task, CommunicationRequest, Communication), validated with
fhir.resources, and query answers written back to a real (sandbox) EHR as DocumentReferences."""

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest_asyncio
import uvicorn
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.communicationrequest import CommunicationRequest
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.task import Task

from clearchart.embedded import free_port
from integrations.sandbox.ehr import create_app as create_sandbox_ehr
from tests.support import LiveStack, Tenant, eventually, make_tenant, started

NPI = "1234567893"
QUESTION = "Based on your clinical judgment, please clarify the type of diabetes being treated."
ADDENDUM = "Addendum: type 2 diabetes mellitus with hyperglycemia."
VALIDATORS: dict[str, Any] = {"Task": Task, "Communication": Communication, "CommunicationRequest": CommunicationRequest}


@pytest_asyncio.fixture(loop_scope="session")
async def ehr() -> AsyncIterator[str]:
    """The sandbox EHR on a real port; yields its FHIR base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_sandbox_ehr([]), host="127.0.0.1", port=port, log_config=None))
    serving = asyncio.create_task(server.serve())
    await started(server, serving)
    yield f"http://127.0.0.1:{port}/fhir/r4"
    server.should_exit = True
    await serving


@pytest_asyncio.fixture(loop_scope="session")
async def worked(live: LiveStack, http: httpx.AsyncClient, ehr: str) -> tuple[Tenant, dict[str, Any], dict[str, Any], str]:
    """A tenant with two encounters: one waiting, one claimed with a query answered (with an addendum)."""
    tenant = await make_tenant(live, http, ehr_fhir_base_url=ehr)
    waiting = await tenant.new_encounter()
    claimed = await tenant.new_encounter()
    chart = (await tenant.post("/v1/queues/q1/claim", "coder")).json()
    assert chart["id"] == waiting["id"]  # the oldest first
    query = {"physician_npi": NPI, "question": QUESTION, "indicators": [{"document_id": chart["documents"][0]["id"], "excerpt": "HbA1c 7.9%"}]}
    raised = await tenant.post(f"/v1/encounters/{chart['id']}/queries", "coder", json=query)
    assert raised.status_code == 201, raised.text
    query_id = raised.json()["id"]
    answered = await tenant.post(f"/v1/queries/{query_id}/answer", "physician", json={"free_text": "Type 2, with hyperglycemia.", "addendum": ADDENDUM})
    assert answered.status_code == 200, answered.text
    return tenant, waiting, claimed, query_id


def bundle(r: httpx.Response) -> dict[str, Any]:
    """A valid R4 searchset whose every resource is valid too."""
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    body: dict[str, Any] = r.json()
    Bundle.model_validate(body)
    assert body["type"] == "searchset"
    for entry in body["entry"]:
        VALIDATORS[entry["resource"]["resourceType"]].model_validate(entry["resource"])
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in body["entry"]]


class TestTaskSearch:
    async def test_coding_work_and_queries_are_tasks(self, worked: tuple[Tenant, dict[str, Any], dict[str, Any], str]) -> None:
        tenant, waiting, claimed, query_id = worked
        body = bundle(await tenant.get("/fhir/R4/Task", "ops"))
        assert sorted(ids(body)) == sorted([f"coding-{waiting['id']}", f"coding-{claimed['id']}", f"query-{query_id}"])
        assert body["total"] == 3
        tasks = {e["resource"]["id"]: e["resource"] for e in body["entry"]}
        mine = tasks[f"coding-{waiting['id']}"]
        assert (mine["status"], mine["owner"]["identifier"]["value"]) == ("in-progress", "coder-1")
        assert mine["encounter"]["identifier"]["value"] == waiting["external_id"]
        assert tasks[f"coding-{claimed['id']}"]["status"] == "ready"
        q = tasks[f"query-{query_id}"]
        assert (q["status"], q["owner"]["identifier"]["value"], q["focus"]["reference"]) == ("completed", NPI, f"CommunicationRequest/{query_id}")

    async def test_search_by_status_owner_encounter_and_last_updated(self, worked: tuple[Tenant, dict[str, Any], dict[str, Any], str]) -> None:
        tenant, waiting, claimed, query_id = worked
        assert ids(bundle(await tenant.get("/fhir/R4/Task?status=ready", "ops"))) == [f"coding-{claimed['id']}"]
        assert sorted(ids(bundle(await tenant.get("/fhir/R4/Task?status=ready,completed", "ops")))) == sorted([f"coding-{claimed['id']}", f"query-{query_id}"])
        assert ids(bundle(await tenant.get("/fhir/R4/Task?owner=coder-1", "ops"))) == [f"coding-{waiting['id']}"]
        assert ids(bundle(await tenant.get(f"/fhir/R4/Task?owner=Practitioner/{NPI}", "ops"))) == [f"query-{query_id}"]
        by_encounter = bundle(await tenant.get(f"/fhir/R4/Task?encounter=Encounter/{waiting['id']}", "ops"))
        assert sorted(ids(by_encounter)) == sorted([f"coding-{waiting['id']}", f"query-{query_id}"])
        future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        assert bundle(await tenant.get("/fhir/R4/Task", "ops", params={"_lastUpdated": f"gt{future}"}))["total"] == 0
        assert bundle(await tenant.get("/fhir/R4/Task", "ops", params={"_lastUpdated": [f"ge{past}", f"lt{future}"]}))["total"] == 3
        bad = await tenant.get("/fhir/R4/Task?_lastUpdated=yesterday", "ops")
        assert bad.status_code == 400
        assert "_lastUpdated" in bad.json()["detail"]
        assert (await tenant.get("/fhir/R4/Task?status=bogus", "ops")).status_code == 400

    async def test_pages_follow_the_next_link(self, worked: tuple[Tenant, dict[str, Any], dict[str, Any], str]) -> None:
        tenant = worked[0]
        seen: list[str] = []
        url: str | None = f"{tenant.stack.url}/fhir/R4/Task?_count=2"
        while url:
            page = bundle(await tenant.http.get(url, headers=tenant.auth("ops")))
            assert page["total"] == 3
            assert len(page["entry"]) <= 2
            seen += ids(page)
            url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
        assert len(seen) == len(set(seen)) == 3

    async def test_each_reader_sees_only_its_rows(self, worked: tuple[Tenant, dict[str, Any], dict[str, Any], str], other_tenant: Tenant) -> None:
        tenant, _waiting, _claimed, query_id = worked
        assert ids(bundle(await tenant.get("/fhir/R4/Task", "physician"))) == [f"query-{query_id}"]
        assert bundle(await tenant.get("/fhir/R4/Task", "coder_other_vendor"))["total"] == 0
        assert bundle(await other_tenant.get("/fhir/R4/Task", "ops"))["total"] == 0
        assert (await tenant.get("/fhir/R4/Task", "integrator")).status_code == 403
        assert (await tenant.get("/fhir/R4/CommunicationRequest", "integrator")).status_code == 403
        assert (await tenant.http.get(f"{tenant.stack.url}/fhir/R4/Task")).status_code == 401


class TestQueriesAsCommunications:
    async def test_the_question_and_the_answer(self, worked: tuple[Tenant, dict[str, Any], dict[str, Any], str]) -> None:
        tenant, waiting, _claimed, query_id = worked
        requests = bundle(await tenant.get(f"/fhir/R4/CommunicationRequest?encounter=Encounter/{waiting['id']}", "physician"))
        [request] = [e["resource"] for e in requests["entry"]]
        assert (request["id"], request["status"]) == (query_id, "completed")
        assert request["payload"][0]["contentString"].startswith(QUESTION)
        answers = bundle(await tenant.get("/fhir/R4/Communication", "ops"))
        [answer] = [e["resource"] for e in answers["entry"]]
        assert answer["basedOn"] == [{"reference": f"CommunicationRequest/{query_id}"}]
        assert answer["payload"][0]["contentString"] == "Type 2, with hyperglycemia."


class TestWriteBack:
    async def test_the_answer_and_addendum_reach_the_ehr_as_a_document_reference(
        self, worked: tuple[Tenant, dict[str, Any], dict[str, Any], str], ehr: str, http: httpx.AsyncClient
    ) -> None:
        _tenant, waiting, _claimed, query_id = worked

        async def documents() -> dict[str, Any]:
            found: dict[str, Any] = (await http.get(f"{ehr}/DocumentReference", params={"encounter": f"Encounter/{waiting['external_id']}"})).json()
            return found

        found = await eventually(documents, until=lambda b: b["total"] == 1)
        doc = found["entry"][0]["resource"]
        DocumentReference.model_validate(doc)
        assert doc["id"] == f"cc-query-{query_id}"
        assert doc["author"] == [{"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": NPI}}]
        text = base64.b64decode(doc["content"][0]["attachment"]["data"]).decode()
        assert QUESTION in text
        assert "Type 2, with hyperglycemia." in text
        assert ADDENDUM in text
        assert (await http.get(f"{ehr}/DocumentReference/{doc['id']}")).json()["meta"]["versionId"] == "1"
