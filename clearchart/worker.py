"""Composition root for Temporal: the same dependencies the API builds, handed to the workers.

Two workers share one process by default: the interactive one runs the encounter workflows and
their short database activities (intake, projection, scrub, notices); the billing one runs claim
building and submission on its own task queue, so a burst of billing never takes a slot a coder's
submit needs. `clearchart worker --role` runs either one alone.
"""

import asyncio
import gc
import os
import sys
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Literal

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.claims import ClaimActivities
from activities.clearinghouse_poll import PollActivities
from activities.ehr_writeback import EhrWriteBackActivities
from activities.inbound import InboundActivities
from activities.intake import IntakeActivities
from activities.notifications import NotificationActivities
from activities.post_close import PostCloseActivities
from activities.projection import ProjectionActivities
from activities.suggestions import SuggestionActivities
from activities.webhooks import WebhookActivities
from clearchart.heartbeat import HeartbeatInterceptor
from clearchart.keys import chain_keyring
from clearchart.log_context import LogContextInterceptor
from clearchart.settings import Settings
from integrations.cac.engine import default_engine
from integrations.codesets.catalog import warm_catalog
from integrations.codesets.icd10cm import release_library
from workflows.claim_batch import ClaimBatchWorkflow
from workflows.clearinghouse_poll import ClearinghousePollWorkflow
from workflows.ehr_writeback import EhrWriteBackWorkflow
from workflows.encounter import EncounterWorkflow
from workflows.inbound import InboundBundleWorkflow
from workflows.post_close import AppealAfterCloseWorkflow, PayerDocumentWorkflow
from workflows.webhook_delivery import WebhookDeliveryWorkflow

log = structlog.get_logger(__name__)

WorkerRole = Literal["all", "interactive", "billing"]


# How long a stop waits for in-flight work. The SDK retries a local activity even after shutdown
# was requested (a projection retries for up to an hour while PostgreSQL is down), so an
# unbounded wait can hang a stop indefinitely; past the deadline the server hands the workflow
# task to another worker (projections are idempotent by sequence number).
SHUTDOWN_SECONDS = 20.0


class Workers:
    """Several Temporal workers started and stopped as one (`async with` or `run()`); stopping
    waits at most `shutdown_seconds`."""

    def __init__(self, workers: Sequence[Worker], shutdown_seconds: float = SHUTDOWN_SECONDS) -> None:
        self.workers = list(workers)
        self.shutdown_seconds = shutdown_seconds

    async def __aenter__(self) -> "Workers":
        for worker in self.workers:
            await worker.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._bounded(asyncio.gather(*(w.__aexit__(exc_type, exc, tb) for w in reversed(self.workers))))

    async def run(self) -> None:
        runs = [asyncio.create_task(w.run()) for w in self.workers]
        try:
            await asyncio.gather(*runs)
        finally:  # cancelled, or one worker failed: the others stop too, within the deadline
            await self.stop()

    async def stop(self) -> bool:
        """Ask every worker to stop; False if they were still busy at the deadline (abandoned)."""
        return await self._bounded(asyncio.gather(*(w.shutdown() for w in self.workers)))

    async def _bounded(self, stopping: "asyncio.Future[Any]") -> bool:
        try:
            async with asyncio.timeout(self.shutdown_seconds):
                await asyncio.shield(stopping)
        except TimeoutError:
            log.warning("worker.stop_abandoned", seconds=self.shutdown_seconds, reason="work still in flight at the deadline")
            return False
        return True


def prepare_process(role: WorkerRole) -> None:
    """Before a worker process polls: load what its activities need, then keep only that.

    The interactive worker scrubs (ICD-10-CM tables); the background one suggests codes (the
    lexicon, built from the same tabular list): each builds what it uses now rather than in the
    first activity, then the library's parse tree they were built from is dropped
    (bench/README.md, "worker RSS"). The
    startup objects then leave the collector's generations, as in the API: with thousands of
    cached workflows every full collection walked the million objects loaded here too. Blocking
    (tens of seconds on a busy machine): run it in a thread."""
    if role in ("all", "interactive"):
        warm_catalog()
    if role in ("all", "billing"):
        default_engine()
    release_library()
    gc.collect()
    gc.freeze()


