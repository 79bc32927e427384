"""`clearchart mllp`: an MLLP listener taking HL7 v2 messages for one webhook source.

Each framed message is answered with its own ACK (AA) or NAK (AR: fix and resend; AE: resend
as is), after the intake has stored it — so a sender that waits for the ACK loses nothing.
MLLP has no authentication of its own: bind it to a private interface or put it behind a TLS
tunnel or VPN, as HL7 v2 interfaces usually are.
"""

import asyncio
import contextlib
import uuid

import hl7.mllp
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from clearchart.db import make_engine, make_sessions
from clearchart.settings import Settings
from clearchart.temporal import connect
from integrations.hl7v2.messages import ack
from services.hl7_intake import V2Refused, accept

log = structlog.get_logger(__name__)


async def serve_mllp(
    sessions: async_sessionmaker[AsyncSession],
    temporal: Client,
    task_queue: str,
    source_id: uuid.UUID,
    host: str,
    port: int,
    *,
    billing_task_queue: str | None = None,
) -> asyncio.Server:
    async def connected(reader: hl7.mllp.HL7StreamReader, writer: hl7.mllp.HL7StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            while not reader.at_eof():
                try:
                    block = await reader.readblock()
                except (asyncio.IncompleteReadError, hl7.mllp.InvalidBlockError):
                    break
                text = block.decode("utf-8", errors="replace")
                try:
                    answer = (await accept(sessions, temporal, task_queue, source_id, text, billing_task_queue=billing_task_queue)).ack
                except V2Refused as exc:
                    log.warning("mllp.refused", peer=str(peer), detail=exc.detail)
                    answer = exc.ack
                except Exception:  # the sender must get an answer; AE lets it resend
                    log.exception("mllp.failed", peer=str(peer))
                    answer = ack(None, "AE", "internal error; resend later", raw=text)
                writer.writeblock(answer.encode())
                await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    server: asyncio.Server = await hl7.mllp.start_hl7_server(connected, host=host, port=port)
    log.info("mllp.listening", host=host, port=port, source_id=str(source_id))
    return server


async def run_mllp(settings: Settings, source_id: uuid.UUID, host: str, port: int) -> None:
    engine = make_engine(settings.sqlalchemy_url)
    try:
        server = await serve_mllp(make_sessions(engine), await connect(settings), settings.task_queue, source_id, host, port,
                                  billing_task_queue=settings.billing_task_queue)
        async with server:
            await server.serve_forever()
    finally:
        await engine.dispose()
