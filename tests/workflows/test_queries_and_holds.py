"""Physician query clocks and hold aging on the time-skipping server: no test waits in real time."""

import uuid
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from tests.workflows.test_encounter_workflow import CODER, OPS, FakeActivities, in_coding, worker
from workflows.encounter import FRONT_OF_QUEUE, EncounterWorkflow
from workflows.types import (
    Actor,
    AnswerQueryRequest,
    IndicatorRef,
    PlaceHoldRequest,
    Policy,
    RaiseQueryRequest,
    WithdrawQueryRequest,
)

PHYSICIAN = Actor("dr-1", "physician", npi="1234567893")
OTHER_PHYSICIAN = Actor("dr-2", "physician", npi="1999999984")


def ask(query_id: str) -> RaiseQueryRequest:
    return RaiseQueryRequest(
        actor=CODER,
        query_id=query_id,
        form="open_ended",
        question_sha256="q" * 64,
        indicators=[IndicatorRef("doc-1", "e" * 64)],
        physician_npi="1234567893",
    )


def kinds(fakes: FakeActivities) -> list[str]:
    return [n.kind for n in fakes.notified]


class TestQueryClock:
    async def test_reminder_escalation_and_expiry_fire_at_the_configured_times(self, time_skipping: WorkflowEnvironment) -> None:
        fakes = FakeActivities(Policy(query_reminder_hours=24, query_escalate_hours=48, query_expire_hours=168, query_escalate_to="advisor-1"))
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await in_coding(time_skipping.client, queue)
            raised = await h.execute_update(EncounterWorkflow.raise_query, ask("q1"))
            assert raised.status == "on_hold"
            await time_skipping.sleep(timedelta(hours=23))
            assert kinds(fakes) == ["query_opened"]
            await time_skipping.sleep(timedelta(hours=2))
            assert kinds(fakes) == ["query_opened", "query_reminder"]
            await time_skipping.sleep(timedelta(hours=24))
            assert kinds(fakes)[-1] == "query_escalation"
            assert fakes.notified[-1].recipient == "advisor-1"
            await time_skipping.sleep(timedelta(days=5))
            assert kinds(fakes)[-1] == "query_expired"
            assert fakes.notified[-1].recipient == "ops"
            snap = await h.query(EncounterWorkflow.snapshot)
            assert snap.status == "on_hold"
            assert [x.reason for x in snap.holds] == ["awaiting_query_response"]
            query_events = [a for a in fakes.actions() if a.startswith("query_")]
            assert query_events == ["query_reminder", "query_escalation", "query_expired"]

    async def test_an_answer_stops_the_clock_and_returns_the_chart_to_the_coder(self, time_skipping: WorkflowEnvironment) -> None:
        fakes = FakeActivities()
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await in_coding(time_skipping.client, queue)
            await h.execute_update(EncounterWorkflow.raise_query, ask("q1"))
            await time_skipping.sleep(timedelta(hours=25))
            answered = await h.execute_update(
                EncounterWorkflow.answer_query, AnswerQueryRequest(PHYSICIAN, "q1", free_text_sha256="a" * 64, addendum_sha256="b" * 64)
            )
            assert answered.status == "in_coding"
            assert (await h.query(EncounterWorkflow.snapshot)).assignee_user == "coder-1"
            await time_skipping.sleep(timedelta(days=10))
            assert "query_escalation" not in kinds(fakes)
            assert "query_expired" not in kinds(fakes)
            answer_event = next(p for p in fakes.projected if p.action == "answer_query")
            assert answer_event.query is not None
            assert answer_event.query.fields["addendum_document_id"] == "addendum-q1"

    async def test_a_withdrawn_query_stops_the_clock(self, time_skipping: WorkflowEnvironment) -> None:
        fakes = FakeActivities()
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await in_coding(time_skipping.client, queue)
            await h.execute_update(EncounterWorkflow.raise_query, ask("q1"))
            await h.execute_update(EncounterWorkflow.withdraw_query, WithdrawQueryRequest(CODER, "q1"))
            await time_skipping.sleep(timedelta(days=8))
            assert [k for k in kinds(fakes) if k.startswith("query_")] == ["query_opened"]

    async def test_with_the_queue_policy_an_answer_puts_the_chart_at_the_front_of_its_queue(
        self, time_skipping: WorkflowEnvironment
    ) -> None:
        fakes = FakeActivities(Policy(query_keeps_assignee=False))
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await in_coding(time_skipping.client, queue)
            await h.execute_update(EncounterWorkflow.raise_query, ask("q1"))
            answered = await h.execute_update(EncounterWorkflow.answer_query, AnswerQueryRequest(PHYSICIAN, "q1", option_index=0))
            assert answered.status == "ready"
            snap = await h.query(EncounterWorkflow.snapshot)
            assert snap.assignee_user is None
            assert snap.priority >= FRONT_OF_QUEUE

    async def test_another_physician_cannot_answer(self, time_skipping: WorkflowEnvironment) -> None:
        fakes = FakeActivities()
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await in_coding(time_skipping.client, queue)
            await h.execute_update(EncounterWorkflow.raise_query, ask("q1"))
            with pytest.raises(WorkflowUpdateFailedError, match="Workflow update failed"):
                await h.execute_update(EncounterWorkflow.answer_query, AnswerQueryRequest(OTHER_PHYSICIAN, "q1", option_index=0))
            assert "answer_query" not in fakes.actions()

    async def test_an_admin_cannot_answer_but_a_named_delegate_can(self, time_skipping: WorkflowEnvironment) -> None:
        fakes = FakeActivities()
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await in_coding(time_skipping.client, queue)
            await h.execute_update(EncounterWorkflow.raise_query, ask("q1"))
            for refused in (
                AnswerQueryRequest(Actor("admin-1", "admin"), "q1", option_index=0),
                AnswerQueryRequest(Actor("admin-1", "admin"), "q1", option_index=0, delegate_of="1234567893"),
                AnswerQueryRequest(OTHER_PHYSICIAN, "q1", option_index=0, delegate_of="dr-9"),
            ):
                with pytest.raises(WorkflowUpdateFailedError):
                    await h.execute_update(EncounterWorkflow.answer_query, refused)
            assert "answer_query" not in fakes.actions()
            delegate = AnswerQueryRequest(OTHER_PHYSICIAN, "q1", option_index=0, delegate_of="1234567893")
            answered = await h.execute_update(EncounterWorkflow.answer_query, delegate)
            assert answered.status == "in_coding"
            assert "answer_query" in fakes.actions()

    async def test_a_coder_cannot_query_a_chart_it_does_not_hold(self, time_skipping: WorkflowEnvironment) -> None:
        fakes = FakeActivities()
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await in_coding(time_skipping.client, queue)
            stranger = RaiseQueryRequest(Actor("coder-9", "coder", "v1"), "q9", "open_ended", "q" * 64, [IndicatorRef("d", "e" * 64)], "1234567893")
            with pytest.raises(WorkflowUpdateFailedError):
                await h.execute_update(EncounterWorkflow.raise_query, stranger)
            assert (await h.query(EncounterWorkflow.snapshot)).queries == []


