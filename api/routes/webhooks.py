"""EHR intake: a Standard-Webhooks-signed FHIR Bundle becomes one workflow per Encounter.

The raw body is stored before anything else happens and its answer is stored after, so a
redelivery with the same webhook-id gets the same answer and creates nothing; a delivery that
failed half-way (Temporal unreachable) is finished by the next redelivery, because
update-with-start is keyed by the encounter's workflow id.
"""

import hashlib
import json
import uuid
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from temporalio.client import WorkflowUpdateFailedError

from api.deps import SessionDep, SettingsDep, TemporalDep, signed_source
from api.errors import RETRY_AFTER_SECONDS, Conflict, Unavailable, Unprocessable
from integrations.ehr.bundle import parse_bundle
from integrations.ehr.errors import FhirValidationError
from models.encounters.tables import InboundMessage, WebhookSource
from models.repositories import inbound
from services.inbound import accept_in_background, encounter_id_for, ingest_encounter
from services.intake_failures import close_if_never_ingested, intake_failure, record_failure
from workflows.encounter import encounter_workflow_id

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

# The body is read raw (its signature covers the exact bytes), so it is declared here: for
# OpenAPI, and for the edge guard, which takes its media types and size limit from it.
BUNDLE_BODY: dict[str, Any] = {
    "schema": {"type": "object", "description": "a FHIR R4 Bundle (transaction, batch or collection)"},
    "example": {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": {"resourceType": "Encounter", "id": "enc-1", "status": "finished"}}],
    },
}



@router.post(
    "/ehr",
    status_code=202,
    responses={
        202: {
            "description": "accepted; one entry per Encounter in the bundle. Large bundles are taken in "
            "the background (status `accepted`); follow `progress` (GET /v1/inbound/{inbound_id})"
        },
        401: {"description": "bad or stale signature"},
        422: {"description": "not a valid FHIR R4 Bundle"},
    },
    openapi_extra={"requestBody": {"content": dict.fromkeys(("application/fhir+json", "application/json"), BUNDLE_BODY), "required": True}},
)
async def receive_ehr_bundle(
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    signed: Annotated[tuple[WebhookSource, str, bytes], Depends(signed_source)],
) -> JSONResponse:
    source, webhook_id, body = signed
    digest = hashlib.sha256(body).hexdigest()
    message = await _stored(session, source.id, webhook_id)
    if message is not None:
        if message.body_sha256 != digest:
            raise Conflict(f"webhook-id '{webhook_id}' was already used for a different body; send a new id")
        if message.response is not None:
            return JSONResponse(message.response, status_code=202, headers={"Idempotent-Replayed": "true"})
    try:
        intakes = parse_bundle(json.loads(body))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Unprocessable(f"the body is not JSON: {exc}") from exc
    except FhirValidationError as exc:
        raise Unprocessable(f"not a valid FHIR R4 Bundle: {exc}", problems=exc.problems) from exc
    if message is None:
        message = await _store(session, source, webhook_id, body, digest)
    if len(intakes) > settings.inline_bundle_limit:
        response = await accept_in_background(session, temporal, settings, message, intakes)
    else:
        answers: list[dict[str, Any]] = []
        try:
            for i, intake in enumerate(intakes):
                answers.append(await ingest_encounter(temporal, settings, source.tenant_id, message.id, i, intake.external_id))
        except WorkflowUpdateFailedError as exc:
            failure = intake_failure(exc)
            if failure is None:
                raise
            await record_failure(session, message, failure.reason)
            if not failure.final:
                raise Unavailable(f"the bundle could not be taken in yet: {failure.reason}; send it again") from exc
            failed_id = encounter_id_for(source.tenant_id, intakes[len(answers)].external_id)
            await close_if_never_ingested(temporal, encounter_workflow_id(str(failed_id)), failure.reason)
            raise Unprocessable(f"the bundle could not be taken in: {failure.reason}; fix it and send it again") from exc
        response = {"inbound_id": str(message.id), "encounters": answers}
    message.response = response
    await session.commit()
    log.info("webhook.accepted", source_id=str(source.id), webhook_id=webhook_id, encounters=len(intakes))
    return JSONResponse(response, status_code=202)


async def _stored(session: SessionDep, source_id: uuid.UUID, webhook_id: str) -> InboundMessage | None:
    return await inbound.message_by_webhook_id(session, source_id, webhook_id)


async def _store(session: SessionDep, source: WebhookSource, webhook_id: str, body: bytes, digest: str) -> InboundMessage:
    message = InboundMessage(
        id=uuid.uuid4(), tenant_id=source.tenant_id, source_id=source.id, webhook_id=webhook_id, body=body, body_sha256=digest
    )
    session.add(message)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(
            f"webhook '{webhook_id}' is being processed by a concurrent delivery; retry shortly",
            retry_after=RETRY_AFTER_SECONDS,
        ) from exc
    return message
