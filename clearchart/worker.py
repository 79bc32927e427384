"""Composition root for Temporal: the same dependencies the API builds, handed to a Worker."""

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.claims import ClaimActivities
from activities.intake import IntakeActivities
from activities.notifications import NotificationActivities
from activities.projection import ProjectionActivities
from activities.suggestions import SuggestionActivities
from clearchart.log_context import LogContextInterceptor
from clearchart.settings import Settings
from workflows.encounter import EncounterWorkflow


def build_worker(
    client: Client, sessions: async_sessionmaker[AsyncSession], settings: Settings, http: httpx.AsyncClient
) -> Worker:
    """`http` is owned by the caller (closed after the worker stops)."""
    intake = IntakeActivities(sessions)
    projection = ProjectionActivities(sessions)
    notifications = NotificationActivities(sessions)
    suggestions = SuggestionActivities(sessions)
    claims = ClaimActivities(sessions, http, settings.clearinghouse, settings.clearinghouse_api_key)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[EncounterWorkflow],
        activities=[
            intake.intake,
            intake.add_addendum,
            projection.project,
            notifications.send,
            claims.scrub,
            claims.create,
            claims.submit,
            suggestions.compute,
        ],
        max_concurrent_activities=20,
        interceptors=[LogContextInterceptor()],
    )
