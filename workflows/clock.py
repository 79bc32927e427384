"""Which of an encounter's timers is next and which are due: pure, so the loop stays simple."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from models.encounters.holds import hold_alert_at
from models.queries.rules import QUERY_TIMER_EVENTS, QueryTimers, next_query_timer
from workflows.types import Policy, Snapshot

PRE_CODING: frozenset[str] = frozenset({"received", "ready", "in_coding", "on_hold"})


@dataclass(frozen=True)
class Due:
    kind: str  # lease | sla | query | hold_alert
    at: datetime
    ref: str | None = None  # query or hold id
    event: str | None = None  # reminder | escalation | expiry for queries


def query_timers(policy: Policy) -> QueryTimers:
    return QueryTimers.from_hours(policy.query_reminder_hours, policy.query_escalate_hours, policy.query_expire_hours)


def hold_thresholds(policy: Policy) -> dict[str, timedelta]:
    return {reason: timedelta(hours=hours) for reason, hours in policy.hold_alert_hours.items()}


def pending(s: Snapshot, now: datetime) -> list[Due]:
    """Every timer that is armed, with when it fires."""
    out: list[Due] = []
    if s.status == "in_coding" and s.lease_expires_at:
        out.append(Due("lease", s.lease_expires_at))
    if s.sla_due_at and not s.overdue and s.status in PRE_CODING:
        out.append(Due("sla", s.sla_due_at))
    timers = query_timers(s.policy)
    for q in s.queries:
        found = next_query_timer(q.opened_at, now, timers, q.fired)
        if found:
            out.append(Due("query", found[1], q.id, found[0]))
    c = s.claim
    if s.status == "scrubbing" and c.ready_to_bill and c.bill_after and not c.qa_held:
        out.append(Due("bill", c.bill_after))
    if s.status == "submitted" and c.submitted_at and not c.follow_up_sent:
        out.append(Due("claim_follow_up", c.submitted_at + timedelta(days=s.policy.claim_follow_up_days)))
    if s.status == "denied" and c.appeal_id is None:
        for d in c.denials:
            if d.appealable and d.deadline:
                out += [
                    Due("appeal_warning", d.deadline - timedelta(days=n), d.id, str(n))
                    for n in s.policy.appeal_warning_days
                    if n not in d.fired
                ]
        deadlines = [d.deadline for d in c.denials if d.appealable and d.deadline]
        if deadlines:
            out.append(Due("appeal_deadline", max(deadlines)))
    thresholds = hold_thresholds(s.policy)
    for h in s.holds:
        if not h.alerted and h.query_id is None:
            out.append(Due("hold_alert", hold_alert_at(h.reason, h.placed_at, thresholds), h.id))
    return out


def next_deadline(s: Snapshot, now: datetime) -> datetime | None:
    return min((d.at for d in pending(s, now)), default=None)


def due(s: Snapshot, now: datetime) -> list[Due]:
    return [d for d in pending(s, now) if d.at <= now]


def fired_through(event: str) -> list[str]:
    """A late wake-up fires only the latest overdue query event; the earlier ones count as passed."""
    return list(QUERY_TIMER_EVENTS[: QUERY_TIMER_EVENTS.index(event) + 1])
