"""Records the history that keeps the suggestion path replayable:
`python -m tests.workflows.record_suggestion_history` (writes histories/encounter-suggestions.json).

Intake starts the suggestion activity beside the workflow (marker `suggest-codes`); the history
holds two intakes, each with its completed suggestion run, then a claim and a coding that cites
an accepted suggestion.
"""

import asyncio
import shutil
import sys
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models.coding.rules import CodingSubmission, DiagnosisCode, Evidence
from tests.workflows.test_encounter_workflow import CODER, FakeActivities
from workflows.encounter import EncounterWorkflow
from workflows.types import ClaimRequest, EncounterInput, IngestRequest, SubmitCodingRequest

HISTORY = Path(__file__).parent / "histories" / "encounter-suggestions.json"


async def record() -> None:
    fakes = FakeActivities()
    binary = shutil.which("temporal-test-server") or str(Path(sys.executable).with_name("temporal-test-server"))
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=binary)
    async with Worker(env.client, task_queue="record", workflows=[EncounterWorkflow], activities=fakes.all()):
        eid = str(uuid.uuid4())
        h = await env.client.start_workflow(EncounterWorkflow.run, EncounterInput("t1", eid), id=f"encounter/{eid}", task_queue="record")
        await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m1"))
        await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m2"))
        await env.sleep(timedelta(seconds=5))
        assert len(fakes.suggested) == 2
        await h.execute_update(EncounterWorkflow.claim, ClaimRequest(CODER, "lease-1"))
        coding = CodingSubmission([DiagnosisCode("E11.65", [Evidence("doc-m1", "0" * 64)], str(uuid.uuid4()))])
        await h.execute_update(EncounterWorkflow.submit_coding, SubmitCodingRequest(CODER, coding))
        await env.sleep(timedelta(seconds=1))
        history = await h.fetch_history()
        await h.terminate("recorded")
    await env.shutdown()
    HISTORY.write_text(history.to_json())


if __name__ == "__main__":
    asyncio.run(record())