class TestHoldAging:
    async def test_a_hold_past_its_threshold_alerts_ops_once(self, time_skipping: WorkflowEnvironment) -> None:
        fakes = FakeActivities(Policy(hold_alert_hours={"registration_error": 24}))
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await in_coding(time_skipping.client, queue)
            await h.execute_update(EncounterWorkflow.place_hold, PlaceHoldRequest(OPS, "registration_error"))
            await time_skipping.sleep(timedelta(hours=23))
            assert "hold_aging_alert" not in kinds(fakes)
            await time_skipping.sleep(timedelta(hours=2))
            assert kinds(fakes).count("hold_aging_alert") == 1
            await time_skipping.sleep(timedelta(days=3))
            assert kinds(fakes).count("hold_aging_alert") == 1
            assert fakes.actions().count("hold_aging_alert") == 1

    async def test_the_default_threshold_applies_per_reason(self, time_skipping: WorkflowEnvironment) -> None:
        fakes = FakeActivities()
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await in_coding(time_skipping.client, queue)
            await h.execute_update(EncounterWorkflow.place_hold, PlaceHoldRequest(OPS, "payer_instruction"))
            await time_skipping.sleep(timedelta(days=4, hours=23))
            assert "hold_aging_alert" not in kinds(fakes)
            await time_skipping.sleep(timedelta(hours=2))
            assert "hold_aging_alert" in kinds(fakes)
