"""Outbound notices behind one interface: recorded (email-shaped) and logged; webhooks come later.

Subjects never carry PHI: a recipient learns that something needs attention, and signs in to
see what.
"""

import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from models.repositories import projection_rows
from workflows.types import Notification

log = structlog.get_logger(__name__)


class NotificationActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name="notifications.send")
    async def send(self, note: Notification) -> None:
        async with self._sessions.begin() as session:
            await projection_rows.add_notification(
                session,
                {
                    "tenant_id": note.tenant_id,
                    "encounter_id": uuid.UUID(note.encounter_id),
                    "key": note.key,
                    "kind": note.kind,
                    "recipient": note.recipient,
                    "subject": note.subject,
                    "query_id": uuid.UUID(note.query_id) if note.query_id else None,
                    "hold_id": uuid.UUID(note.hold_id) if note.hold_id else None,
                },
            )
        log.info("notification.sent", kind=note.kind, recipient=note.recipient, encounter_id=note.encounter_id)
