"""Code suggestions computed when a chart's documents arrive, off the request path."""

import uuid
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from integrations.cac.engine import default_engine
from models.coding.suggestions import SuggestCodesInput, SuggestionEngine
from services import suggestions


class SuggestionActivities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], engine: Callable[[], SuggestionEngine] = default_engine
    ) -> None:
        self._sessions = sessions
        self._engine = engine

    @activity.defn(name="suggestions.compute")
    async def compute(self, inp: SuggestCodesInput) -> int:
        """Idempotent: stored rows are upserted by (encounter, engine version, code)."""
        return await suggestions.compute(self._sessions, self._engine, inp.tenant_id, uuid.UUID(inp.encounter_id))
