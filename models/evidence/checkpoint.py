"""Signed checkpoints of the tenant ledgers: an external party keeps one and later proves the
ledger still holds it, so a rewrite or truncation below the checkpoint cannot go unnoticed.

Ed25519 over the canonical JSON of the checkpoint body; the public key travels in the
checkpoint and its fingerprint is what the holder pins.
"""

import base64
import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from models.evidence.chain import canonical_json

FORMAT = "clearchart-audit-checkpoint/1"


def public_key(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def fingerprint(public: bytes) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(public).digest()).decode().rstrip("=")


def sign_checkpoint(heads: Sequence[Mapping[str, Any]], *, created_at: datetime, key_id: str, seed: bytes) -> dict[str, Any]:
    """`heads`: one {tenant_id, ledger_seq, ledger_hash} per tenant."""
    body = {
        "format": FORMAT,
        "created_at": created_at.isoformat(),
        "tenants": [dict(h) for h in heads],
        "key_id": key_id,
        "public_key": base64.b64encode(public_key(seed)).decode(),
    }
    signature = Ed25519PrivateKey.from_private_bytes(seed).sign(canonical_json(body).encode())
    return {**body, "signature": base64.b64encode(signature).decode()}


def check_signature(checkpoint: Mapping[str, Any], pinned: str | None = None) -> str | None:
    """None when the checkpoint is authentic (and signed by the pinned key, when given)."""
    body = {k: v for k, v in checkpoint.items() if k != "signature"}
    if body.get("format") != FORMAT:
        return f"not a ClearChart audit checkpoint (format {body.get('format')!r})"
    try:
        public = base64.b64decode(str(body["public_key"]))
        Ed25519PublicKey.from_public_bytes(public).verify(
            base64.b64decode(str(checkpoint.get("signature", ""))), canonical_json(body).encode()
        )
    except (InvalidSignature, ValueError, KeyError):
        return "the checkpoint's signature does not verify: it was altered after signing"
    if pinned is not None and pinned not in (fingerprint(public), body["public_key"]):
        return f"signed by {fingerprint(public)}, not by the pinned key {pinned}"
    return None
