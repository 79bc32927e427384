"""What the workflow hands the projection: the encounter's change and the events beside it.

Each state change the workflow reports is a frozen event; a repository
(models/repositories/projection_events.py) maps each one to its table writes, so histories name
no table or column. `kind` tells the events apart when a payload is decoded; `version` says which
shape of the event a history holds, so a later shape can still read an older one.

Pure types, at the bottom of the layers so the repository that applies them needs nothing above
`models/`; `workflows.types` re-exports every name. Temporal encodes dataclasses by their fields,
not their module, so where they live is not part of a recorded history.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal


@dataclass(frozen=True)
class Actor:
    user_id: str
    role: str
    vendor_id: str | None = None
    npi: str | None = None


@dataclass(frozen=True)
class DenialFacts:
    """What an 835 says about one denial, written when the state change that carries it lands."""

    encounter_id: str
    claim_id: str
    payment_id: str
    group_code: str
    carc: str
    rarcs: list[str]
    category: str
    amount_cents: int
    line_index: int | None
    payer_id: str | None
    appealable: bool
    not_appealable_reason: str | None
    notice_date: str  # ISO date
    appeal_deadline: str | None  # ISO date
    work_queue: str | None
    cause_table_version: str | None
    status: str = "open"


@dataclass(frozen=True)
class QueryEvent:
    """What the projection writes to the queries table for one query change."""

    query_id: str
    status: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Record:
    """Legacy projection payload naming a table and its columns.

    Workflows no longer send it (they send the events below); it stays so that projection inputs
    recorded in older histories still decode and apply."""

    table: str
    id: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AcknowledgedEdit:
    rule: str
    line_index: int | None
    reason_sha256: str
    by: str


@dataclass(frozen=True)
class ScrubAcknowledged:
    """The coder acknowledged every soft edit of a scrub, each with a reason."""

    scrub_id: str
    acknowledgments: list[AcknowledgedEdit]
    version: int = 1
    kind: Literal["scrub_acknowledged"] = "scrub_acknowledged"


@dataclass(frozen=True)
class ClaimAcknowledged:
    """The payer's 277CA accepted the claim: it counts as filed."""

    claim_id: str
    acknowledged_at: datetime
    version: int = 1
    kind: Literal["claim_acknowledged"] = "claim_acknowledged"


@dataclass(frozen=True)
class ClaimRejected:
    """The payer's 277CA rejected the claim: not filed, and why."""

    claim_id: str
    acknowledged_at: datetime
    rejection: str
    version: int = 1
    kind: Literal["claim_rejected"] = "claim_rejected"


@dataclass(frozen=True)
class ClaimAdjudicated:
    """An 835 paid, partly paid or denied the claim."""

    claim_id: str
    status: str  # paid | partial | denied | reversed
    paid_cents: int
    version: int = 1
    kind: Literal["claim_adjudicated"] = "claim_adjudicated"


@dataclass(frozen=True)
class DenialOpened:
    """An 835 denied the claim or a line; `facts` is None when the remittance carried none."""

    denial_id: str
    facts: DenialFacts | None
    version: int = 1
    kind: Literal["denial_opened"] = "denial_opened"


@dataclass(frozen=True)
class AppealFiled:
    """An appeal of a denial was filed; the denial is now under appeal."""

    appeal_id: str
    encounter_id: str
    denial_id: str
    level: str
    reason_sha256: str
    deadline: str  # ISO date
    filed_by: str
    filed_at: datetime
    version: int = 1
    kind: Literal["appeal_filed"] = "appeal_filed"


@dataclass(frozen=True)
class AppealDecided:
    """The payer decided the appeal; its denial is closed whatever the decision."""

    appeal_id: str
    denial_id: str
    decision: str  # overturned | upheld | partial
    recovered_cents: int
    decided_at: datetime
    version: int = 1
    kind: Literal["appeal_decided"] = "appeal_decided"


@dataclass(frozen=True)
class DenialClosed:
    """A denial is closed without an appeal (written off, or its deadline passed)."""

    denial_id: str
    version: int = 1
    kind: Literal["denial_closed"] = "denial_closed"


ProjectionEvent = (
    ScrubAcknowledged
    | ClaimAcknowledged
    | ClaimRejected
    | ClaimAdjudicated
    | DenialOpened
    | AppealFiled
    | AppealDecided
    | DenialClosed
)


@dataclass(frozen=True)
class ProjectInput:
    tenant_id: str
    encounter_id: str
    seq: int
    action: str
    actor: Actor
    before: dict[str, Any]
    after: dict[str, Any]
    occurred_at: datetime
    row: dict[str, Any]
    reason: str | None = None
    query: QueryEvent | None = None
    records: list[Record] = field(default_factory=list)  # legacy: inputs recorded before `events`
    events: list[ProjectionEvent] = field(default_factory=list)


@dataclass(frozen=True)
class ProjectBatch:
    """Changes of one workflow task projected in one transaction, in order (each its own event)."""

    items: list[ProjectInput]
