"""Records the histories the replay test checks: `python -m tests.workflows.record_histories`.

Re-record only when a workflow change is meant to be incompatible (and version it); otherwise
the replay test is what catches an accidental nondeterministic change.
"""

import asyncio
import dataclasses
import shutil
import sys
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models.coding.rules import CodingSubmission, DiagnosisCode, Evidence, ProcedureCode
from tests.workflows.test_encounter_workflow import CODER, OPS, FakeActivities
from tests.workflows.test_queries_and_holds import PHYSICIAN
from workflows.encounter import EncounterWorkflow
from workflows.types import (
    AnswerQueryRequest,
    AppealDecisionRequest,
    AppealRequest,
    ClaimAckRequest,
    ClaimRequest,
    DenialRef,
    EditRef,
    EncounterInput,
    IndicatorRef,
    IngestRequest,
    PlaceHoldRequest,
    RaiseQueryRequest,
    ReassignRequest,
    ReleaseHoldRequest,
    RemitRequest,
    ScrubOutcome,
    SubmitCodingRequest,
    WithdrawQueryRequest,
)

HISTORIES = Path(__file__).parent / "histories"


async def record() -> None:
    fakes = FakeActivities()
    fakes.doc_types = {"m1": ["34117-2"], "m2": ["34117-2", "11506-3"]}
    binary = shutil.which("temporal-test-server") or str(Path(sys.executable).with_name("temporal-test-server"))
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=binary)
    queue = "record"
    async with Worker(env.client, task_queue=queue, workflows=[EncounterWorkflow], activities=fakes.all()):
        eid = str(uuid.uuid4())
        h = await env.client.start_workflow(EncounterWorkflow.run, EncounterInput("t1", eid), id=f"encounter/{eid}", task_queue=queue)
        await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m1"))
        await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m2"))
        await h.execute_update(EncounterWorkflow.claim, ClaimRequest(CODER, "lease-1"))
        await env.sleep(timedelta(minutes=31))
        await h.execute_update(EncounterWorkflow.reassign, ReassignRequest(OPS, "coder-1", "v1"))
        hold = await h.execute_update(EncounterWorkflow.place_hold, PlaceHoldRequest(CODER, "registration_error"))
        await h.execute_update(EncounterWorkflow.release_hold, ReleaseHoldRequest(OPS, hold.hold_id or ""))
        coding = CodingSubmission(
            [DiagnosisCode("E11.65", [Evidence("doc-m2", "0" * 64)]), DiagnosisCode("I10")],
            [ProcedureCode("99214", ["25"], 1, [1, 2])],
        )
        await h.execute_update(EncounterWorkflow.submit_coding, SubmitCodingRequest(CODER, coding))
        await env.sleep(timedelta(days=3))
        spine = await h.fetch_history()
        await h.terminate("recorded")

        eid = str(uuid.uuid4())
        h = await env.client.start_workflow(EncounterWorkflow.run, EncounterInput("t1", eid), id=f"encounter/{eid}", task_queue=queue)
        await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m2"))
        await h.execute_update(EncounterWorkflow.claim, ClaimRequest(CODER, "lease-1"))
        question = RaiseQueryRequest(CODER, "q1", "open_ended", "q" * 64, [IndicatorRef("doc-m2", "e" * 64)], "1234567893")
        await h.execute_update(EncounterWorkflow.raise_query, question)
        await env.sleep(timedelta(hours=30))
        answer = AnswerQueryRequest(PHYSICIAN, "q1", free_text_sha256="a" * 64, addendum_sha256="b" * 64)
        await h.execute_update(EncounterWorkflow.answer_query, answer)
        await h.execute_update(EncounterWorkflow.raise_query, dataclasses.replace(question, query_id="q2"))
        await h.execute_update(EncounterWorkflow.withdraw_query, WithdrawQueryRequest(CODER, "q2"))
        await env.sleep(timedelta(hours=1))
        queries = await h.fetch_history()
        await h.terminate("recorded")
        fakes.scrub_outcomes = [ScrubOutcome("s1", hard=[EditRef("em.modifier25_missing", "hard", "99214", 0)])]
        eid = str(uuid.uuid4())
        h = await env.client.start_workflow(EncounterWorkflow.run, EncounterInput("t1", eid), id=f"encounter/{eid}", task_queue=queue)
        await h.execute_update(EncounterWorkflow.ingest, IngestRequest("m2"))
        await h.execute_update(EncounterWorkflow.claim, ClaimRequest(CODER, "lease-1"))
        await h.execute_update(EncounterWorkflow.submit_coding, SubmitCodingRequest(CODER, coding))
        await h.execute_update(EncounterWorkflow.submit_coding, SubmitCodingRequest(CODER, coding))
        await env.sleep(timedelta(seconds=1))
        snap = await h.query(EncounterWorkflow.snapshot)
        claim_id = snap.claim.claim_id or ""
        await h.execute_update(EncounterWorkflow.acknowledge_claim, ClaimAckRequest(claim_id, True, "A2:20"))
        assert snap.claim.submitted_at is not None
        deadline = (snap.claim.submitted_at + timedelta(days=120)).date().isoformat()
        await h.execute_update(EncounterWorkflow.remit, RemitRequest(claim_id, "p1", "denied", 0, [DenialRef("d1", "coding", True, deadline, {})]))
        await env.sleep(timedelta(days=95))
        await h.execute_update(EncounterWorkflow.file_appeal, AppealRequest(OPS, "a1", "d1", "redetermination", "r" * 64, deadline))
        await h.execute_update(EncounterWorkflow.decide_appeal, AppealDecisionRequest(OPS, "a1", "overturned", 12000))
        claims = await h.fetch_history()
    await env.shutdown()
    HISTORIES.mkdir(exist_ok=True)
    # A file is written only when it is missing: what an earlier version recorded stays, so the
    # replay test keeps checking that histories of every version still replay. The newest
    # claims history is named for the latest change to the claim path (BILL_IN_ONE).
    recorded = {
        "encounter-spine.json": spine,
        "encounter-queries.json": queries,
        "encounter-claims.json": claims,
        "encounter-claims-billed-in-one.json": claims,
    }
    for name, history in recorded.items():
        if not (HISTORIES / name).exists():
            (HISTORIES / name).write_text(history.to_json())


if __name__ == "__main__":
    asyncio.run(record())
