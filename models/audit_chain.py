"""Hash chain over audit events: any change to a stored event breaks verification."""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTC ISO timestamps: the same event always hashes the same."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    )


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON-serializable: {type(value).__name__}")


def event_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode()).hexdigest()


def hashed_fields(
    *,
    encounter_id: str,
    seq: int,
    actor: str,
    role: str,
    vendor: str | None,
    action: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    reason: str | None,
    occurred_at: datetime,
) -> dict[str, Any]:
    """The exact set of fields covered by the hash (microsecond UTC time, as PostgreSQL stores it)."""
    return {
        "encounter_id": encounter_id,
        "seq": seq,
        "actor": actor,
        "role": role,
        "vendor": vendor,
        "action": action,
        "before": dict(before),
        "after": dict(after),
        "reason": reason,
        "occurred_at": occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
    }


@dataclass(frozen=True)
class ChainBreak:
    encounter_id: str
    seq: int
    problem: str


def verify_chain(events: Iterable[tuple[Mapping[str, Any], str, str]]) -> ChainBreak | None:
    """Check (fields, prev_hash, hash) triples in seq order; return the first broken event."""
    expected_prev = GENESIS
    expected_seq = 1
    for fields, prev_hash, stored in events:
        where = (str(fields["encounter_id"]), int(fields["seq"]))
        if fields["seq"] != expected_seq:
            return ChainBreak(*where, f"expected event {expected_seq}, found {fields['seq']}")
        if prev_hash != expected_prev:
            return ChainBreak(*where, "previous-hash link does not match the event before it")
        if event_hash(prev_hash, fields) != stored:
            return ChainBreak(*where, "stored hash does not match the event's content")
        expected_prev = stored
        expected_seq += 1
    return None
