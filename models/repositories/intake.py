"""SQL of the intake activity: the stored message, the patient, the chart's documents (each new
content a new version) and the tenant's routing rules. Tenant-pinned by argument: intake acts
for the message's tenant, not for a caller."""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.encounters.tables import Document, Encounter, InboundMessage, Patient, RoutingRule

DOCUMENT_KEY = ["encounter_id", "external_id", "sha256"]


async def message_body(session: AsyncSession, message_id: uuid.UUID) -> bytes | None:
    return await session.scalar(select(InboundMessage.body).where(InboundMessage.id == message_id))


async def upsert_patient(session: AsyncSession, tenant_id: str, external_id: str, values: dict[str, Any]) -> uuid.UUID:
    """The patient by (tenant, EHR id), created or updated with `values`; its id."""
    stmt = (
        insert(Patient)
        .values(id=uuid.uuid4(), tenant_id=tenant_id, external_id=external_id, **values)
        .on_conflict_do_update(index_elements=["tenant_id", "external_id"], set_=values)
        .returning(Patient.id)
    )
    return (await session.execute(stmt)).scalar_one()


async def add_encounter(session: AsyncSession, **values: Any) -> Encounter:
    """A new chart row, received now (the transaction's time), flushed so later rows may refer to it."""
    encounter = Encounter(received_at=func.now(), **values)
    session.add(encounter)
    await session.flush()
    return encounter


async def document_versions(session: AsyncSession, encounter_id: uuid.UUID, external_id: str) -> int:
    """How many versions of this EHR document the chart holds."""
    return await session.scalar(select(func.count()).where(Document.encounter_id == encounter_id, Document.external_id == external_id)) or 0


async def add_document(session: AsyncSession, values: dict[str, Any]) -> uuid.UUID | None:
    """The new document's id; None when the chart already holds this content under this id."""
    stmt = insert(Document).values(**values).on_conflict_do_nothing(index_elements=DOCUMENT_KEY).returning(Document.id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def document_id(session: AsyncSession, encounter_id: uuid.UUID, external_id: str) -> uuid.UUID | None:
    return await session.scalar(select(Document.id).where(Document.encounter_id == encounter_id, Document.external_id == external_id))


async def documents(session: AsyncSession, ids: list[uuid.UUID]) -> Sequence[Document]:
    return (await session.scalars(select(Document).where(Document.id.in_(ids)))).all()


async def document_types(session: AsyncSession, encounter_id: uuid.UUID) -> Sequence[str | None]:
    """The distinct document type codes of the chart."""
    return (await session.scalars(select(Document.type_code).where(Document.encounter_id == encounter_id).distinct())).all()


async def routing_rules(session: AsyncSession, tenant_id: str) -> Sequence[RoutingRule]:
    return (await session.scalars(select(RoutingRule).where(RoutingRule.tenant_id == tenant_id))).all()
