"""The claim stage's clocks on the time-skipping server: follow-up, appeal warnings, write-off."""

import uuid
from datetime import timedelta

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from models.coding.rules import CodingSubmission, DiagnosisCode, ProcedureCode
from tests.workflows.test_encounter_workflow import CODER, OPS, FakeActivities, in_coding, worker
from workflows.encounter import EncounterWorkflow
from workflows.types import (
    AppealRequest,
    DenialRef,
    EditRef,
    Policy,
    RemitRequest,
    ScrubOutcome,
    SubmitCodingRequest,
)

CODING = CodingSubmission([DiagnosisCode("E11.9")], [ProcedureCode("99214", [], 1, [1])])


async def billed(env: WorkflowEnvironment, fakes: FakeActivities, queue: str) -> WorkflowHandle[EncounterWorkflow, str]:
    h = await in_coding(env.client, queue)
    await h.execute_update(EncounterWorkflow.submit_coding, SubmitCodingRequest(CODER, CODING))
    await env.sleep(timedelta(seconds=1))
    assert (await h.query(EncounterWorkflow.snapshot)).status == "submitted"
    return h


async def denied(env: WorkflowEnvironment, h: WorkflowHandle[EncounterWorkflow, str], days_to_deadline: int) -> str:
    snap = await h.query(EncounterWorkflow.snapshot)
    assert snap.claim.submitted_at is not None
    deadline = (snap.claim.submitted_at + timedelta(days=days_to_deadline)).date().isoformat()
    denial = DenialRef("d1", "coding", True, deadline, {})
    await h.execute_update(EncounterWorkflow.remit, RemitRequest(snap.claim.claim_id or "", "p1", "denied", 0, [denial]))
    return deadline


class TestFollowUp:
    async def test_no_payer_answer_within_the_window_raises_a_follow_up_once(self, time_skipping: WorkflowEnvironment) -> None:
        fakes = FakeActivities(Policy(claim_follow_up_days=30))
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            await billed(time_skipping, fakes, queue)
            await time_skipping.sleep(timedelta(days=29))
            assert "claim_follow_up" not in fakes.actions()
            await time_skipping.sleep(timedelta(days=2))
            assert fakes.actions().count("claim_follow_up") == 1
            await time_skipping.sleep(timedelta(days=30))
            assert fakes.actions().count("claim_follow_up") == 1


class TestAppealDeadline:
    async def test_warnings_fire_before_the_deadline_and_an_unappealed_denial_is_written_off(self, time_skipping: WorkflowEnvironment) -> None:
        fakes = FakeActivities(Policy(appeal_warning_days=[30, 7]))
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await billed(time_skipping, fakes, queue)
            await denied(time_skipping, h, days_to_deadline=60)
            assert (await h.query(EncounterWorkflow.snapshot)).status == "denied"
            await time_skipping.sleep(timedelta(days=29))
            assert "appeal_deadline_warning" not in fakes.actions()
            await time_skipping.sleep(timedelta(days=2))
            assert fakes.actions().count("appeal_deadline_warning") == 1
            await time_skipping.sleep(timedelta(days=23))
            assert fakes.actions().count("appeal_deadline_warning") == 2
            await time_skipping.sleep(timedelta(days=8))
            assert fakes.actions()[-1] == "write_off"
            assert (await h.query(EncounterWorkflow.snapshot)).status == "closed"

    async def test_filing_an_appeal_stops_the_warnings(self, time_skipping: WorkflowEnvironment) -> None:
        fakes = FakeActivities(Policy(appeal_warning_days=[30, 7]))
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await billed(time_skipping, fakes, queue)
            deadline = await denied(time_skipping, h, days_to_deadline=60)
            await h.execute_update(EncounterWorkflow.file_appeal, AppealRequest(OPS, "a1", "d1", "redetermination", "r" * 64, deadline))
            await time_skipping.sleep(timedelta(days=90))
            assert "appeal_deadline_warning" not in fakes.actions()
            assert (await h.query(EncounterWorkflow.snapshot)).status == "in_appeal"


class TestRework:
    async def test_hard_edits_return_the_chart_to_its_coder_and_a_clean_rescrub_bills_it(self, time_skipping: WorkflowEnvironment) -> None:
        fakes = FakeActivities()
        fakes.scrub_outcomes = [ScrubOutcome("s1", hard=[EditRef("em.modifier25_missing", "hard", "99214", 0)])]
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await in_coding(time_skipping.client, queue)
            first = await h.execute_update(EncounterWorkflow.submit_coding, SubmitCodingRequest(CODER, CODING))
            assert first.status == "in_coding"
            assert fakes.submitted == []
            await h.execute_update(EncounterWorkflow.submit_coding, SubmitCodingRequest(CODER, CODING))
            await time_skipping.sleep(timedelta(seconds=1))
            assert fakes.submitted == ["claim-scrub-2"]


class TestPrebillReview:
    async def test_a_clean_claim_waits_out_the_review_window_and_a_qa_hold_until_released(self, time_skipping: WorkflowEnvironment) -> None:
        fakes = FakeActivities(Policy(prebill_review_hours=24))
        fakes.held_for_qa = 1
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await in_coding(time_skipping.client, queue)
            await h.execute_update(EncounterWorkflow.submit_coding, SubmitCodingRequest(CODER, CODING))
            await time_skipping.sleep(timedelta(hours=23))
            assert fakes.submitted == []
            await time_skipping.sleep(timedelta(hours=2))
            snap = await h.query(EncounterWorkflow.snapshot)
            assert snap.claim.qa_held
            assert "qa_prebill_hold" in fakes.actions()
            assert fakes.submitted == []
            await h.signal(EncounterWorkflow.qa_released)
            await time_skipping.sleep(timedelta(seconds=1))
            assert len(fakes.submitted) == 1
            assert (await h.query(EncounterWorkflow.snapshot)).status == "submitted"
