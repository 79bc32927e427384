"""Tenant routing rules: which queue a new chart goes to (its policy is models.tenants.policy)."""

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    position: int
    queue_id: str
    encounter_type: str | None = None
    specialty: str | None = None
    payer_id: str | None = None
    priority: int = 0


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
