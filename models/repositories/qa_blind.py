"""Blind QA review: an auditor must not see a chart's codes before submitting their own."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from models.access import Principal
from models.repositories.scope import Scope


async def blind_pending(session: AsyncSession, who: Principal, encounter_id: uuid.UUID) -> bool:
    """True while a blind, open audit holds this chart and this auditor has not submitted a review."""
    return await Scope(session, who).blind(encounter_id)
