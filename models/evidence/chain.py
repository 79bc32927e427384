"""Hash chain over audit events: any change to a stored event breaks verification.

Events written since keyed chains carry a `key_id`: their hash is an HMAC-SHA256 under a key the
database does not hold (clearchart.audit_keys), so someone who can write the table cannot
re-hash a rewritten chain. Older events keep their plain SHA-256 and still verify.
"""

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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


def event_hash(prev_hash: str, fields: Mapping[str, Any], key: bytes | None = None) -> str:
    message = (prev_hash + canonical_json(fields)).encode()
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Keyring:
    """Chain keys by id; `current` signs new events, every key verifies the events it signed."""

    current: str
    keys: Mapping[str, bytes] = field(repr=False)

    def seal(self, prev_hash: str, fields: Mapping[str, Any]) -> str:
        if fields.get("key_id") != self.current:
            raise ValueError("fields must name the current key id before sealing")
        return event_hash(prev_hash, fields, self.keys[self.current])

    def check(self, prev_hash: str, fields: Mapping[str, Any], stored: str) -> str | None:
        """None when `stored` is the right hash; otherwise what is wrong."""
        key_id = fields.get("key_id")
        if key_id is None:
            return None if event_hash(prev_hash, fields) == stored else "stored hash does not match the event's content"
        key = self.keys.get(str(key_id))
        if key is None:
            return f"signed with chain key {key_id!r}, which this verifier does not hold"
        ok = hmac.compare_digest(event_hash(prev_hash, fields, key), stored)
        return None if ok else "stored hash does not match the event's content (keyed hash)"


UNKEYED = Keyring("", {})


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
    facts: Mapping[str, Any] | None = None,
    key_id: str | None = None,
    chain: str | None = None,
) -> dict[str, Any]:
    """The exact set of fields covered by the hash (microsecond UTC time, as PostgreSQL stores it).

    `facts` (digests of the rows the event leaves behind), `key_id` and `chain` (a chart's second
    chain, "qa") are covered when present; events from before they existed hash exactly as they did."""
    extra: dict[str, Any] = {"chain": chain} if chain is not None else {}
    if facts is not None:
        extra["facts"] = dict(facts)
    if key_id is not None:
        extra["key_id"] = key_id
    return {
        **extra,
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


def verify_chain(
    events: Iterable[tuple[Mapping[str, Any], str, str]], keys: Keyring = UNKEYED
) -> ChainBreak | None:
    """Check (fields, prev_hash, hash) triples in seq order; return the first broken event.

    Once a chain is keyed it stays keyed: an unkeyed event after a keyed one is a downgrade."""
    expected_prev = GENESIS
    expected_seq = 1
    keyed = False
    for fields, prev_hash, stored in events:
        where = (str(fields["encounter_id"]), int(fields["seq"]))
        if fields["seq"] != expected_seq:
            return ChainBreak(*where, f"expected event {expected_seq}, found {fields['seq']}")
        if prev_hash != expected_prev:
            return ChainBreak(*where, "previous-hash link does not match the event before it")
        if keyed and fields.get("key_id") is None:
            return ChainBreak(*where, "an unkeyed event follows keyed ones: the chain was re-hashed without the key")
        keyed = keyed or fields.get("key_id") is not None
        problem = keys.check(prev_hash, fields, stored)
        if problem is not None:
            return ChainBreak(*where, problem)
        expected_prev = stored
        expected_seq += 1
    return None


@dataclass(frozen=True)
class BrokenEvent:
    """The stored event where a chain stops verifying."""

    tenant_id: str
    encounter_id: str
    seq: int
    problem: str
    action: str | None
    occurred_at: datetime | None
