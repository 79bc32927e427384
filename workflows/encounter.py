"""One durable workflow per encounter: it owns the state, holds, queries, the lease and the clocks.

Human actions are updates with validators (rejected before they enter history); each accepted
change is projected to PostgreSQL with its audit event before the update returns, so callers
read their own writes. Timers (lease, coding SLA, query reminder → escalation → expiry, hold
aging) are computed by `workflows.clock` and fired by the run loop.
"""

import asyncio
import contextlib
import dataclasses
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models import lifecycle
    from models.lifecycle import State, TransitionError
    from workflows import clock
    from workflows.types import (
        SYSTEM,
        Actor,
        AddendumInput,
        AnswerQueryRequest,
        ClaimRequest,
        EncounterInput,
        Hold,
        IngestRequest,
        IntakeFacts,
        IntakeInput,
        Notification,
        OpenQuery,
        Outcome,
        PlaceHoldRequest,
        ProjectInput,
        QueryEvent,
        RaiseQueryRequest,
        ReassignRequest,
        ReleaseHoldRequest,
        ReleaseRequest,
        Snapshot,
        SubmitCodingRequest,
        WithdrawQueryRequest,
    )

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Projection must land eventually; a database outage stalls the update, it never loses the write.
PROJECTION_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))
MANAGERS: frozenset[str] = frozenset({"ops", "admin"})
# A chart whose query was answered while nobody held it goes to the front of its queue.
FRONT_OF_QUEUE = 1000


def encounter_workflow_id(encounter_id: str) -> str:
    return f"encounter/{encounter_id}"


