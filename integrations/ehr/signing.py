"""Standard Webhooks (https://www.standardwebhooks.com) signing and verification.

Implemented here rather than through the ``standardwebhooks`` package because intake needs
things the reference verifier does not give: an injectable clock (tests, replays), the
``webhook-id`` back for idempotency, and error messages that tell an integrator what to fix.
The tests cross-check every byte against the reference package in both directions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from integrations.ehr.errors import WebhookVerificationError

SECRET_PREFIX = "whsec_"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
DEFAULT_TOLERANCE = timedelta(minutes=5)


def generate_secret() -> str:
    """Return a new ``whsec_``-prefixed secret holding 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _key(secret: str) -> bytes:
    """Decode a secret; the prefix is optional and missing padding is tolerated, as in the spec."""
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("webhook secret is not valid base64 after the 'whsec_' prefix") from exc
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return the ``v1,<base64>`` signature of ``{msg_id}.{timestamp}.{body}``."""
    digest = _digest(_key(secret), msg_id, timestamp, body)
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(
    secret: str, msg_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """Build the three headers a sender attaches; ``timestamp`` defaults to now."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: sign(secret, msg_id, ts, body),
    }


def _format_delta(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


def _check_timestamp(raw: str, now: datetime, tolerance: timedelta) -> int:
    try:
        timestamp = int(raw.strip())
    except ValueError:
        raise WebhookVerificationError(
            f"{TIMESTAMP_HEADER} must be integer Unix seconds, got {raw!r}"
        ) from None
    skew = datetime.fromtimestamp(timestamp, tz=UTC) - now
    if skew < -tolerance:
        raise WebhookVerificationError(
            f"{TIMESTAMP_HEADER} is too old: {_format_delta(skew)} behind server time "
            f"(tolerance {_format_delta(tolerance)}); sign each delivery when sending it "
            "and check the sender's clock"
        )
    if skew > tolerance:
        raise WebhookVerificationError(
            f"{TIMESTAMP_HEADER} is too new: {_format_delta(skew)} ahead of server time "
            f"(tolerance {_format_delta(tolerance)}); check the sender's clock"
        )
    return timestamp


def _candidates(header: str) -> list[bytes]:
    """Decode every ``v1,`` entry; other versions and undecodable entries cannot match."""
    found: list[bytes] = []
    for entry in header.split():
        version, _, value = entry.partition(",")
        if version != "v1":
            continue
        try:
            found.append(base64.b64decode(value, validate=True))
        except binascii.Error:
            continue
    return found


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> str:
    """Verify a delivery and return its ``webhook-id`` (the idempotency key).

    Any one of several space-separated ``v1`` signatures may match, so senders can rotate
    secrets without downtime. Raises :class:`WebhookVerificationError` otherwise.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    lowered = {name.lower(): value for name, value in headers.items()}
    required = (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
    missing = [name for name in required if not lowered.get(name, "").strip()]
    if missing:
        raise WebhookVerificationError(
            f"missing webhook header(s): {', '.join(missing)}; "
            "Standard Webhooks requires webhook-id, webhook-timestamp and webhook-signature"
        )
    msg_id = lowered[ID_HEADER]
    timestamp = _check_timestamp(lowered[TIMESTAMP_HEADER], now, tolerance)
    candidates = _candidates(lowered[SIGNATURE_HEADER])
    if not candidates:
        raise WebhookVerificationError(
            f"{SIGNATURE_HEADER} holds no 'v1,<base64>' entry; expected e.g. 'v1,K5oZ...='"
        )
    expected = _digest(_key(secret), msg_id, timestamp, body)
    if any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        return msg_id
    raise WebhookVerificationError(
        f"no matching signature among {len(candidates)} v1 signature(s): check that the "
        "source signs with its current secret and that the body is sent byte-for-byte as signed"
    )
