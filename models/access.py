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
    "evidence.read",
    "audit.verify",
    "webhook_sources.manage",
]

PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    "ops": frozenset(
        {
            "encounters.read",
            "queues.read",
            "charts.reassign",
            "charts.release",
            "holds.place",
            "holds.release",
            "evidence.read",
            "audit.verify",
        }
    ),
    "admin": frozenset(
        {
            "encounters.read",
            "queues.read",
            "charts.reassign",
            "charts.release",
            "holds.place",
            "holds.release",
            "evidence.read",
            "audit.verify",
            "webhook_sources.manage",
        }
    ),
    "coder": frozenset(
        {
            "encounters.read",
            "queues.read",
            "queues.claim",
            "coding.submit",
            "charts.release",
            "holds.place",
        }
    ),
    "vendor_lead": frozenset({"encounters.read", "queues.read", "charts.release", "holds.place"}),
    "auditor": frozenset({"encounters.read", "evidence.read", "audit.verify"}),
    "physician": frozenset(),
    "integrator": frozenset({"webhook_sources.manage"}),
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
