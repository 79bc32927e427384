"""The claim stage: scrub, bill, 277CA and 835 answers, denials, appeals and their deadlines."""

from datetime import UTC, date, datetime, time, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.claims.appeals import appeal_refusal
    from models.coding.rules import CodingSubmission
    from workflows import clock
    from workflows.types import (
        SYSTEM,
        AcknowledgedEdit,
        AcknowledgeEditsRequest,
        Actor,
        AppealDecided,
        AppealDecisionRequest,
        AppealFiled,
        AppealRequest,
        BillRequest,
        BillResult,
        ClaimAcknowledged,
        ClaimAckRequest,
        ClaimAdjudicated,
        ClaimRejected,
        ClaimState,
        DenialClosed,
        DenialOpened,
        OpenDenial,
        Outcome,
        ProjectionEvent,
        RemitRequest,
        ScrubAcknowledged,
        ScrubOutcome,
        ScrubRequest,
        SubmitResult,
        WriteOffRequest,
    )

from workflows.core import (
    BILL_IN_ONE,
    MANAGERS,
    EncounterCore,
    refuse,
)


def end_of_day(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(23, 59), UTC)


class ClaimStage(EncounterCore):
    async def _run_scrub(self, coding: CodingSubmission, run_no: int) -> ScrubOutcome:
        """The pre-bill edits of one run (idempotent by run number)."""
        result: ScrubOutcome = await self._execute("claims.scrub", ScrubRequest(self._tenant, self._id, run_no, coding), ScrubOutcome)
        return result

    async def _scrub(self, scrubbed: ScrubOutcome | None = None) -> Outcome:
        """Run the pre-bill edits right after coding; hard edits send the chart back to its coder.

        `scrubbed`: the run's outcome when it was computed before the coding was recorded."""
        s, c = self._s, self._s.claim
        assert s.coding is not None
        c.scrub_runs += 1
        await self._commit("start_scrub", SYSTEM, self._public(), "scrubbing")
        result = scrubbed if scrubbed is not None else await self._run_scrub(s.coding, c.scrub_runs)
        c.scrub_id = result.scrub_id
        before = self._public()
        if result.hard:
            self._back_to_coder()
            rules = ", ".join(sorted({e.rule for e in result.hard}))
            await self._commit("scrub_hard_edits", SYSTEM, before, "in_coding", reason=rules)
        elif result.soft:
            c.pending_soft = list(result.soft)
            rules = ", ".join(sorted({e.rule for e in result.soft}))
            await self._commit("scrub_soft_edits", SYSTEM, before, "scrubbing", reason=rules)
        else:
            self._ready_to_bill()
        return Outcome(self._id, s.status, s.seq, scrub_id=result.scrub_id)

    def _ready_to_bill(self) -> None:
        c, hours = self._s.claim, self._s.policy.prebill_review_hours
        c.ready_to_bill = True
        c.bill_after = workflow.now() + timedelta(hours=hours) if hours > 0 else None
        self._wake = True

    def _may_bill(self) -> bool:
        c = self._s.claim
        due = c.bill_after is None or c.bill_after <= workflow.now()
        return self._s.status == "scrubbing" and c.ready_to_bill and not c.qa_held and due

    @workflow.signal
    def qa_released(self) -> None:
        """A prospective QA review of this chart finished: billing may go on."""
        c = self._s.claim
        if c.qa_held:
            c.qa_held = False
            c.ready_to_bill = True
            c.bill_after = None
            self._wake = True

    def _back_to_coder(self) -> None:
        s = self._s
        s.claim = ClaimState(scrub_runs=s.claim.scrub_runs, scrub_id=s.claim.scrub_id)
        if s.assignee_user:
            s.lease_expires_at = workflow.now() + timedelta(minutes=s.policy.lease_minutes)
            s.lease_token = str(workflow.uuid4())

    @workflow.update
    async def acknowledge_edits(self, req: AcknowledgeEditsRequest) -> Outcome:
        async with self._lock:
            self._validate_acknowledge_edits(req)
            before, c = self._public(), self._s.claim
            acks = [AcknowledgedEdit(a.rule, a.line_index, a.reason_sha256, req.actor.user_id) for a in req.acknowledgments]
            c.pending_soft = []
            self._ready_to_bill()
            await self._commit(
                "acknowledge_edits", req.actor, before, "scrubbing", reason=req.scrub_id,
                events=[ScrubAcknowledged(req.scrub_id, acks)],
            )
            return Outcome(self._id, self._s.status, self._s.seq, scrub_id=req.scrub_id)

    @acknowledge_edits.validator
    def _validate_acknowledge_edits(self, req: AcknowledgeEditsRequest) -> None:
        c = self._s.claim
        if self._s.status != "scrubbing" or not c.pending_soft:
            raise refuse("there are no soft edits waiting for acknowledgment", "InvalidTransition", state=self._s.status)
        if req.scrub_id != c.scrub_id:
            raise refuse(f"scrub {req.scrub_id} is not the latest scrub of this chart", "InvalidTransition", state=self._s.status)
        if req.actor.role not in MANAGERS and req.actor.user_id != self._s.assignee_user:
            raise refuse("only the coder of the chart, or operations, can acknowledge its edits", "NotHolder", state=self._s.status)
        given = {(a.rule, a.line_index) for a in req.acknowledgments}
        missing = [f"{e.rule} (line {e.line_index})" for e in c.pending_soft if (e.rule, e.line_index) not in given]
        if missing:
            raise refuse(f"acknowledge every soft edit with a reason; missing: {', '.join(missing)}", "InvalidTransition", state="scrubbing")

    async def _bill(self) -> None:
        """Build the 837P and send it; a file the clearinghouse refuses goes back to rework."""
        s, c = self._s, self._s.claim
        assert s.coding is not None
        assert c.scrub_id is not None
        request = BillRequest(self._tenant, self._id, c.scrub_id, s.coding)
        built_and_sent = workflow.patched(BILL_IN_ONE)
        bill: BillResult = await self._remote(
            "claims.bill" if built_and_sent else "claims.create", request, BillResult, task_queue=self._billing_queue
        )
        if bill.held_for_qa:
            c.ready_to_bill, c.qa_held = False, True
            await self._commit("qa_prebill_hold", SYSTEM, self._public(), "scrubbing", reason="sampled by a prospective QA audit")
            return
        sent: SubmitResult | None = bill.sent
        if sent is None:  # built by `claims.create` alone (a history from before BILL_IN_ONE)
            sent = await self._remote("claims.submit", bill.claim_id, SubmitResult, task_queue=self._billing_queue)
        before = self._public()
        c.ready_to_bill = False
        if sent.accepted:
            c.claim_id, c.control_number, c.submitted_at = bill.claim_id, bill.control_number, workflow.now()
            await self._commit("scrub_clean", SYSTEM, before, "submitted", reason=bill.control_number)
        else:
            self._back_to_coder()
            await self._commit("scrub_hard_edits", SYSTEM, before, "in_coding", reason=f"clearinghouse refused the claim: {sent.detail}")

    @workflow.update
    async def acknowledge_claim(self, req: ClaimAckRequest) -> Outcome:
        async with self._lock, self._in_background():
            self._validate_acknowledge_claim(req)
            before, now = self._public(), workflow.now()
            if req.accepted:
                accepted = ClaimAcknowledged(req.claim_id, now)
                await self._commit("accept_277ca", SYSTEM, before, "submitted", reason=req.status, events=[accepted])
            else:
                rejected = ClaimRejected(req.claim_id, now, req.message or req.status)
                self._back_to_coder()
                await self._commit("reject_277ca", SYSTEM, before, "in_coding", reason=req.message or req.status, events=[rejected])
            return Outcome(self._id, self._s.status, self._s.seq, claim_id=req.claim_id)

    @acknowledge_claim.validator
    def _validate_acknowledge_claim(self, req: ClaimAckRequest) -> None:
        self._validate("accept_277ca")
        if req.claim_id != self._s.claim.claim_id:
            raise refuse(f"claim {req.claim_id} is not this encounter's current claim", "InvalidTransition", state=self._s.status)

    @workflow.update
    async def remit(self, req: RemitRequest) -> Outcome:
        async with self._lock, self._in_background():
            self._validate_remit(req)
            s, c, now = self._s, self._s.claim, workflow.now()
            before = self._public()
            status = {"paid": "paid", "partial": "partial", "denied": "denied"}.get(req.outcome, req.outcome)
            events: list[ProjectionEvent] = [ClaimAdjudicated(req.claim_id, status, req.paid_cents)]
            events += [DenialOpened(d.id, d.written()) for d in req.denials]
            appealable = [d for d in req.denials if d.appealable]
            if req.outcome == "denied" or appealable:
                for d in req.denials:
                    deadline = end_of_day(d.deadline) if d.deadline else None
                    passed = [n for n in s.policy.appeal_warning_days if deadline and deadline - timedelta(days=n) <= now]
                    c.denials.append(OpenDenial(d.id, d.appealable, deadline, passed))
                await self._commit("remit_denied", SYSTEM, before, "denied", reason=req.payment_id, events=events)
                if any(d.category in ("coding", "documentation") for d in req.denials):
                    await self._notify("denial_to_work", "denials", "A coding or documentation denial is waiting in the denial queue")
            else:
                await self._commit("remit_paid", SYSTEM, before, "paid", reason=req.payment_id, events=events)
                await self._commit("close", SYSTEM, self._public(), "closed", reason="paid")
            return Outcome(self._id, self._s.status, self._s.seq, claim_id=req.claim_id)

    @remit.validator
    def _validate_remit(self, req: RemitRequest) -> None:
        self._validate("remit_paid")
        if req.claim_id != self._s.claim.claim_id:
            raise refuse(f"claim {req.claim_id} is not this encounter's current claim", "InvalidTransition", state=self._s.status)

    @workflow.update
    async def file_appeal(self, req: AppealRequest) -> Outcome:
        async with self._lock:
            self._validate_file_appeal(req)
            before, c = self._public(), self._s.claim
            c.appeal_id, c.appeal_denial_id = req.appeal_id, req.denial_id
            filed = AppealFiled(
                req.appeal_id, self._id, req.denial_id, req.level, req.reason_sha256, req.deadline, req.actor.user_id, workflow.now()
            )
            await self._commit("appeal", req.actor, before, "in_appeal", reason=req.level, events=[filed])
            return Outcome(self._id, self._s.status, self._s.seq, claim_id=c.claim_id)

    @file_appeal.validator
    def _validate_file_appeal(self, req: AppealRequest) -> None:
        self._validate("appeal")
        denial = next((d for d in self._s.claim.denials if d.id == req.denial_id), None)
        if denial is None:
            raise refuse(f"denial {req.denial_id} is not open on this encounter", "NotFound")
        if refusal := appeal_refusal(appealable=denial.appealable, appeal_open=self._s.claim.appeal_id is not None):
            raise refuse(refusal.message, "InvalidTransition", state=self._s.status)

    @workflow.update
    async def decide_appeal(self, req: AppealDecisionRequest) -> Outcome:
        async with self._lock:
            self._validate_decide_appeal(req)
            before, c = self._public(), self._s.claim
            decided = AppealDecided(req.appeal_id, c.appeal_denial_id or "", req.decision, req.recovered_cents, workflow.now())
            c.denials = []
            await self._commit("appeal_decision", req.actor, before, "closed", reason=req.decision, events=[decided])
            return Outcome(self._id, self._s.status, self._s.seq, claim_id=c.claim_id)

    @decide_appeal.validator
    def _validate_decide_appeal(self, req: AppealDecisionRequest) -> None:
        self._validate("appeal_decision")
        if req.appeal_id != self._s.claim.appeal_id:
            raise refuse(f"appeal {req.appeal_id} is not the open appeal of this encounter", "NotFound")

    async def _fire_claim(self, due: clock.Due) -> None:
        s, c = self._s, self._s.claim
        before = self._public()
        if due.kind == "claim_follow_up":
            c.follow_up_sent = True
            await self._commit("claim_follow_up", SYSTEM, before, s.status, reason=c.control_number)
            await self._notify("claim_follow_up", "ops", "A claim has had no payer response within its follow-up window")
        elif due.kind == "appeal_warning":
            denial = next(d for d in c.denials if d.id == due.ref)
            denial.fired.append(int(due.event or 0))
            await self._commit("appeal_deadline_warning", SYSTEM, before, s.status, reason=f"{due.event} day(s) to the appeal deadline")
            await self._notify("appeal_deadline_warning", "denials", f"An appeal deadline is {due.event} day(s) away")
        elif due.kind == "appeal_deadline":
            await self._write_off(SYSTEM, "appeal deadline passed without an appeal")

    async def _write_off(self, actor: Actor, reason: str) -> None:
        c = self._s.claim
        closed: list[ProjectionEvent] = [DenialClosed(d.id) for d in c.denials]
        c.denials = []
        await self._commit("write_off", actor, self._public(), "closed", reason=reason, events=closed)

    @workflow.update
    async def write_off(self, req: WriteOffRequest) -> Outcome:
        async with self._lock:
            self._validate_write_off(req)
            await self._write_off(req.actor, req.reason)
            return Outcome(self._id, self._s.status, self._s.seq, claim_id=self._s.claim.claim_id)

    @write_off.validator
    def _validate_write_off(self, req: WriteOffRequest) -> None:
        self._validate("write_off")
        if req.actor.role not in MANAGERS:
            raise refuse("only operations can write off a denial", "Forbidden")
