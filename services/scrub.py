"""Acknowledging a chart's soft scrub edits, each with its reason (hard edits are fixed by recoding)."""

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from models.access import Principal
from models.claims.tables import ScrubRun
from models.errors import NotVisible
from models.repositories.claims import latest_scrub as latest_scrub
from models.repositories.encounters import EncounterRepository
from services.encounters import actor, handle, load, store_text
from workflows.encounter import EncounterWorkflow
from workflows.types import AcknowledgeEditsRequest, EditAck


async def acknowledge_edits(
    session: AsyncSession, temporal: Client, who: Principal, encounter_id: uuid.UUID, acks: Sequence[tuple[str, int | None, str]]
) -> ScrubRun:
    """`acks` are (rule, line index, reason); the answer is the latest scrub run with them recorded."""
    repo = EncounterRepository(session, who)
    e = await load(repo, encounter_id)
    run = await latest_scrub(session, e.id)
    if run is None:
        raise NotVisible("this chart has no scrub result to acknowledge")
    stored = [EditAck(rule, line, await store_text(repo, reason)) for rule, line, reason in acks]
    await session.commit()
    await handle(temporal, e.id).execute_update(EncounterWorkflow.acknowledge_edits, AcknowledgeEditsRequest(actor(who), str(run.id), stored))
    await session.commit()
    return await session.get_one(ScrubRun, run.id, populate_existing=True)
