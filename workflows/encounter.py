"""One durable workflow per encounter: it owns the state, holds, queries, claim and clocks.

Human actions are updates with validators (rejected before they enter history); each accepted
change is projected to PostgreSQL with its audit event before the update returns, so callers
read their own writes. Timers (lease, coding SLA, query reminder → escalation → expiry, hold
aging, claim follow-up, appeal deadlines) are computed by `workflows.clock` and fired by the run
loop. The query and claim stages live in their own modules (`workflows.queries`,
`workflows.claims`) on the shared `workflows.core.EncounterCore`.
"""

import asyncio
import contextlib
import dataclasses
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.encounters.lifecycle import State
    from workflows import clock
    from workflows.types import (
        SYSTEM,
        ClaimRequest,
        EncounterInput,
        IngestRequest,
        IntakeFacts,
        IntakeInput,
        Outcome,
        PlaceHoldRequest,
        ReassignRequest,
        ReleaseHoldRequest,
        ReleaseRequest,
        Snapshot,
        SubmitCodingRequest,
    )

from workflows.claims import ClaimStage
from workflows.core import FRONT_OF_QUEUE, INTAKE_RETRY, MANAGERS, refuse
from workflows.queries import QueryStage
from workflows.suggestions import SUGGEST_CODES, start_suggestions

__all__ = ["FRONT_OF_QUEUE", "EncounterWorkflow", "encounter_workflow_id"]

# Patch markers: each names a change to the command sequence, so older histories still replay.
SCRUB_AFTER_CODING = "scrub-after-coding"
# The scrub runs first, then the coding, the scrub's start and its outcome are projected in one
# transaction: a coder's submit costs two database round trips instead of three or four.
SUBMIT_IN_ONE_PROJECTION = "submit-in-one-projection"


def encounter_workflow_id(encounter_id: str) -> str:
    return f"encounter/{encounter_id}"


