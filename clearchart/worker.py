"""Composition root for Temporal: the same dependencies the API builds, handed to a Worker."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.encounters import EncounterActivities
from workflows.encounter import EncounterWorkflow


def build_worker(client: Client, sessions: async_sessionmaker[AsyncSession], task_queue: str) -> Worker:
    acts = EncounterActivities(sessions)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[EncounterWorkflow],
        activities=[acts.intake, acts.project],
        max_concurrent_activities=20,
    )
