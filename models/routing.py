"""Tenant rules that decide where a new chart goes and what documentation it needs."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Route:
    position: int
    queue_id: str
    encounter_type: str | None = None
    specialty: str | None = None
    payer_id: str | None = None
    priority: int = 0


@dataclass(frozen=True)
class TenantPolicy:
    lease_minutes: int = 30
    coding_sla_hours: int = 72
    # encounter class (FHIR v3 ActCode: AMB, IMP, EMER, …) -> LOINC document types it needs;
    # "*" applies to every class without its own entry.
    required_documents: Mapping[str, Sequence[str]] | None = None
    default_queue: str | None = None


DEFAULT_REQUIRED_DOCUMENTS: Mapping[str, Sequence[str]] = {"*": ()}


def policy_from_settings(settings: Mapping[str, Any]) -> TenantPolicy:
    return TenantPolicy(
        lease_minutes=int(settings.get("lease_minutes", 30)),
        coding_sla_hours=int(settings.get("coding_sla_hours", 72)),
        required_documents=settings.get("required_documents") or DEFAULT_REQUIRED_DOCUMENTS,
        default_queue=settings.get("default_queue"),
    )


def required_documents(policy: TenantPolicy, encounter_class: str | None) -> list[str]:
    table = policy.required_documents or DEFAULT_REQUIRED_DOCUMENTS
    key = encounter_class if encounter_class and encounter_class in table else "*"
    return sorted(table.get(key, ()))


def route(
    routes: Sequence[Route],
    *,
    encounter_types: Sequence[str],
    specialty: str | None,
    payer_id: str | None,
    default_queue: str | None = None,
) -> tuple[str | None, int]:
    """First rule by position whose set fields all match; null fields match anything."""
    for rule in sorted(routes, key=lambda r: r.position):
        if rule.encounter_type is not None and rule.encounter_type not in encounter_types:
            continue
        if rule.specialty is not None and rule.specialty != specialty:
            continue
        if rule.payer_id is not None and rule.payer_id != payer_id:
            continue
        return rule.queue_id, rule.priority
    return default_queue, 0
