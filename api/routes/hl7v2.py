"""HL7 v2 over HTTP: one ER7 message per request, signed like the FHIR webhook.

The answer carries the HL7 ACK (``ack``) beside the JSON, so an interface engine can file it.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from api.deps import SettingsDep, TemporalDep, signed_source
from api.errors import Conflict, Unprocessable
from models.encounters.tables import WebhookSource
from services.hl7_intake import V2Refused, accept

router = APIRouter(prefix="/v1/hl7v2", tags=["webhooks"])

EXAMPLE = (
    "MSH|^~\\&|EHR|CLINIC|CLEARCHART|CC|20261205090000||ADT^A03|MSG0001|P|2.5\r"
    "EVN|A03|20261205090000\r"
    "PID|||MRN123^^^CLINIC^MR||Testpatient^Sandbox||19500101|F\r"
    "PV1||O|||||1234567893^Testdoctor^Sandbox||||||||||||V-1001|||||||||||||||||||||||||20261204083000|20261204090000\r"
)


@router.post(
    "",
    status_code=202,
    responses={
        202: {"description": "accepted (MSA-1 AA in `ack`); one entry per encounter"},
        401: {"description": "bad or stale signature"},
        409: {"description": "a concurrent delivery of the same message; retry (MSA-1 AE in `ack`)"},
        422: {"description": "refused (MSA-1 AR in `ack`), with the field to fix"},
    },
    openapi_extra={"requestBody": {"content": {"x-application/hl7-v2+er7": {"schema": {"type": "string"}, "example": EXAMPLE}}, "required": True}},
)
async def receive_hl7v2(
    request: Request,
    temporal: TemporalDep,
    settings: SettingsDep,
    signed: Annotated[tuple[WebhookSource, str, bytes], Depends(signed_source)],
) -> JSONResponse:
    """ADT^A03/A08, DFT^P03 or MDM^T02 in, through the same intake as FHIR bundles."""
    source, _webhook_id, body = signed
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")  # HL7 v2 feeds default to 8859-1 when MSH-18 is empty
    try:
        result = await accept(
            request.app.state.sessions, temporal, settings.task_queue, source.id, text, billing_task_queue=settings.billing_task_queue
        )
    except V2Refused as exc:
        if exc.retry:
            raise Conflict(exc.detail, ack=exc.ack) from exc
        raise Unprocessable(exc.detail, ack=exc.ack) from exc
    content: dict[str, Any] = {"encounters": result.encounters, "ack": result.ack}
    return JSONResponse(content, status_code=202, headers={"Idempotent-Replayed": "true"} if result.replayed else None)


