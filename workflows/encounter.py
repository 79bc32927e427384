"""One durable workflow per encounter: it owns the state, the holds, the lease and the SLA clock.

Human actions are updates with validators (rejected before they enter history); each accepted
change is projected to PostgreSQL with its audit event before the update returns, so callers
read their own writes.
"""

import asyncio
import contextlib
import dataclasses
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models import lifecycle
    from models.lifecycle import State, TransitionError
    from workflows.types import (
        SYSTEM,
        Actor,
        ClaimRequest,
        EncounterInput,
        Hold,
        IngestRequest,
        IntakeFacts,
        IntakeInput,
        Outcome,
        PlaceHoldRequest,
        ProjectInput,
        ReassignRequest,
        ReleaseHoldRequest,
        ReleaseRequest,
        Snapshot,
        SubmitCodingRequest,
    )

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Projection must land eventually; a database outage stalls the update, it never loses the write.
PROJECTION_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))
PRE_CODING: frozenset[str] = frozenset({"received", "ready", "in_coding", "on_hold"})
MANAGERS: frozenset[str] = frozenset({"ops", "admin"})


def encounter_workflow_id(encounter_id: str) -> str:
    return f"encounter/{encounter_id}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@workflow.defn(name="Encounter")
class EncounterWorkflow:
    @workflow.init
    def __init__(self, inp: EncounterInput) -> None:
        self._tenant = inp.tenant_id
        self._id = inp.encounter_id
        self._s = inp.snapshot or Snapshot()
        self._history_limit = inp.history_limit
        self._lock = asyncio.Lock()
        self._wake = False

    @workflow.run
    async def run(self, inp: EncounterInput) -> str:  # noqa: ARG002 - state comes from __init__
        while self._s.status != "closed":
            if self._history_full() and not self._lock.locked():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(EncounterInput(self._tenant, self._id, self._s, self._history_limit))
            self._wake = False
            due = self._next_deadline()
            timeout = None if due is None else max(due - workflow.now(), timedelta(0))
            if timeout is None or timeout > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        lambda: self._wake or self._history_full(),
                        timeout=timeout,
                    )
            await self._fire_timers()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._s.status

    def _history_full(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > self._history_limit

    # ---- queries ---------------------------------------------------------------------------

    @workflow.query
    def snapshot(self) -> Snapshot:
        return self._s

    # ---- updates ---------------------------------------------------------------------------

    @workflow.update
    async def ingest(self, req: IngestRequest) -> Outcome:
        key = f"{req.message_id}#{req.bundle_index}"
        async with self._lock:
            if key in self._s.ingested:
                return self._outcome()
            facts: IntakeFacts = await workflow.execute_activity(
                "encounters.intake",
                IntakeInput(self._tenant, self._id, workflow.info().workflow_id, req.message_id, req.bundle_index),
                result_type=IntakeFacts,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=PROJECTION_RETRY,
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
            missing = self._missing_docs()
            reason = f"documents received: {len(facts.new_document_ids)}"
            if first:
                if missing:
                    self._add_hold("missing_documentation", SYSTEM)
                    await self._commit("docs_missing", SYSTEM, before, "on_hold", reason=f"missing document types: {', '.join(missing)}")
                else:
                    await self._commit("docs_complete", SYSTEM, before, "ready", reason=reason)
            elif not missing and self._release_hold_reason("missing_documentation"):
                await self._commit("docs_complete", SYSTEM, before, self._after_holds(), reason=reason)
            elif facts.new_document_ids:
                await self._commit("documents_added", SYSTEM, before, s.status, reason=reason)
            return self._outcome()

    @workflow.update
    async def claim(self, req: ClaimRequest) -> Outcome:
        async with self._lock:
            self._check("claim")
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
            self._check("release")
            self._check_holder(req.actor)
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
            self._check("reassign")
            before = self._public()
            if req.to_user is None:
                self._unassign()
                to: State = "ready" if self._s.status in ("in_coding", "ready") else self._s.status  # type: ignore[assignment]
            else:
                self._assign(req.to_user, req.to_vendor, str(workflow.uuid4()))
                to = "on_hold" if self._s.status == "on_hold" else "in_coding"
            await self._commit("reassign", req.actor, before, to, reason=f"to {req.to_user or 'queue'}")
            return self._outcome()

    @reassign.validator
    def _validate_reassign(self, req: ReassignRequest) -> None:
        self._validate("reassign")
        if req.to_user is None and self._s.status == "ready":
            raise ApplicationError("the chart is already waiting in its queue", type="InvalidTransition")
        if req.actor.role not in MANAGERS:
            raise ApplicationError("only operations can reassign a chart", type="Forbidden")

    @workflow.update
    async def submit_coding(self, req: SubmitCodingRequest) -> Outcome:
        async with self._lock:
            self._check("submit_coding")
            self._check_holder(req.actor)
            before = self._public()
            s = self._s
            s.coding = req.coding
            s.coded_at = workflow.now()
            s.lease_expires_at = None
            s.lease_token = None
            await self._commit("submit_coding", req.actor, before, "coded")
            return self._outcome()

    @submit_coding.validator
    def _validate_submit_coding(self, req: SubmitCodingRequest) -> None:
        self._validate("submit_coding")
        self._check_holder(req.actor)

    @workflow.update
    async def place_hold(self, req: PlaceHoldRequest) -> Outcome:
        async with self._lock:
            self._check("place_hold")
            before = self._public()
            hold = self._add_hold(req.reason, req.actor, req.note_sha256)
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
            self._check("release_hold")
            before = self._public()
            self._s.holds = [h for h in self._s.holds if h.id != req.hold_id]
            await self._commit("release_hold", req.actor, before, self._after_holds(), reason=req.hold_id)
            return self._outcome()

    @release_hold.validator
    def _validate_release_hold(self, req: ReleaseHoldRequest) -> None:
        self._validate("release_hold")
        if not any(h.id == req.hold_id for h in self._s.holds):
            raise ApplicationError(f"hold {req.hold_id} is not open on this encounter", type="NotFound")

    # ---- rules -----------------------------------------------------------------------------

    def _validate(self, action: str) -> None:
        try:
            lifecycle.targets(self._s.status, action)  # type: ignore[arg-type]
        except TransitionError as exc:
            details = {"state": exc.state, "allowed_actions": exc.allowed}
            raise ApplicationError(str(exc), details, type="InvalidTransition", non_retryable=True) from exc

    def _check(self, action: str) -> None:
        """Re-check under the lock: another update may have moved the state since validation."""
        self._validate(action)

    def _check_holder(self, actor: Actor) -> None:
        if actor.role in MANAGERS:
            return
        if self._s.assignee_user != actor.user_id:
            raise ApplicationError(
                "this chart is not leased to you; claim it from its queue first",
                {"state": self._s.status, "assignee": self._s.assignee_user},
                type="NotHolder",
            )

    def _missing_docs(self) -> list[str]:
        return sorted(set(self._s.required_doc_types) - set(self._s.doc_types))

    def _add_hold(self, reason: str, actor: Actor, note_sha256: str | None = None) -> Hold:
        hold = Hold(str(workflow.uuid4()), reason, workflow.now(), actor.user_id, note_sha256)
        self._s.holds.append(hold)
        return hold

    def _release_hold_reason(self, reason: str) -> bool:
        kept = [h for h in self._s.holds if h.reason != reason]
        changed = len(kept) != len(self._s.holds)
        self._s.holds = kept
        return changed

    def _after_holds(self) -> State:
        if self._s.holds:
            return "on_hold"
        return "in_coding" if self._s.assignee_user else "ready"

    def _assign(self, user: str, vendor: str | None, token: str) -> None:
        s = self._s
        s.assignee_user, s.assignee_vendor, s.lease_token = user, vendor, token
        s.lease_expires_at = workflow.now() + timedelta(minutes=s.policy.lease_minutes)
        if user not in s.worked_by:
            s.worked_by.append(user)

    def _unassign(self) -> None:
        s = self._s
        s.assignee_user = s.assignee_vendor = s.lease_token = None
        s.lease_expires_at = None

    # ---- timers ----------------------------------------------------------------------------

    def _next_deadline(self) -> datetime | None:
        s = self._s
        due = [s.lease_expires_at] if s.status == "in_coding" and s.lease_expires_at else []
        if s.sla_due_at and not s.overdue and s.status in PRE_CODING:
            due.append(s.sla_due_at)
        return min(due) if due else None

    async def _fire_timers(self) -> None:
        async with self._lock:
            s, now = self._s, workflow.now()
            if s.status == "in_coding" and s.lease_expires_at and s.lease_expires_at <= now:
                before = self._public()
                self._unassign()
                await self._commit("lease_expire", SYSTEM, before, "ready", reason="lease idle past its limit")
            if s.sla_due_at and not s.overdue and s.status in PRE_CODING and s.sla_due_at <= now:
                before = self._public()
                s.overdue = True
                await self._commit("sla_overdue", SYSTEM, before, s.status, reason="coding turnaround exceeded")

    # ---- projection ------------------------------------------------------------------------

    def _public(self) -> dict[str, Any]:
        s = self._s
        return {"status": s.status, "assignee": s.assignee_user, "holds": sorted(h.reason for h in s.holds)}

    async def _commit(self, action: str, actor: Actor, before: dict[str, Any], to: str, *, reason: str | None = None) -> None:
        """Apply the new state and project it with its audit event; system events skip the table."""
        s = self._s
        if action in lifecycle.TRANSITIONS[s.status]:  # type: ignore[index]
            to = lifecycle.transition(s.status, action, to)  # type: ignore[arg-type]
        s.status = to
        s.seq += 1
        self._wake = True
        await workflow.execute_activity(
            "encounters.project",
            ProjectInput(
                tenant_id=self._tenant,
                encounter_id=self._id,
                seq=s.seq,
                action=action,
                actor=actor,
                before=before,
                after=self._public(),
                occurred_at=workflow.now(),
                row=self._row(),
                reason=reason,
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=PROJECTION_RETRY,
        )

    def _row(self) -> dict[str, Any]:
        s = self._s
        return {
            "status": s.status,
            "queue_id": s.queue_id,
            "priority": s.priority,
            "assignee_user": s.assignee_user,
            "assignee_vendor": s.assignee_vendor,
            "lease_token": s.lease_token,
            "lease_expires_at": _iso(s.lease_expires_at),
            "holds": [
                {"id": h.id, "reason": h.reason, "placed_at": _iso(h.placed_at), "placed_by": h.placed_by}
                for h in s.holds
            ],
            "codes": dataclasses.asdict(s.coding) if s.coding else None,
            "coded_at": _iso(s.coded_at),
            "worked_by": list(s.worked_by),
            "sla_due_at": _iso(s.sla_due_at),
            "overdue": s.overdue,
        }

    def _outcome(self) -> Outcome:
        return Outcome(self._id, self._s.status, self._s.seq)
