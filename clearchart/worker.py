"""Composition root for Temporal: the same dependencies the API builds, handed to a Worker."""

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.claims import ClaimActivities
from activities.intake import IntakeActivities
from activities.notifications import NotificationActivities
from activities.post_close import PostCloseActivities
from activities.projection import ProjectionActivities
from clearchart.keys import chain_keyring
from clearchart.heartbeat import HeartbeatInterceptor
from clearchart.log_context import LogContextInterceptor
from clearchart.settings import Settings
from workflows.encounter import EncounterWorkflow
from workflows.post_close import PayerDocumentWorkflow


def build_worker(
    client: Client, sessions: async_sessionmaker[AsyncSession], settings: Settings, http: httpx.AsyncClient
) -> Worker:
    """`http` is owned by the caller (closed after the worker stops)."""
    intake = IntakeActivities(sessions)
    projection = ProjectionActivities(sessions, chain_keyring(settings))
    notifications = NotificationActivities(sessions)
    claims = ClaimActivities(sessions, http, settings.clearinghouse, settings.clearinghouse_api_key)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[EncounterWorkflow, PayerDocumentWorkflow],
        activities=[
            intake.intake,
            intake.add_addendum,
            projection.project,
            notifications.send,
            claims.scrub,
            claims.create,
            claims.submit,
            PostCloseActivities(sessions).record_after_close,
        ],
        max_concurrent_activities=20,
        interceptors=[LogContextInterceptor(), HeartbeatInterceptor()],
    )
