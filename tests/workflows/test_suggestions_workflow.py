"""Intake starts code suggestions beside the workflow, once per message that brings documents."""

import uuid

import pytest
from temporalio.testing import WorkflowEnvironment

from models.coding.suggestions import SuggestCodesInput
from tests.support import eventually
from tests.workflows.test_encounter_workflow import FakeActivities, start, worker
from workflows.encounter import EncounterWorkflow
from workflows.types import IngestRequest


@pytest.fixture
def fakes() -> FakeActivities:
    return FakeActivities()


class TestSuggestionsAtIntake:
    async def test_documents_arriving_start_suggestions_by_ids_only(
        self, time_skipping: WorkflowEnvironment, fakes: FakeActivities
    ) -> None:
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await start(time_skipping.client, queue)
            outcome = await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m1"))
            assert outcome.status == "ready"
            await eventually(lambda: _count(fakes), until=lambda n: n == 1)
            encounter_id = h.id.removeprefix("encounter/")
            assert fakes.suggested == [SuggestCodesInput("t1", encounter_id)]

    async def test_a_redelivered_message_does_not_suggest_again(
        self, time_skipping: WorkflowEnvironment, fakes: FakeActivities
    ) -> None:
        queue = f"tq-{uuid.uuid4()}"
        async with worker(time_skipping, fakes, queue):
            h = await start(time_skipping.client, queue)
            await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m1"))
            await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m1"))
            await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m2"))
            await eventually(lambda: _count(fakes), until=lambda n: n == 2)
            assert fakes.actions() == ["docs_complete", "documents_added"]


async def _count(fakes: FakeActivities) -> int:
    return len(fakes.suggested)
