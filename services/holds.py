"""Holds on a chart: placing and releasing them, by the roles the hold policy allows for each reason."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from models.access import Principal
from models.encounters.holds import DEFAULT_HOLD_POLICY
from models.errors import AccessDenied, NotVisible
from models.repositories.encounters import EncounterRepository
from services.encounters import actor, handle, load, store_text
from workflows.encounter import EncounterWorkflow
from workflows.types import PlaceHoldRequest, ReleaseHoldRequest


async def place_hold(
    session: AsyncSession, temporal: Client, who: Principal, encounter_id: uuid.UUID, reason: str, note: str | None
) -> uuid.UUID:
    """Returns the chart's id; the hold's note is stored by hash."""
    repo = EncounterRepository(session, who)
    e = await load(repo, encounter_id)
    if refusal := DEFAULT_HOLD_POLICY.refusal("place", who.role, reason):
        raise AccessDenied(refusal)
    stored = await store_text(repo, note) if note else None
    await session.commit()
    await handle(temporal, e.id).execute_update(EncounterWorkflow.place_hold, PlaceHoldRequest(actor(who), reason, stored))
    return e.id


async def release_hold(session: AsyncSession, temporal: Client, who: Principal, hold_id: str, resolution: str | None) -> uuid.UUID:
    """Releases a hold found by its id among the caller's visible charts; returns the chart's id."""
    found = await EncounterRepository(session, who).holding(hold_id)
    if found is None:
        raise NotVisible(f"no open hold {hold_id} on an encounter visible to you")
    reason = next(h["reason"] for h in found.holds if h["id"] == hold_id)
    if refusal := DEFAULT_HOLD_POLICY.refusal("release", who.role, reason):
        raise AccessDenied(refusal)
    stored = await store_text(EncounterRepository(session, who), resolution) if resolution else None
    await session.commit()
    await handle(temporal, found.id).execute_update(EncounterWorkflow.release_hold, ReleaseHoldRequest(actor(who), hold_id, stored))
    return found.id
