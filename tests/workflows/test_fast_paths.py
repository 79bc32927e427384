"""Submit fast path and the billing queue: what the coder waits for, and where billing runs."""

import uuid

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models.coding.rules import CodingSubmission, DiagnosisCode
from tests.support import eventually
from tests.workflows.test_encounter_workflow import CODER, FakeActivities
from workflows.encounter import EncounterWorkflow
from workflows.types import (
    ClaimRequest,
    EditRef,
    EncounterInput,
    IngestRequest,
    ScrubOutcome,
    SubmitCodingRequest,
)

CODING = CodingSubmission(diagnoses=[DiagnosisCode("E11.9", [])], procedures=[])


async def coded(client: Client, queue: str, billing_queue: str | None) -> WorkflowHandle[EncounterWorkflow, str]:
    eid = str(uuid.uuid4())
    h = await client.start_workflow(
        EncounterWorkflow.run,
        EncounterInput("t1", eid, billing_task_queue=billing_queue),
        id=f"encounter/{eid}",
        task_queue=queue,
    )
    await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m1"))
    await h.execute_update(EncounterWorkflow.claim, ClaimRequest(CODER, "lease-1"))
    return h


class TestSubmitFastPath:
    async def test_the_answer_carries_the_scrub_and_its_writes_are_local_activities(self, time_skipping: WorkflowEnvironment) -> None:
        fakes, queue = FakeActivities(), f"tq-{uuid.uuid4()}"
        async with Worker(time_skipping.client, task_queue=queue, workflows=[EncounterWorkflow], activities=fakes.all()):
            h = await coded(time_skipping.client, queue, None)
            outcome = await h.execute_update(EncounterWorkflow.submit_coding, SubmitCodingRequest(CODER, CODING))
            assert outcome.scrub_id == "scrub-1"
            assert fakes.actions()[-2:] == ["submit_coding", "start_scrub"]
            # The scrub ran first; the coding and the scrub's start were projected together.
            assert fakes.batches == [["submit_coding", "start_scrub"]]
            history = await h.fetch_history()
        scheduled = [
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in history.events
            if e.HasField("activity_task_scheduled_event_attributes")
        ]
        markers = [e for e in history.events if e.HasField("marker_recorded_event_attributes")]
        # Intake, projections and the scrub ran in the workflow task; only billing went to the server.
        assert not {"encounters.intake", "encounters.project", "encounters.project_batch", "claims.scrub"} & set(scheduled)
        assert len(markers) >= 5

    async def test_hard_edits_go_back_to_the_coder_in_the_same_single_projection(self, time_skipping: WorkflowEnvironment) -> None:
        fakes, queue = FakeActivities(), f"tq-{uuid.uuid4()}"
        fakes.scrub_outcomes = [ScrubOutcome("scrub-1", hard=[EditRef("ncci.ptp", "hard", "99214", 0)])]
        async with Worker(time_skipping.client, task_queue=queue, workflows=[EncounterWorkflow], activities=fakes.all()):
            h = await coded(time_skipping.client, queue, None)
            outcome = await h.execute_update(EncounterWorkflow.submit_coding, SubmitCodingRequest(CODER, CODING))
        assert outcome.status == "in_coding"
        assert fakes.batches == [["submit_coding", "start_scrub", "scrub_hard_edits"]]
        assert [p.seq for p in fakes.projected[-3:]] == [outcome.seq - 2, outcome.seq - 1, outcome.seq]


class TestBillingQueue:
    async def test_claims_are_built_and_sent_by_the_billing_worker_only(self, time_skipping: WorkflowEnvironment) -> None:
        interactive, billing = FakeActivities(), FakeActivities()
        queue = f"tq-{uuid.uuid4()}"
        billing_queue = f"{queue}-billing"
        async with (
            Worker(time_skipping.client, task_queue=queue, workflows=[EncounterWorkflow], activities=interactive.all()),
            Worker(
                time_skipping.client, task_queue=billing_queue,
                activities=[billing.create_claim, billing.submit_claim, billing.bill_claim, billing.suggest, billing.project],
            ),
        ):
            h = await coded(time_skipping.client, queue, billing_queue)
            # Code suggestions are background work too: the engine's CPU is not the coders' worker's.
            await eventually(billing.suggestions, until=lambda found: len(found) == 1)
            await h.execute_update(EncounterWorkflow.submit_coding, SubmitCodingRequest(CODER, CODING))
            await eventually(lambda: h.query(EncounterWorkflow.snapshot), until=lambda s: s.status == "submitted")
        assert billing.submitted == ["claim-scrub-1"]
        # Built and queued by one activity: one server round trip and one workflow task, not two.
        assert billing.billed == ["scrub-1"]
        assert interactive.submitted == []
        assert interactive.suggested == []
        # What billing changed was projected by the billing worker; the coder's changes were not.
        assert billing.actions() == ["scrub_clean"]
        assert "scrub_clean" not in interactive.actions()
        assert "submit_coding" in interactive.actions()
