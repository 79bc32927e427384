"""The encounter workflow on the time-skipping server, with activities mocked by name."""

import dataclasses
import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models.coding.rules import CodingSubmission, DiagnosisCode
from models.coding.suggestions import SuggestCodesInput
from workflows.encounter import EncounterWorkflow
from workflows.types import (
    SYSTEM,
    Actor,
    AddendumInput,
    BillRequest,
    BillResult,
    ClaimRequest,
    EncounterInput,
    IngestRequest,
    IntakeFacts,
    IntakeInput,
    Notification,
    Policy,
    ProjectBatch,
    ProjectInput,
    ReleaseHoldRequest,
    ReleaseRequest,
    ScrubOutcome,
    ScrubRequest,
    Snapshot,
    SubmitCodingRequest,
    SubmitResult,
)

CODER = Actor("coder-1", "coder", "v1")
OTHER = Actor("coder-2", "coder", "v1")
OPS = Actor("ops-1", "ops")


class FakeActivities:
    """Stands in for PostgreSQL: intake answers from a script, projections are recorded."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.doc_types: dict[str, list[str]] = {}
        self.projected: list[ProjectInput] = []
        self.batches: list[list[str]] = []  # the actions of each batch projected in one transaction
        self.notified: list[Notification] = []
        self.scrub_outcomes: list[ScrubOutcome] = []
        self.held_for_qa = 0  # how many billing attempts find an open QA pre-bill hold
        self.submitted: list[str] = []
        self.billed: list[str] = []  # scrub ids billed by `claims.bill` (built and queued in one activity)
        self.policy = policy or Policy(lease_minutes=30, coding_sla_hours=48)
        self.suggested: list[SuggestCodesInput] = []
        self.codeset_missing: str | None = None  # what intake says when no ICD-10-CM release serves the DOS

    @activity.defn(name="encounters.intake")
    async def intake(self, inp: IntakeInput) -> IntakeFacts:
        docs = self.doc_types.get(inp.message_id, ["11506-3"])
        return IntakeFacts(
            external_id="ext-1",
            doc_types=docs,
            new_document_ids=[f"doc-{inp.message_id}"],
            required_doc_types=["11506-3"],
            queue_id="q1",
            priority=0,
            policy=self.policy,
            codeset_missing=self.codeset_missing,
        )

    @activity.defn(name="encounters.project")
    async def project(self, inp: ProjectInput) -> None:
        self.projected.append(inp)

    @activity.defn(name="encounters.project_batch")
    async def project_batch(self, batch: ProjectBatch) -> None:
        self.projected.extend(batch.items)
        self.batches.append([p.action for p in batch.items])

    @activity.defn(name="notifications.send")
    async def notify(self, note: Notification) -> None:
        self.notified.append(note)

    @activity.defn(name="encounters.add_addendum")
    async def add_addendum(self, inp: AddendumInput) -> str:
        return f"addendum-{inp.query_id}"

    @activity.defn(name="claims.scrub")
    async def scrub(self, req: ScrubRequest) -> ScrubOutcome:
        return self.scrub_outcomes.pop(0) if self.scrub_outcomes else ScrubOutcome(f"scrub-{req.run_no}")

    @activity.defn(name="claims.create")
    async def create_claim(self, req: BillRequest) -> BillResult:
        if self.held_for_qa:
            self.held_for_qa -= 1
            return BillResult("", "", 0, held_for_qa=True)
        return BillResult(f"claim-{req.scrub_id}", f"CC-{req.scrub_id}", 15000)

    @activity.defn(name="claims.submit")
    async def submit_claim(self, claim_id: str) -> SubmitResult:
        self.submitted.append(claim_id)
        return SubmitResult(True)

    @activity.defn(name="claims.bill")
    async def bill_claim(self, req: BillRequest) -> BillResult:
        self.billed.append(req.scrub_id)
        built = await self.create_claim(req)
        return built if built.held_for_qa else dataclasses.replace(built, sent=await self.submit_claim(built.claim_id))

    @activity.defn(name="suggestions.compute")
    async def suggest(self, inp: SuggestCodesInput) -> int:
        self.suggested.append(inp)
        return 0

    async def suggestions(self) -> list[SuggestCodesInput]:
        return list(self.suggested)

    def all(self) -> list[Any]:
        return [
            self.intake, self.project, self.project_batch, self.notify, self.add_addendum, self.scrub, self.create_claim, self.submit_claim,
            self.bill_claim,
            self.suggest,
        ]

    def actions(self) -> list[str]:
        return [p.action for p in self.projected]


async def start(client: Client, queue: str, history_limit: int = 2000) -> WorkflowHandle[EncounterWorkflow, str]:
    eid = str(uuid.uuid4())
    return await client.start_workflow(
        EncounterWorkflow.run,
        EncounterInput("t1", eid, history_limit=history_limit),
        id=f"encounter/{eid}",
        task_queue=queue,
    )


async def in_coding(client: Client, queue: str, history_limit: int = 2000) -> WorkflowHandle[EncounterWorkflow, str]:
    """A chart taken in (documents complete) and claimed by CODER: where most tests begin."""
    h = await start(client, queue, history_limit)
    await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m1"))
    await h.execute_update(EncounterWorkflow.claim, ClaimRequest(CODER, "lease-1"))
    return h


@pytest.fixture
def fakes() -> FakeActivities:
    return FakeActivities()


def worker(env: WorkflowEnvironment, fakes: FakeActivities, queue: str) -> Worker:
    return Worker(env.client, task_queue=queue, workflows=[EncounterWorkflow], activities=fakes.all())


class TestLease:
    async def test_an_idle_lease_expires_and_the_chart_returns_to_its_queue(
        self, time_skipping: WorkflowEnvironment, fakes: FakeActivities
    ) -> None:
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await start(time_skipping.client, queue)
            await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m1"))
            claimed = await h.execute_update(EncounterWorkflow.claim, ClaimRequest(CODER, "lease-1"))
            assert claimed.status == "in_coding"
            await time_skipping.sleep(timedelta(minutes=29))
            assert (await h.query(EncounterWorkflow.snapshot)).status == "in_coding"
            await time_skipping.sleep(timedelta(minutes=2))
            snap: Snapshot = await h.query(EncounterWorkflow.snapshot)
            assert snap.status == "ready"
            assert snap.assignee_user is None
            assert fakes.actions()[-1] == "lease_expire"

    async def test_a_released_chart_does_not_expire_later(
        self, time_skipping: WorkflowEnvironment, fakes: FakeActivities
    ) -> None:
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await in_coding(time_skipping.client, queue)
            await h.execute_update(EncounterWorkflow.release, ReleaseRequest(CODER))
            await time_skipping.sleep(timedelta(hours=1))
            assert fakes.actions() == ["docs_complete", "claim", "release"]

    async def test_only_the_holder_may_release_or_submit(
        self, time_skipping: WorkflowEnvironment, fakes: FakeActivities
    ) -> None:
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await in_coding(time_skipping.client, queue)
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await h.execute_update(EncounterWorkflow.release, ReleaseRequest(OTHER))
            assert "not leased to you" in str(refused.value.cause)
            coding = SubmitCodingRequest(OTHER, CodingSubmission([DiagnosisCode("E11.9")]))
            with pytest.raises(WorkflowUpdateFailedError):
                await h.execute_update(EncounterWorkflow.submit_coding, coding)
            assert fakes.actions() == ["docs_complete", "claim"]


class TestTransitions:
    async def test_an_action_the_state_does_not_allow_names_the_state_and_allowed_actions(
        self, time_skipping: WorkflowEnvironment, fakes: FakeActivities
    ) -> None:
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await start(time_skipping.client, queue)
            await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m1"))
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await h.execute_update(EncounterWorkflow.release, ReleaseRequest(CODER))
            cause = refused.value.cause
            assert isinstance(cause, ApplicationError)
            assert "state 'ready'" in str(cause)
            assert cause.details[0] == {"state": "ready", "allowed_actions": ["claim", "place_hold", "reassign"]}

    async def test_a_redelivered_message_is_ingested_once(
        self, time_skipping: WorkflowEnvironment, fakes: FakeActivities
    ) -> None:
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await start(time_skipping.client, queue)
            first = await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m1"))
            again = await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m1"))
            assert first == again
            assert fakes.actions() == ["docs_complete"]


class TestDocumentation:
    async def test_missing_documents_hold_the_chart_until_a_later_message_brings_them(
        self, time_skipping: WorkflowEnvironment, fakes: FakeActivities
    ) -> None:
        fakes.doc_types = {"m1": ["34117-2"], "m2": ["34117-2", "11506-3"]}
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await start(time_skipping.client, queue)
            held = await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m1"))
            assert held.status == "on_hold"
            snap = await h.query(EncounterWorkflow.snapshot)
            assert [hold.reason for hold in snap.holds] == ["missing_documentation"]
            freed = await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m2"))
            assert freed.status == "ready"
            assert fakes.actions() == ["docs_missing", "docs_complete"]


    async def test_a_chart_no_release_serves_keeps_its_code_set_hold_when_its_documents_arrive(
        self, time_skipping: WorkflowEnvironment, fakes: FakeActivities
    ) -> None:
        fakes.doc_types = {"m1": ["34117-2"], "m2": ["34117-2", "11506-3"]}
        fakes.codeset_missing = "ICD-10-CM release for FY2019 (date of service 2019-03-04)"
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await start(time_skipping.client, queue)
            held = await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m1"))
            assert held.status == "on_hold"
            snap = await h.query(EncounterWorkflow.snapshot)
            assert sorted(hold.reason for hold in snap.holds) == ["codeset_release_missing", "missing_documentation"]
            assert fakes.projected[0].reason == "missing document types: 11506-3; " + fakes.codeset_missing
            still = await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m2"))
            assert still.status == "on_hold"
            [hold] = (await h.query(EncounterWorkflow.snapshot)).holds
            assert hold.reason == "codeset_release_missing"
            freed = await h.execute_update(EncounterWorkflow.release_hold, ReleaseHoldRequest(SYSTEM, hold.id))
            assert freed.status == "ready"
            assert fakes.actions() == ["docs_missing", "docs_complete", "release_hold"]


class TestSla:
    async def test_a_chart_not_coded_within_the_sla_is_marked_overdue(
        self, time_skipping: WorkflowEnvironment, fakes: FakeActivities
    ) -> None:
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await start(time_skipping.client, queue)
            await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m1"))
            await time_skipping.sleep(timedelta(hours=47))
            assert not (await h.query(EncounterWorkflow.snapshot)).overdue
            await time_skipping.sleep(timedelta(hours=2))
            assert (await h.query(EncounterWorkflow.snapshot)).overdue
            assert fakes.projected[-1].action == "sla_overdue"
            assert fakes.projected[-1].row["overdue"] is True

    async def test_a_chart_coded_in_time_is_never_overdue(
        self, time_skipping: WorkflowEnvironment, fakes: FakeActivities
    ) -> None:
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await in_coding(time_skipping.client, queue)
            coding = SubmitCodingRequest(CODER, CodingSubmission([DiagnosisCode("E11.9")]))
            await h.execute_update(EncounterWorkflow.submit_coding, coding)
            await time_skipping.sleep(timedelta(days=5))
            assert "sla_overdue" not in fakes.actions()
            assert (await h.query(EncounterWorkflow.snapshot)).status == "submitted"


class TestHistory:
    async def test_a_long_history_continues_as_new_and_keeps_its_state(
        self, time_skipping: WorkflowEnvironment, fakes: FakeActivities
    ) -> None:
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await start(time_skipping.client, queue, history_limit=40)
            first_run = (await h.describe()).run_id
            await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m1"))
            for _ in range(5):
                await h.execute_update(EncounterWorkflow.claim, ClaimRequest(CODER, "lease"))
                await h.execute_update(EncounterWorkflow.release, ReleaseRequest(CODER))
            latest = time_skipping.client.get_workflow_handle(h.id)
            snap = await latest.query(EncounterWorkflow.snapshot)
            assert (await latest.describe()).run_id != first_run
            assert snap.status == "ready"
            assert snap.seq == 11
            assert snap.worked_by == ["coder-1"]
