"""Physician documentation queries: raise, answer, withdraw, and their reminder clock."""

import dataclasses
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.encounters.lifecycle import State
    from workflows import clock
    from workflows.types import (
        SYSTEM,
        AddendumInput,
        AnswerQueryRequest,
        OpenQuery,
        Outcome,
        QueryEvent,
        RaiseQueryRequest,
        WithdrawQueryRequest,
    )

from workflows.core import (
    ACTIVITY_TIMEOUT,
    FRONT_OF_QUEUE,
    HEARTBEAT_TIMEOUT,
    MANAGERS,
    PROJECTION_RETRY,
    EncounterCore,
    refuse,
)


class QueryStage(EncounterCore):
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
            raise refuse(f"query {req.query_id} is already open", "InvalidTransition", state=self._s.status)

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
                    heartbeat_timeout=HEARTBEAT_TIMEOUT,
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
        self._answerable(req, clinical_only=True)

    def _answerable(self, req: AnswerQueryRequest, *, clinical_only: bool | None = None) -> OpenQuery:
        query = self._open_query(req.query_id)
        addressed = req.actor.user_id == query.physician_user or (
            req.actor.role == "physician" and query.physician_npi is not None and req.actor.npi == query.physician_npi
        )
        # Validators never replay; the handler does, so histories where an admin answered still replay.
        if clinical_only is None:
            clinical_only = workflow.patched("answer-only-by-addressed-physician")
        if clinical_only:
            # Clinical acts stay clinical: the addressee, or a delegate the tenant configured.
            delegate = req.actor.role == "physician" and req.delegate_of is not None and req.delegate_of in (
                query.physician_user, query.physician_npi
            )
            if not (addressed or delegate):
                raise refuse("only the addressed physician or their delegate answers this query", "Forbidden")
        elif not addressed and req.actor.role != "admin":
            raise refuse("this query is addressed to another physician", "Forbidden")
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
            raise refuse("only the coder who asked, or operations, can withdraw a query", "Forbidden")
        self._validate("withdraw_query")
        return query

    def _open_query(self, query_id: str) -> OpenQuery:
        query = next((q for q in self._s.queries if q.id == query_id), None)
        if query is None:
            raise refuse(f"query {query_id} is not open on this encounter", "InvalidTransition", state=self._s.status)
        return query

    def _close_query(self, query: OpenQuery) -> State:
        s = self._s
        s.queries = [q for q in s.queries if q.id != query.id]
        self._drop_holds(lambda h: h.id == query.hold_id)
        to = self._after_holds()
        if to == "ready":
            s.priority = max(s.priority, FRONT_OF_QUEUE)
        return to

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

