"""Background intake of a large bundle: one activity per chunk of its encounters."""

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client

from clearchart.settings import Settings
from services.inbound import process_chunk
from workflows.inbound import ChunkInput, InboundSummary

log = structlog.get_logger(__name__)


class InboundActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], temporal: Client, settings: Settings) -> None:
        self._sessions, self._temporal, self._settings = sessions, temporal, settings

    @activity.defn(name="inbound.process_chunk")
    async def process_chunk(self, inp: ChunkInput) -> InboundSummary:
        result = await process_chunk(
            self._sessions, self._temporal, self._settings, inp.tenant_id, inp.message_id, inp.start, inp.end
        )
        log.info("inbound.chunk_processed", message_id=inp.message_id, start=inp.start, processed=result.processed, failed=result.failed)
        return InboundSummary(result.processed, result.failed)
