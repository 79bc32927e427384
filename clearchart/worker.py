"""Composition root for Temporal: the same dependencies the API builds, handed to a Worker."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.intake import IntakeActivities
from activities.notifications import NotificationActivities
from activities.projection import ProjectionActivities
from workflows.encounter import EncounterWorkflow


def build_worker(client: Client, sessions: async_sessionmaker[AsyncSession], task_queue: str) -> Worker:
    intake = IntakeActivities(sessions)
    projection = ProjectionActivities(sessions)
    notifications = NotificationActivities(sessions)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[EncounterWorkflow],
        activities=[intake.intake, intake.add_addendum, projection.project, notifications.send],
        max_concurrent_activities=20,
    )
