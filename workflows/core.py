"""What every stage of the encounter workflow shares: state, rules, projection and notices.

The workflow class is assembled from stages (queries, claims) that all derive from this core, so
each stage's handlers live in a module of their own while Temporal sees one workflow.
"""

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.encounters import lifecycle
    from models.encounters.lifecycle import State, TransitionError
    from workflows.types import (
        Actor,
        Hold,
        Notification,
        Outcome,
        ProjectBatch,
        ProjectInput,
        ProjectionEvent,
        QueryEvent,
        Snapshot,
    )

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# A live attempt heartbeats (clearchart.heartbeat); one that stops is retried after this, not 30 s.
HEARTBEAT_TIMEOUT = timedelta(seconds=10)
# Errors that say the data itself is wrong: another attempt cannot help, so the first one is final.
BAD_DATA_ERRORS = [
    "BadData",
    "DataError",
    "ValueError",
    "TypeError",
    "KeyError",
    "IndexError",
    "UnicodeDecodeError",
    "RecursionError",
    "FhirValidationError",
]
# Projection must land; a database outage stalls the update (up to about an hour of retries,
# 10 s apart) rather than lose the write. Bad data fails at once.
PROJECTION_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=400,
    non_retryable_error_types=BAD_DATA_ERRORS,
)
# Intake reads a whole stored bundle: an attempt that timed out will time out again, so a few
# tries (about 15 s of backoff) cover a worker or database restart and no more.
INTAKE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=8),
    maximum_attempts=5,
    non_retryable_error_types=BAD_DATA_ERRORS,
)
MANAGERS: frozenset[str] = frozenset({"ops", "admin"})
# A chart whose query was answered while nobody held it goes to the front of its queue.
FRONT_OF_QUEUE = 1000
# Patch marker: projection writes (and the scrub) run as local activities in the workflow task
# that handles the update, instead of one server round trip each (bench/README.md).
LOCAL_ACTIVITIES = "local-activities"
# Patch marker: projections of billing and payer events run on the background task queue.
BACKGROUND_PROJECTIONS = "background-projections"
# Patch marker: the claim is built and queued by one activity (`claims.bill`), not two.
BILL_IN_ONE = "bill-in-one-activity"


def refuse(message: str, kind: str, **details: Any) -> ApplicationError:
    return ApplicationError(message, details, type=kind, non_retryable=True)


class EncounterCore:
    _tenant: str
    _id: str
    _s: Snapshot
    _lock: asyncio.Lock
    _wake: bool
    _billing_queue: str | None
    # Set while changes are collected to be projected together (`_together`).
    _pending: list[ProjectInput] | None = None
    # Set while changes are projected on the background queue (`_in_background`).
    _projection_queue: str | None = None

    def _validate(self, action: str) -> None:
        try:
            lifecycle.targets(self._s.status, action)  # type: ignore[arg-type]
        except TransitionError as exc:
            raise refuse(str(exc), "InvalidTransition", state=exc.state, allowed_actions=exc.allowed) from exc

    def _check_holder(self, actor: Actor) -> None:
        if actor.role not in MANAGERS and self._s.assignee_user != actor.user_id:
            raise refuse(
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

    def _drop_holds(self, match: Callable[[Hold], bool]) -> bool:
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

    def _public(self) -> dict[str, Any]:
        s = self._s
        return {"status": s.status, "assignee": s.assignee_user, "holds": sorted(h.reason for h in s.holds)}

    async def _commit(
        self,
        action: str,
        actor: Actor,
        before: dict[str, Any],
        to: str,
        *,
        reason: str | None = None,
        query: QueryEvent | None = None,
        events: list[ProjectionEvent] | None = None,
    ) -> None:
        """Apply the new state and project it with its audit event; system events skip the table."""
        s = self._s
        if action in lifecycle.TRANSITIONS[s.status]:  # type: ignore[index]
            to = lifecycle.transition(s.status, action, to)  # type: ignore[arg-type]
        s.status = to
        s.seq += 1
        self._wake = True
        change = ProjectInput(
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
            events=events or [],
        )
        if self._pending is not None:
            self._pending.append(change)
        elif self._projection_queue is not None:
            await self._remote("encounters.project", change, task_queue=self._projection_queue)
        else:
            await self._execute("encounters.project", change)

    @contextlib.asynccontextmanager
    async def _in_background(self) -> AsyncIterator[None]:
        """Changes billing and payers cause are projected by the background (billing) worker, so a
        burst of claims or remittances never takes the CPU of the worker answering coders."""
        if self._billing_queue is None or not workflow.patched(BACKGROUND_PROJECTIONS):
            yield
            return
        self._projection_queue = self._billing_queue
        try:
            yield
        finally:
            self._projection_queue = None

    @contextlib.asynccontextmanager
    async def _together(self) -> AsyncIterator[None]:
        """Changes committed inside are projected in one transaction when the block ends (each
        still its own audit event): one database round trip for what one workflow task decided.
        Nothing inside may wait on anything but local computation, or callers would read stale rows."""
        self._pending = []
        try:
            yield
        finally:
            pending, self._pending = self._pending, None
        if pending:
            await self._execute("encounters.project_batch", ProjectBatch(pending))

    async def _execute(
        self, activity: str, arg: Any, result_type: type | None = None, *, retry_policy: RetryPolicy = PROJECTION_RETRY
    ) -> Any:
        """A short database activity: local (no server round trip) once the patch is in history.

        Local activities cannot heartbeat; their bound is the start-to-close timeout and the
        retry policy's attempt limit."""
        if workflow.patched(LOCAL_ACTIVITIES):
            return await workflow.execute_local_activity(
                activity, arg, result_type=result_type, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=retry_policy
            )
        return await self._remote(activity, arg, result_type, retry_policy=retry_policy)

    async def _remote(
        self, activity: str, arg: Any, result_type: type | None = None, *, retry_policy: RetryPolicy = PROJECTION_RETRY,
        task_queue: str | None = None,
    ) -> Any:
        """An activity through the server (heartbeating), on `task_queue` or the workflow's own."""
        return await workflow.execute_activity(
            activity, arg, result_type=result_type, task_queue=task_queue, start_to_close_timeout=ACTIVITY_TIMEOUT,
            heartbeat_timeout=HEARTBEAT_TIMEOUT, retry_policy=retry_policy,
        )

    async def _notify(self, kind: str, recipient: str, subject: str, *, query_id: str | None = None, hold_id: str | None = None) -> None:
        note = Notification(self._tenant, self._id, f"{self._id}:{self._s.seq}:{kind}", kind, recipient, subject, query_id, hold_id)
        await self._remote("notifications.send", note)

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
