"""Payloads every stage shares: who acts, the tenant's durations, what an update answers."""

from dataclasses import dataclass, field

from models.encounters.projection import Actor as Actor

SYSTEM = Actor(user_id="system", role="system")


@dataclass(frozen=True)
class Policy:
    """Tenant durations, read by the intake activity so the workflow stays deterministic."""

    lease_minutes: int = 30
    coding_sla_hours: int = 72
    query_reminder_hours: float = 24
    query_escalate_hours: float = 48
    query_expire_hours: float = 168
    # After an answer the chart goes back to the coder who asked (True) or to the front of its
    # queue (False).
    query_keeps_assignee: bool = True
    query_escalate_to: str = "physician-advisor"
    hold_alert_hours: dict[str, float] = field(default_factory=dict)
    claim_follow_up_days: int = 30
    # Clean claims wait this long before billing, so prospective QA audits can sample them.
    prebill_review_hours: float = 0
    appeal_warning_days: list[int] = field(default_factory=lambda: [30, 14, 7, 1])


@dataclass(frozen=True)
class Outcome:
    """What every update answers: the state the caller can now read back from the API."""

    encounter_id: str
    status: str
    seq: int
    hold_id: str | None = None
    query_id: str | None = None
    scrub_id: str | None = None
    claim_id: str | None = None


@dataclass(frozen=True)
class Notification:
    tenant_id: str
    encounter_id: str
    key: str
    kind: str
    recipient: str
    subject: str
    query_id: str | None = None
    hold_id: str | None = None