def yield_cpu(role: WorkerRole, settings: Settings) -> None:
    """A billing worker process lowers its own CPU priority (`CLEARCHART_BILLING_NICE`): on a
    machine it shares with the API and the interactive worker, a burst of claims then waits for
    the coders' submits rather than the reverse. Other roles keep theirs."""
    if role == "billing" and settings.billing_nice:
        os.nice(settings.billing_nice)


def build_worker(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    http: httpx.AsyncClient,
    role: WorkerRole = "all",
) -> Workers:
    """`http` is owned by the caller (closed after the workers stop). Sets the process's GIL
    switch interval: the workers' workflow tasks run in threads beside the event loop."""
    sys.setswitchinterval(settings.gil_switch_ms / 1000)
    keys = chain_keyring(settings)
    intake = IntakeActivities(sessions, keys)
    projection = ProjectionActivities(sessions, keys, client, settings.task_queue)
    notifications = NotificationActivities(sessions)
    suggestions = SuggestionActivities(sessions)
    claims = ClaimActivities(
        sessions, http, settings.clearinghouse, settings.clearinghouse_api_key, client, batch_queue=settings.billing_task_queue,
        batch_seconds=settings.claim_batch_seconds, batch_size=settings.claim_batch_size, keys=keys,
    )  # fmt: skip
    inbound = InboundActivities(sessions, client, settings)
    post_close = PostCloseActivities(sessions, keys)
    polls = PollActivities(settings, sessions, client, http)
    webhooks = WebhookActivities(sessions, http)
    writeback = EhrWriteBackActivities(sessions, http)
    workers: list[Worker] = []
    if role in ("all", "interactive"):
        workers.append(
            Worker(
                client,
                task_queue=settings.task_queue,
                workflows=[EncounterWorkflow, InboundBundleWorkflow, PayerDocumentWorkflow, AppealAfterCloseWorkflow, WebhookDeliveryWorkflow, EhrWriteBackWorkflow],
                activities=[
                    inbound.process_chunk,
                    intake.intake,
                    intake.add_addendum,
                    projection.project,
                    projection.project_batch,
                    notifications.send,
                    claims.scrub,
                    # Workflows started before the billing queue existed still bill here.
                    claims.create,
                    claims.submit,
                    claims.bill,
                    post_close.record_after_close,
                    post_close.appeal_after_close,
                    webhooks.attempt,
                    writeback.write_back_answer,
                    suggestions.compute,
                ],
                max_concurrent_activities=20,
                max_concurrent_local_activities=50,
                max_concurrent_workflow_tasks=50,
                # An encounter waits days between events: a worker with the memory for it keeps
                # more of them cached, so an event does not replay its whole history first.
                max_cached_workflows=settings.max_cached_workflows,
                # Workflow modules hold no mutable state: import them once for every workflow
                # instead of once per workflow instance (the sandbox still guards non-determinism).
                workflow_runner=SandboxedWorkflowRunner(
                    restrictions=SandboxRestrictions.default.with_passthrough_all_modules()
                ),
                interceptors=[LogContextInterceptor(), HeartbeatInterceptor()],
            )
        )
    if role in ("all", "billing"):
        workers.append(
            Worker(
                client,
                task_queue=settings.billing_task_queue,
                workflows=[ClaimBatchWorkflow, ClearinghousePollWorkflow],
                activities=[claims.bill, claims.create, claims.submit, claims.send_batch, polls.poll, suggestions.compute, projection.project],
                workflow_runner=SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_all_modules()),
                max_concurrent_activities=10,
                interceptors=[LogContextInterceptor(), HeartbeatInterceptor()],
            )
        )
    return Workers(workers)