def _refuse(message: str, kind: str, **details: Any) -> ApplicationError:
    return ApplicationError(message, details, type=kind, non_retryable=True)


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
            deadline = clock.next_deadline(self._s, workflow.now())
            timeout = None if deadline is None else max(deadline - workflow.now(), timedelta(0))
            if timeout is None or timeout > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: self._wake or self._history_full(), timeout=timeout)
            await self._fire_timers()
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
            missing = sorted(set(s.required_doc_types) - set(s.doc_types))
            reason = f"documents received: {len(facts.new_document_ids)}"
            if first and missing:
                self._add_hold("missing_documentation", SYSTEM)
                await self._commit("docs_missing", SYSTEM, before, "on_hold", reason=f"missing document types: {', '.join(missing)}")
            elif first:
                await self._commit("docs_complete", SYSTEM, before, "ready", reason=reason)
            elif not missing and self._drop_holds(lambda h: h.reason == "missing_documentation"):
                await self._commit("docs_complete", SYSTEM, before, self._after_holds(), reason=reason)
            elif facts.new_document_ids:
                await self._commit("documents_added", SYSTEM, before, s.status, reason=reason)
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
            raise _refuse("the chart is already waiting in its queue", "InvalidTransition", state="ready")
        if req.actor.role not in MANAGERS:
            raise _refuse("only operations can reassign a chart", "Forbidden")

    @workflow.update
    async def submit_coding(self, req: SubmitCodingRequest) -> Outcome:
        async with self._lock:
            self._validate_submit_coding(req)
            before = self._public()
            s = self._s
            s.coding, s.coded_at = req.coding, workflow.now()
            s.lease_expires_at = s.lease_token = None
            await self._commit("submit_coding", req.actor, before, "coded")
            return self._outcome()

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
            raise _refuse(f"hold {req.hold_id} is not open on this encounter", "NotFound")
        if hold.query_id is not None:
            raise _refuse("this hold belongs to a physician query: answer or withdraw the query instead", "InvalidTransition", state=self._s.status)

    # ---- physician queries -----------------------------------------------------------------

    @workflow.update
    async def raise_query(self, req: RaiseQueryRequest) -> Outcome:
        async with self._lock:
            self._validate_raise_query(req)
            before = self._public()
            s, now = self._s, workflow.now()
            hold = self._add_hold("awaiting_query_response", req.actor, query_id=req.query_id)
            s.queries.append(OpenQuery(req.query_id, hold.id, req.actor.user_id, now, req.physician_npi, req.physician_user))
            s.lease_expires_at = None
            if not s.policy.query_keeps_assignee:
                self._unassign()
            event = QueryEvent(
                req.query_id,
                "open",
                {
                    "form": req.form,
                    "question_sha256": req.question_sha256,
                    "option_sha256s": req.option_sha256s,
                    "indicators": [dataclasses.asdict(i) for i in req.indicators],
                    "yes_no_purpose": req.yes_no_purpose,
                    "physician_npi": req.physician_npi,
                    "physician_user": req.physician_user,
                    "asked_by": req.actor.user_id,
                    "asked_role": req.actor.role,
                    "vendor_id": req.actor.vendor_id,
                    "opened_at": now.isoformat(),
                },
            )
            await self._commit("raise_query", req.actor, before, "on_hold", reason=req.query_id, query=event)
            await self._notify("query_opened", req.physician_user or f"npi:{req.physician_npi}", "A documentation query awaits your answer", query_id=req.query_id)
            return dataclasses.replace(self._outcome(), query_id=req.query_id)

    @raise_query.validator
    def _validate_raise_query(self, req: RaiseQueryRequest) -> None:
        self._validate("raise_query")
        if req.actor.role not in MANAGERS:
            self._check_holder(req.actor)
        if any(q.id == req.query_id for q in self._s.queries):
            raise _refuse(f"query {req.query_id} is already open", "InvalidTransition", state=self._s.status)

    @workflow.update
    async def answer_query(self, req: AnswerQueryRequest) -> Outcome:
        async with self._lock:
            query = self._answerable(req)
            before = self._public()
            addendum_id: str | None = None
            if req.addendum_sha256:
                addendum_id = await workflow.execute_activity(
                    "encounters.add_addendum",
                    AddendumInput(self._tenant, self._id, query.id, req.addendum_sha256),
                    result_type=str,
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                    retry_policy=PROJECTION_RETRY,
                )
            to = self._close_query(query)
            event = QueryEvent(
                query.id,
                "answered",
                {
                    "answered_at": workflow.now().isoformat(),
                    "answered_by": req.actor.user_id,
                    "option_index": req.option_index,
                    "free_text_sha256": req.free_text_sha256,
                    "addendum_document_id": addendum_id,
                    "confirmed_documented_option": req.confirmed_documented_option,
                },
            )
            await self._commit("answer_query", req.actor, before, to, reason=query.id, query=event)
            if self._s.assignee_user:
                await self._notify("query_answered", self._s.assignee_user, "Your documentation query was answered", query_id=query.id)
            return dataclasses.replace(self._outcome(), query_id=query.id)

    @answer_query.validator
    def _validate_answer_query(self, req: AnswerQueryRequest) -> None:
        self._answerable(req)

    def _answerable(self, req: AnswerQueryRequest) -> OpenQuery:
        query = self._open_query(req.query_id)
        addressed = req.actor.user_id == query.physician_user or (
            req.actor.role == "physician" and query.physician_npi is not None and req.actor.npi == query.physician_npi
        )
        if not addressed and req.actor.role != "admin":
            raise _refuse("this query is addressed to another physician", "Forbidden")
        self._validate("answer_query")
        return query

    @workflow.update
    async def withdraw_query(self, req: WithdrawQueryRequest) -> Outcome:
        async with self._lock:
            query = self._withdrawable(req)
            before = self._public()
            to = self._close_query(query)
            event = QueryEvent(query.id, "withdrawn", {"withdrawn_at": workflow.now().isoformat(), "withdrawn_by": req.actor.user_id})
            await self._commit("withdraw_query", req.actor, before, to, reason=query.id, query=event)
            return dataclasses.replace(self._outcome(), query_id=query.id)

    @withdraw_query.validator
    def _validate_withdraw_query(self, req: WithdrawQueryRequest) -> None:
        self._withdrawable(req)

    def _withdrawable(self, req: WithdrawQueryRequest) -> OpenQuery:
        query = self._open_query(req.query_id)
        if req.actor.user_id != query.asked_by and req.actor.role not in MANAGERS:
            raise _refuse("only the coder who asked, or operations, can withdraw a query", "Forbidden")
        self._validate("withdraw_query")
        return query

    def _open_query(self, query_id: str) -> OpenQuery:
        query = next((q for q in self._s.queries if q.id == query_id), None)
        if query is None:
            raise _refuse(f"query {query_id} is not open on this encounter", "InvalidTransition", state=self._s.status)
        return query

    def _close_query(self, query: OpenQuery) -> State:
        s = self._s
        s.queries = [q for q in s.queries if q.id != query.id]
        self._drop_holds(lambda h: h.id == query.hold_id)
        to = self._after_holds()
        if to == "ready":
            s.priority = max(s.priority, FRONT_OF_QUEUE)
        return to

    # ---- rules -----------------------------------------------------------------------------

    def _validate(self, action: str) -> None:
        try:
            lifecycle.targets(self._s.status, action)  # type: ignore[arg-type]
        except TransitionError as exc:
            raise _refuse(str(exc), "InvalidTransition", state=exc.state, allowed_actions=exc.allowed) from exc

    def _check_holder(self, actor: Actor) -> None:
        if actor.role not in MANAGERS and self._s.assignee_user != actor.user_id:
            raise _refuse(
                "this chart is not leased to you; claim it from its queue first",
                "NotHolder",
                state=self._s.status,
                assignee=self._s.assignee_user,
            )

    def _add_hold(self, reason: str, actor: Actor, note_sha256: str | None = None, query_id: str | None = None) -> Hold:
        if self._s.status != "on_hold":
            self._s.resume_status = self._s.status if self._s.status == "coded" else None
        hold = Hold(str(workflow.uuid4()), reason, workflow.now(), actor.user_id, note_sha256, query_id)
        self._s.holds.append(hold)
        return hold

    def _drop_holds(self, match: Any) -> bool:
        kept = [h for h in self._s.holds if not match(h)]
        changed = len(kept) != len(self._s.holds)
        self._s.holds = kept
        return changed

    def _after_holds(self) -> State:
        s = self._s
        if s.holds:
            return "on_hold"
        if s.resume_status == "coded":
            return "coded"
        if s.assignee_user:
            s.lease_expires_at = workflow.now() + timedelta(minutes=s.policy.lease_minutes)
            return "in_coding"
        return "ready"

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
        elif due.kind == "query" and due.event:
            await self._fire_query(next(q for q in s.queries if q.id == due.ref), due.event, before)

    async def _fire_query(self, query: OpenQuery, event: str, before: dict[str, Any]) -> None:
        query.fired = clock.fired_through(event)
        physician = query.physician_user or f"npi:{query.physician_npi}"
        if event == "reminder":
            await self._commit("query_reminder", SYSTEM, before, self._s.status, reason=query.id)
            await self._notify("query_reminder", physician, "Reminder: a documentation query awaits your answer", query_id=query.id)
        elif event == "escalation":
            await self._commit("query_escalation", SYSTEM, before, self._s.status, reason=query.id,
                               query=QueryEvent(query.id, "open", {"escalated_at": workflow.now().isoformat()}))
            recipient = self._s.policy.query_escalate_to
            await self._notify("query_escalation", recipient, "A documentation query is unanswered past its escalation time", query_id=query.id)
        else:
            await self._commit("query_expired", SYSTEM, before, self._s.status, reason=query.id,
                               query=QueryEvent(query.id, "expired", {"expired_at": workflow.now().isoformat()}))
            await self._notify("query_expired", "ops", "A documentation query expired unanswered; the chart stays on hold", query_id=query.id)

    # ---- projection ------------------------------------------------------------------------

    def _public(self) -> dict[str, Any]:
        s = self._s
        return {"status": s.status, "assignee": s.assignee_user, "holds": sorted(h.reason for h in s.holds)}

    async def _commit(
        self, action: str, actor: Actor, before: dict[str, Any], to: str, *, reason: str | None = None, query: QueryEvent | None = None
    ) -> None:
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
                query=query,
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=PROJECTION_RETRY,
        )

    async def _notify(self, kind: str, recipient: str, subject: str, *, query_id: str | None = None, hold_id: str | None = None) -> None:
        note = Notification(self._tenant, self._id, f"{self._id}:{self._s.seq}:{kind}", kind, recipient, subject, query_id, hold_id)
        await workflow.execute_activity(
            "notifications.send", note, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=PROJECTION_RETRY
        )

    def _row(self) -> dict[str, Any]:
        s = self._s

        def iso(value: Any) -> str | None:
            return value.isoformat() if value else None

        return {
            "status": s.status,
            "queue_id": s.queue_id,
            "priority": s.priority,
            "assignee_user": s.assignee_user,
            "assignee_vendor": s.assignee_vendor,
            "lease_token": s.lease_token,
            "lease_expires_at": iso(s.lease_expires_at),
            "holds": [
                {"id": h.id, "reason": h.reason, "placed_at": iso(h.placed_at), "placed_by": h.placed_by, "query_id": h.query_id}
                for h in s.holds
            ],
            "codes": dataclasses.asdict(s.coding) if s.coding else None,
            "coded_at": iso(s.coded_at),
            "worked_by": list(s.worked_by),
            "sla_due_at": iso(s.sla_due_at),
            "overdue": s.overdue,
        }

    def _outcome(self) -> Outcome:
        return Outcome(self._id, self._s.status, self._s.seq)
