"""EHR bundles in: each encounter becomes (or updates) its workflow; large bundles in the background.

A bundle with more encounters than `Settings.inline_bundle_limit` is answered 202 as soon as it is
stored, verified and accepted; an `InboundBundle` workflow then takes its encounters in chunks and
records per-encounter progress in `inbound_items`, readable at `GET /v1/inbound/{id}`.
"""

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy

from clearchart.settings import Settings
from integrations.ehr.schemas import EncounterIntake
from models.encounters.tables import InboundMessage
from models.repositories import inbound as repo
from workflows.encounter import EncounterWorkflow, encounter_workflow_id
from workflows.inbound import InboundBundleInput, InboundBundleWorkflow, inbound_workflow_id
from workflows.types import EncounterInput, IngestRequest, Outcome

ENCOUNTER_NAMESPACE = uuid.UUID("6f1f9d8e-2f7c-4c55-9a51-0c6a4a1e7d10")
# Encounters of one chunk taken in at once (each an update-with-start of its workflow).
CHUNK_CONCURRENCY = 8


def encounter_id_for(tenant_id: str, external_id: str) -> uuid.UUID:
    """Opaque, stable id from tenant + the EHR's encounter id: no MRN, no PHI."""
    return uuid.uuid5(ENCOUNTER_NAMESPACE, f"{tenant_id}/{external_id}")


async def ingest_encounter(
    temporal: Client, settings: Settings, tenant_id: str, message_id: uuid.UUID, index: int, external_id: str
) -> dict[str, Any]:
    """Update-with-start keyed by the encounter's workflow id: a redelivery never starts a second one."""
    return await start_ingest(
        temporal, tenant_id, message_id, index, external_id,
        task_queue=settings.task_queue, billing_task_queue=settings.billing_task_queue,
    )  # fmt: skip


async def start_ingest(
    temporal: Client,
    tenant_id: str,
    message_id: uuid.UUID,
    index: int,
    external_id: str,
    *,
    task_queue: str,
    billing_task_queue: str | None,
) -> dict[str, Any]:
    """The one way a stored message's encounter reaches its workflow (FHIR webhook, HL7 v2, large bundles)."""
    encounter_id = str(encounter_id_for(tenant_id, external_id))
    start = WithStartWorkflowOperation(
        EncounterWorkflow.run,
        EncounterInput(tenant_id, encounter_id, billing_task_queue=billing_task_queue),
        id=encounter_workflow_id(encounter_id),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue=task_queue,
    )
    outcome: Outcome = await temporal.execute_update_with_start_workflow(
        EncounterWorkflow.ingest, IngestRequest(str(message_id), index), start_workflow_operation=start
    )
    return {"id": encounter_id, "external_id": external_id, "status": outcome.status}


async def accept_in_background(
    session: AsyncSession, temporal: Client, settings: Settings, message: InboundMessage, intakes: list[EncounterIntake]
) -> dict[str, Any]:
    """Record every encounter as accepted and hand the bundle to its workflow; idempotent."""
    rows = [
        {
            "message_id": message.id,
            "bundle_index": i,
            "tenant_id": message.tenant_id,
            "encounter_id": encounter_id_for(message.tenant_id, intake.external_id),
            "external_id": intake.external_id,
            "status": "accepted",
        }
        for i, intake in enumerate(intakes)
    ]
    await repo.add_items(session, rows)
    await session.commit()
    await temporal.start_workflow(
        InboundBundleWorkflow.run,
        InboundBundleInput(message.tenant_id, str(message.id), len(intakes), settings.inbound_chunk_size),
        id=inbound_workflow_id(str(message.id)),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue=settings.task_queue,
    )
    return {
        "inbound_id": str(message.id),
        "status": "accepted",
        "progress": f"/v1/inbound/{message.id}",
        "encounters": [
            {"id": str(r["encounter_id"]), "external_id": r["external_id"], "status": "accepted"} for r in rows
        ],
    }


@dataclass(frozen=True)
class ChunkResult:
    processed: int
    failed: int


async def process_chunk(
    sessions: async_sessionmaker[AsyncSession],
    temporal: Client,
    settings: Settings,
    tenant_id: str,
    message_id: str,
    start: int,
    end: int,
) -> ChunkResult:
    """Take in the encounters [start, end) not yet processed; a refused one is recorded as failed."""
    mid = uuid.UUID(message_id)
    async with sessions() as session:
        pending = await repo.pending_items(session, mid, start, end)
    gate = asyncio.Semaphore(CHUNK_CONCURRENCY)
    failed = 0

    async def one(index: int, external_id: str) -> None:
        nonlocal failed
        async with gate:
            try:
                answer = await ingest_encounter(temporal, settings, tenant_id, mid, index, external_id)
                values: dict[str, Any] = {"status": "processed", "encounter_status": answer["status"], "error": None}
            except WorkflowUpdateFailedError as exc:
                failed += 1
                values = {"status": "failed", "error": str(exc.cause or exc)}
            async with sessions.begin() as session:
                await repo.set_item(session, mid, index, values)

    async with asyncio.TaskGroup() as group:
        for index, external_id in pending:
            group.create_task(one(index, external_id))
    return ChunkResult(len(pending) - failed, failed)


@dataclass(frozen=True)
class InboundProgress:
    id: uuid.UUID
    webhook_id: str
    received_at: Any
    items: list[dict[str, Any]]


async def progress(session: AsyncSession, tenant_id: str, message_id: uuid.UUID) -> InboundProgress | None:
    """Per-encounter progress of one delivery of this tenant; None if unknown or another tenant's."""
    message = await repo.message_summary(session, tenant_id, message_id)
    if message is None:
        return None
    rows = await repo.items(session, message_id)
    if rows:
        items = [
            {
                "index": r.bundle_index,
                "id": str(r.encounter_id),
                "external_id": r.external_id,
                "status": r.status,
                "encounter_status": r.encounter_status,
                "error": r.error,
            }
            for r in rows
        ]
    else:  # taken in within the request: its stored answer is the whole story
        answered = (message.response or {}).get("encounters", [])
        items = [
            {"index": i, "id": e["id"], "external_id": e["external_id"], "status": "processed", "encounter_status": e["status"], "error": None}
            for i, e in enumerate(answered)
        ]
    return InboundProgress(message.id, message.webhook_id, message.received_at, items)