@workflow.defn(name="Encounter")
class EncounterWorkflow(ClaimStage, QueryStage):
    @workflow.init
    def __init__(self, inp: EncounterInput) -> None:
        self._tenant = inp.tenant_id
        self._id = inp.encounter_id
        self._s = inp.snapshot or Snapshot()
        self._history_limit = inp.history_limit
        self._billing_queue = inp.billing_task_queue
        self._lock = asyncio.Lock()
        self._wake = False

    @workflow.run
    async def run(self, inp: EncounterInput) -> str:  # noqa: ARG002 - state comes from __init__
        while self._s.status != "closed":
            if self._history_full() and not self._lock.locked():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(EncounterInput(self._tenant, self._id, self._s, self._history_limit, self._billing_queue))
            self._wake = False
            deadline = clock.next_deadline(self._s, workflow.now())
            timeout = None if deadline is None else max(deadline - workflow.now(), timedelta(0))
            if timeout is None or timeout > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: self._wake or self._history_full(), timeout=timeout)
            await self._fire_timers()
            if self._may_bill():
                async with self._lock, self._in_background():
                    await self._bill()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._s.status

    def _history_full(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > self._history_limit

    @workflow.query
    def snapshot(self) -> Snapshot:
        return self._s

    # ---- intake ----------------------------------------------------------------------------

    @workflow.update
    async def ingest(self, req: IngestRequest) -> Outcome:
        key = f"{req.message_id}#{req.bundle_index}"
        async with self._lock:
            if key in self._s.ingested:
                return self._outcome()
            facts: IntakeFacts = await self._execute(
                "encounters.intake",
                IntakeInput(self._tenant, self._id, workflow.info().workflow_id, req.message_id, req.bundle_index),
                IntakeFacts,
                retry_policy=INTAKE_RETRY,
            )
            s = self._s
            s.ingested.append(key)
            first = s.received_at is None
            before = self._public()
            s.doc_types = sorted(set(s.doc_types) | set(facts.doc_types))
            s.required_doc_types = facts.required_doc_types
            s.policy = facts.policy
            if first:
                s.received_at = workflow.now()
                s.sla_due_at = s.received_at + timedelta(hours=facts.policy.coding_sla_hours)
                s.queue_id, s.priority = facts.queue_id, facts.priority
            missing = sorted(set(s.required_doc_types) - set(s.doc_types))
            reason = f"documents received: {len(facts.new_document_ids)}"
            if first and (missing or facts.codeset_missing):
                # One commit either way: a chart held for its code set differs from one held for
                # documents only in its holds and the reason the timeline shows.
                gaps = [f"missing document types: {', '.join(missing)}"] if missing else []
                if missing:
                    self._add_hold("missing_documentation", SYSTEM)
                if facts.codeset_missing:
                    self._add_hold("codeset_release_missing", SYSTEM)
                    gaps.append(facts.codeset_missing)
                await self._commit("docs_missing" if missing else "place_hold", SYSTEM, before, "on_hold", reason="; ".join(gaps))
            elif first:
                await self._commit("docs_complete", SYSTEM, before, "ready", reason=reason)
            elif not missing and self._drop_holds(lambda h: h.reason == "missing_documentation"):
                await self._commit("docs_complete", SYSTEM, before, self._after_holds(), reason=reason)
            elif facts.new_document_ids:
                await self._commit("documents_added", SYSTEM, before, s.status, reason=reason)
            if facts.new_document_ids and workflow.patched(SUGGEST_CODES):
                start_suggestions(self._tenant, self._id, self._billing_queue)
            return self._outcome()

    # ---- the coder's lease -----------------------------------------------------------------

    @workflow.update
    async def claim(self, req: ClaimRequest) -> Outcome:
        async with self._lock:
            self._validate("claim")
            before = self._public()
            self._assign(req.actor.user_id, req.actor.vendor_id, req.lease_token)
            await self._commit("claim", req.actor, before, "in_coding")
            return self._outcome()

    @claim.validator
    def _validate_claim(self, req: ClaimRequest) -> None:  # noqa: ARG002
        self._validate("claim")

    @workflow.update
    async def release(self, req: ReleaseRequest) -> Outcome:
        async with self._lock:
            self._validate_release(req)
            before = self._public()
            self._unassign()
            await self._commit("release", req.actor, before, "ready")
            return self._outcome()

    @release.validator
    def _validate_release(self, req: ReleaseRequest) -> None:
        self._validate("release")
        self._check_holder(req.actor)

    @workflow.update
    async def reassign(self, req: ReassignRequest) -> Outcome:
        async with self._lock:
            self._validate_reassign(req)
            before = self._public()
            to: State
            if req.to_user is None:
                self._unassign()
                to = "on_hold" if self._s.status == "on_hold" else "ready"
            else:
                self._assign(req.to_user, req.to_vendor, str(workflow.uuid4()))
                to = "on_hold" if self._s.status == "on_hold" else "in_coding"
            await self._commit("reassign", req.actor, before, to, reason=f"to {req.to_user or 'queue'}")
            return self._outcome()

    @reassign.validator
    def _validate_reassign(self, req: ReassignRequest) -> None:
        self._validate("reassign")
        if req.to_user is None and self._s.status == "ready":
            raise refuse("the chart is already waiting in its queue", "InvalidTransition", state="ready")
        if req.actor.role not in MANAGERS:
            raise refuse("only operations can reassign a chart", "Forbidden")

    @workflow.update
    async def submit_coding(self, req: SubmitCodingRequest) -> Outcome:
        async with self._lock:
            self._validate_submit_coding(req)
            s = self._s
            if workflow.patched(SUBMIT_IN_ONE_PROJECTION):
                scrubbed = await self._run_scrub(req.coding, s.claim.scrub_runs + 1)
                async with self._together():
                    await self._record_coding(req)
                    return await self._scrub(scrubbed)
            await self._record_coding(req)
            if workflow.patched(SCRUB_AFTER_CODING):
                return await self._scrub()
            return self._outcome()  # charts coded before the claim stage existed wait at coded

    async def _record_coding(self, req: SubmitCodingRequest) -> None:
        before, s = self._public(), self._s
        s.coding, s.coded_at = req.coding, workflow.now()
        s.lease_expires_at = s.lease_token = None
        await self._commit("submit_coding", req.actor, before, "coded")

    @submit_coding.validator
    def _validate_submit_coding(self, req: SubmitCodingRequest) -> None:
        self._validate("submit_coding")
        self._check_holder(req.actor)

    # ---- holds -----------------------------------------------------------------------------

    @workflow.update
    async def place_hold(self, req: PlaceHoldRequest) -> Outcome:
        async with self._lock:
            self._validate_place_hold(req)
            before = self._public()
            hold = self._add_hold(req.reason, req.actor, req.note_sha256)
            self._s.lease_expires_at = None
            await self._commit("place_hold", req.actor, before, "on_hold", reason=req.reason)
            return dataclasses.replace(self._outcome(), hold_id=hold.id)

    @place_hold.validator
    def _validate_place_hold(self, req: PlaceHoldRequest) -> None:
        self._validate("place_hold")
        if req.actor.role == "coder" and self._s.status != "ready":
            self._check_holder(req.actor)

    @workflow.update
    async def release_hold(self, req: ReleaseHoldRequest) -> Outcome:
        async with self._lock:
            self._validate_release_hold(req)
            before = self._public()
            self._drop_holds(lambda h: h.id == req.hold_id)
            await self._commit("release_hold", req.actor, before, self._after_holds(), reason=req.hold_id)
            return self._outcome()

    @release_hold.validator
    def _validate_release_hold(self, req: ReleaseHoldRequest) -> None:
        self._validate("release_hold")
        hold = next((h for h in self._s.holds if h.id == req.hold_id), None)
        if hold is None:
            raise refuse(f"hold {req.hold_id} is not open on this encounter", "NotFound")
        if hold.query_id is not None:
            raise refuse("this hold belongs to a physician query: answer or withdraw the query instead", "InvalidTransition", state=self._s.status)

    # ---- timers ----------------------------------------------------------------------------

    async def _fire_timers(self) -> None:
        async with self._lock:
            for due in clock.due(self._s, workflow.now()):
                await self._fire(due)

    async def _fire(self, due: clock.Due) -> None:
        s = self._s
        before = self._public()
        if due.kind == "lease" and s.status == "in_coding":
            self._unassign()
            await self._commit("lease_expire", SYSTEM, before, "ready", reason="lease idle past its limit")
        elif due.kind == "sla" and s.status in clock.PRE_CODING:
            s.overdue = True
            await self._commit("sla_overdue", SYSTEM, before, s.status, reason="coding turnaround exceeded")
            await self._notify("sla_overdue", "ops", "A chart is past its coding turnaround")
        elif due.kind == "hold_alert":
            hold = next(h for h in s.holds if h.id == due.ref)
            hold.alerted = True
            await self._commit("hold_aging_alert", SYSTEM, before, s.status, reason=hold.reason)
            await self._notify("hold_aging_alert", "ops", f"A '{hold.reason}' hold has passed its aging threshold", hold_id=hold.id)
        elif due.kind == "bill":
            self._wake = True  # the run loop bills once the pre-bill review window has passed
        elif due.kind in ("claim_follow_up", "appeal_warning", "appeal_deadline"):
            await self._fire_claim(due)
        elif due.kind == "query" and due.event:
            await self._fire_query(next(q for q in s.queries if q.id == due.ref), due.event, before)
