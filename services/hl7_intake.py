"""HL7 v2 intake, shared by the HTTP route and the MLLP listener.

A message becomes the FHIR Bundle the FHIR webhook takes (see ``integrations.hl7v2.messages``)
and then follows the FHIR path exactly: stored as an inbound message of its source keyed by
``hl7v2:<MSH-10>`` (a redelivery gets the stored answer and creates nothing), then one
update-with-start per encounter, so projection, routing and holds are the same.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from integrations.ehr.bundle import parse_bundle
from integrations.ehr.errors import FhirValidationError
from integrations.hl7v2.messages import V2Error, V2Message, ack, parse, to_bundle
from models.encounters.tables import InboundMessage, WebhookSource
from models.repositories import inbound
from services.inbound import start_ingest

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class V2Result:
    ack: str
    encounters: list[dict[str, Any]] = field(default_factory=list)
    replayed: bool = False


class V2Refused(Exception):
    """The message is refused (AR); ``ack`` is the NAK to send back."""

    def __init__(self, detail: str, ack: str, *, retry: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.ack = ack
        self.retry = retry  # AE: the sender may retry the same message later


async def accept(
    sessions: async_sessionmaker[AsyncSession],
    temporal: Client,
    task_queue: str,
    source_id: uuid.UUID,
    text: str,
    *,
    billing_task_queue: str | None = None,
) -> V2Result:
    message: V2Message | None = None
    try:
        message = parse(text)
        bundle = to_bundle(message)
        parse_bundle(bundle)  # refuse here what the intake activity would refuse later
    except V2Error as exc:
        raise V2Refused(str(exc), ack(message, "AR", str(exc), raw=text)) from exc
    except FhirValidationError as exc:
        detail = f"the message maps to an invalid encounter: {exc}"
        raise V2Refused(detail, ack(message, "AR", detail)) from exc
    body = json.dumps(bundle, separators=(",", ":"), sort_keys=True).encode()
    digest = hashlib.sha256(body).hexdigest()
    webhook_id = f"hl7v2:{message.control_id}"
    async with sessions() as session:
        source = await session.get(WebhookSource, source_id)
        if source is None:
            raise V2Refused("unknown source", ack(message, "AR", "unknown source"))
        stored = await inbound.message_by_webhook_id(session, source.id, webhook_id)
        if stored is not None and stored.body_sha256 != digest:
            detail = f"MSH-10 '{message.control_id}' was already used for a different message; send a new control id"
            raise V2Refused(detail, ack(message, "AR", detail))
        if stored is not None and stored.response is not None:
            return V2Result(ack(message, "AA"), stored.response["encounters"], replayed=True)
        if stored is None:
            stored = InboundMessage(id=uuid.uuid4(), tenant_id=source.tenant_id, source_id=source.id, webhook_id=webhook_id, body=body, body_sha256=digest)
            session.add(stored)
            try:
                await session.commit()
            except IntegrityError as exc:
                detail = "the same message is being processed by a concurrent delivery; retry shortly"
                raise V2Refused(detail, ack(message, "AE", detail), retry=True) from exc
        tenant_id, message_id = source.tenant_id, stored.id
        intakes = parse_bundle(bundle)
        answers = [
            await start_ingest(temporal, tenant_id, message_id, i, intake.external_id, task_queue=task_queue, billing_task_queue=billing_task_queue)
            for i, intake in enumerate(intakes)
        ]
        stored.response = {"encounters": answers}
        await session.commit()
    log.info("hl7v2.accepted", source_id=str(source_id), control_id=message.control_id, kind=message.kind, encounters=len(answers))
    return V2Result(ack(message, "AA"), answers)
