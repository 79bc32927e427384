"""Outbound events: which projection changes an integrator hears about, the retry schedule, and
which endpoint addresses are refused. Pure rules, no I/O.

Payloads are thin on purpose: a type, our ids and a timestamp. An integrator who needs the chart
reads it through the API with its own token, so no PHI ever sits in a webhook body or a retry
queue.
"""

import ipaddress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

EVENT_TYPES: Final[tuple[str, ...]] = (
    "encounter.status_changed",
    "query.opened",
    "query.answered",
    "query.escalated",
    "query.expired",
    "hold.placed",
    "hold.released",
    "claim.submitted",
    "claim.accepted",
    "claim.rejected",
    "claim.paid",
    "denial.opened",
    "appeal.deadline_near",
    "appeal.decided",
    "audit.finding_issued",
)

# Workflow actions whose projection announces one event (beyond status changes and holds).
_QUERY_ACTIONS: Final[dict[str, str]] = {
    "raise_query": "query.opened",
    "answer_query": "query.answered",
    "query_escalation": "query.escalated",
    "query_expired": "query.expired",
}
_CLAIM_ACTIONS: Final[dict[str, str]] = {
    "scrub_clean": "claim.submitted",
    "accept_277ca": "claim.accepted",
    "reject_277ca": "claim.rejected",
    "remit_paid": "claim.paid",
}

# The Standard Webhooks schedule (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), then three
# more attempts 15 h apart so an endpoint has about three days to come back.
RETRY_SCHEDULE: Final[tuple[timedelta, ...]] = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
    timedelta(hours=15),
    timedelta(hours=15),
    timedelta(hours=15),
)
MAX_RETRY_AFTER: Final = timedelta(hours=24)


@dataclass(frozen=True)
class EventDraft:
    type: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectionChange:
    """What the projection knows about one committed change, reduced to ids and states."""

    encounter_id: str
    action: str
    status_before: str | None
    status_after: str | None
    holds_before: dict[str, str]  # hold id -> reason
    holds_after: dict[str, str]
    query_id: str | None = None
    claim_id: str | None = None
    denial_ids: tuple[str, ...] = ()
    appeal_id: str | None = None
    reason: str | None = None


def events_for(change: ProjectionChange) -> list[EventDraft]:
    """The events one projected change announces, in the order a reader would expect them."""
    enc = {"encounter_id": change.encounter_id}
    out: list[EventDraft] = []
    if change.status_before != change.status_after and change.status_after is not None:
        out.append(EventDraft("encounter.status_changed", {**enc, "from": change.status_before, "to": change.status_after, "action": change.action}))
    if kind := _QUERY_ACTIONS.get(change.action):
        out.append(EventDraft(kind, {**enc, "query_id": change.query_id}))
    for hold_id, reason in change.holds_after.items():
        if hold_id not in change.holds_before:
            out.append(EventDraft("hold.placed", {**enc, "hold_id": hold_id, "reason": reason}))
    for hold_id, reason in change.holds_before.items():
        if hold_id not in change.holds_after:
            out.append(EventDraft("hold.released", {**enc, "hold_id": hold_id, "reason": reason}))
    if kind := _CLAIM_ACTIONS.get(change.action):
        out.append(EventDraft(kind, {**enc, "claim_id": change.claim_id}))
    if change.action == "remit_denied":
        out += [EventDraft("denial.opened", {**enc, "claim_id": change.claim_id, "denial_id": d}) for d in change.denial_ids]
    if change.action == "appeal_deadline_warning":
        out.append(EventDraft("appeal.deadline_near", {**enc, "claim_id": change.claim_id}))
    if change.action == "appeal_decision":
        out.append(EventDraft("appeal.decided", {**enc, "appeal_id": change.appeal_id, "decision": change.reason}))
    return out


def finding_issued(audit_id: str, finding_id: str, encounter_id: str) -> EventDraft:
    return EventDraft("audit.finding_issued", {"audit_id": audit_id, "finding_id": finding_id, "encounter_id": encounter_id})


def next_delay(attempt: int, retry_after: timedelta | None = None) -> timedelta | None:
    """Wait before attempt ``attempt + 1`` (1-based ``attempt`` just failed); None: give up.

    A ``Retry-After`` from a 429 or 503 is honoured when it asks for longer than the schedule,
    capped at a day so one answer cannot park an endpoint for good.
    """
    if attempt >= len(RETRY_SCHEDULE):
        return None
    scheduled = RETRY_SCHEDULE[attempt]
    if retry_after is None:
        return scheduled
    return max(scheduled, min(retry_after, MAX_RETRY_AFTER))


def address_refusal(address: str) -> str | None:
    """Why an endpoint may not be called at this address (SSRF), or None when it may."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return f"{address} is a loopback address"
    if ip.is_link_local:
        return f"{address} is a link-local address (cloud metadata services live there)"
    if ip.is_private or ip.is_reserved or ip.is_multicast or ip.is_unspecified or not ip.is_global:
        return f"{address} is a private or reserved address"
    return None
