"""Bad data fails intake once, with the reason kept and shown to operations; never a retry loop.

The trigger is real data that passes the webhook's FHIR checks but cannot be stored: a postal
code longer than any postal code (the column holds ten characters). PostgreSQL refuses the row
inside the intake activity; the activity must call that bad data (one attempt, non-retryable)
rather than a passing fault to retry, and its reason must not carry the row's values (PHI).
"""

import json
import uuid

import httpx
from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus

from integrations.sandbox.bundles import synthetic_bundle
from models.encounters.tables import Encounter, InboundMessage, Patient
from services.inbound import encounter_id_for
from tests.support import LiveStack, eventually, make_tenant
from workflows.encounter import encounter_workflow_id

LONG_POSTAL_CODE = "62701-0000-0000-0000"


def _bundle_with_long_postal_code(key: str) -> dict[str, object]:
    bundle = synthetic_bundle(encounter_id=f"bad-{key}", patient_id=f"p-{key}")
    [patient] = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    patient["address"][0]["postalCode"] = LONG_POSTAL_CODE
    return bundle


class TestUnreadableIntake:
    async def test_bad_data_fails_intake_once_with_the_reason_listed(self, live: LiveStack, http: httpx.AsyncClient) -> None:
        tenant = await make_tenant(live, http)
        key = uuid.uuid4().hex[:8]
        response = await tenant.push(_bundle_with_long_postal_code(key), msg_id=f"bad-{key}")
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        detail = response.json()["detail"]
        assert "BadData" in detail, detail
        assert "character varying(10)" in detail, detail
        assert LONG_POSTAL_CODE not in detail, "the reason names the column's limit, not the patient's data"

        listed = await tenant.get("/v1/intake/failures", "ops")
        assert listed.status_code == 200, listed.text
        [failure] = listed.json()
        assert failure["webhook_id"] == f"bad-{key}"
        assert "BadData" in failure["failure"]
        assert "NON_RETRYABLE" in failure["failure"]
        assert LONG_POSTAL_CODE not in failure["failure"]
        assert failure["answered"] is False

        # Once: intake is a local activity, so its attempts show in its result marker.
        encounter = str(encounter_id_for(tenant.id, f"bad-{key}"))
        handle = live.temporal.get_workflow_handle(encounter_workflow_id(encounter))
        events = [e async for e in handle.fetch_history_events()]
        markers = [
            e.marker_recorded_event_attributes
            for e in events
            if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
            and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
        ]
        intake = [(json.loads(m.details["data"].payloads[0].data), m.failure) for m in markers]
        [(marker, failure)] = [(d, f) for d, f in intake if d["activity_type"] == "encounters.intake"]
        assert marker["attempt"] == 1, marker
        assert failure.application_failure_info.non_retryable
        assert failure.application_failure_info.type == "BadData"
        assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED, "nothing is left waiting"

        # Nothing half-applied: the patient upsert shared the refused transaction.
        async with live.sessions() as session:
            patients = await session.scalar(
                select(func.count()).where(Patient.tenant_id == tenant.id, Patient.external_id == f"p-{key}")
            )
            encounters = await session.scalar(select(func.count()).where(Encounter.tenant_id == tenant.id))
        assert (patients, encounters) == (0, 0)

    async def test_a_redelivery_fails_again_at_once_and_is_listed_once(self, live: LiveStack, http: httpx.AsyncClient) -> None:
        """The sender's retry of the same delivery is answered 422 again, not taken in half."""
        tenant = await make_tenant(live, http)
        key = uuid.uuid4().hex[:8]
        bundle = _bundle_with_long_postal_code(key)
        first = await tenant.push(bundle, msg_id=f"bad-{key}")
        assert first.status_code == 422, first.text
        again = await tenant.push(bundle, msg_id=f"bad-{key}")
        assert again.status_code == 422, again.text
        listed = await tenant.get("/v1/intake/failures", "ops")
        assert [f["webhook_id"] for f in listed.json()] == [f"bad-{key}"]
        async with live.sessions() as session:
            stored = await session.scalar(select(func.count()).where(InboundMessage.tenant_id == tenant.id))
        assert stored == 1

        async def status() -> WorkflowExecutionStatus | None:
            handle = live.temporal.get_workflow_handle(encounter_workflow_id(str(encounter_id_for(tenant.id, f"bad-{key}"))))
            return (await handle.describe()).status

        assert await eventually(status, until=lambda s: s == WorkflowExecutionStatus.TERMINATED) == WorkflowExecutionStatus.TERMINATED

    async def test_other_tenants_do_not_see_the_failure(self, live: LiveStack, http: httpx.AsyncClient) -> None:
        tenant = await make_tenant(live, http)
        listed = await tenant.get("/v1/intake/failures", "ops")
        assert listed.status_code == 200
        assert listed.json() == []
        assert (await tenant.get("/v1/intake/failures", "coder")).status_code == 403
