"""Who may do what: one pure table, enforced in the API dependencies and repositories."""

from dataclasses import dataclass
from typing import Final, Literal

Role = Literal["ops", "coder", "vendor_lead", "physician", "auditor", "integrator", "admin"]
ROLES: Final[tuple[Role, ...]] = (
    "ops",
    "coder",
    "vendor_lead",
    "physician",
    "auditor",
    "integrator",
    "admin",
)

Permission = Literal[
    "encounters.read",
    "queues.read",
    "queues.claim",
    "coding.submit",
    "charts.release",
    "charts.reassign",
    "holds.place",
    "holds.release",
    "queries.raise",
    "queries.read",
    "queries.answer",
    "queries.withdraw",
    "templates.read",
    "templates.manage",
    "metrics.read",
    "metrics.scrape",
    "evidence.read",
    "audit.verify",
    "webhook_sources.manage",
    "intake.failures.read",
    "access_log.read",
    "audits.manage",
    "audits.review",
    "audits.respond",
    "audits.read",
    "claims.read",
    "claims.manage",
    "remittances.post",
    "denials.work",
    "appeals.manage",
    "tenant.manage",
    "inbound.read",
    "payers.manage",
    "payloads.decode",
]

_OPERATIONS: frozenset[Permission] = frozenset(
    {
        "encounters.read",
        "queues.read",
        "charts.reassign",
        "charts.release",
        "holds.place",
        "holds.release",
        "queries.raise",
        "queries.read",
        "queries.withdraw",
        "templates.read",
        "templates.manage",
        "metrics.read",
        "evidence.read",
        "audit.verify",
        "audits.read",
        "claims.read",
        "claims.manage",
        "remittances.post",
        "denials.work",
        "appeals.manage",
        "inbound.read",
        "intake.failures.read",
    }
)

PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    "ops": _OPERATIONS,
    # Answering a query and filing an addendum are clinical acts: physicians only, never admins.
    "admin": _OPERATIONS | {"webhook_sources.manage", "access_log.read", "audits.manage", "metrics.scrape", "tenant.manage", "payers.manage", "payloads.decode"},
    "coder": frozenset(
        {
            "encounters.read",
            "queues.read",
            "queues.claim",
            "coding.submit",
            "charts.release",
            "holds.place",
            "queries.raise",
            "queries.read",
            "queries.withdraw",
            "templates.read",
            "audits.read",
            "audits.respond",
            "claims.read",
        }
    ),
    "vendor_lead": frozenset(
        {
            "encounters.read",
            "queues.read",
            "charts.release",
            "holds.place",
            "holds.release",
            "queries.read",
            "metrics.read",
            "audits.read",
            "audits.respond",
            "claims.read",
        }
    ),
    "auditor": frozenset(
        {"encounters.read", "evidence.read", "audit.verify", "audits.manage", "audits.review", "audits.read", "claims.read"}
    ),
    "physician": frozenset({"queries.read", "queries.answer"}),
    "integrator": frozenset({"webhook_sources.manage", "remittances.post", "metrics.scrape", "inbound.read", "intake.failures.read"}),
}


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    user_id: str
    role: Role
    vendor_id: str | None = None
    npi: str | None = None


def can(principal: Principal, permission: Permission) -> bool:
    return permission in PERMISSIONS.get(principal.role, frozenset())
