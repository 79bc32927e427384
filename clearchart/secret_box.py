"""Secrets at rest (webhook signing secrets): AES-256-GCM under the `secrets` key of the key file.

Stored as `enc:v1:<key id>:<base64 nonce+ciphertext>`, so a database dump or a read-only SQL
user learns nothing that signs a webhook; rows written before encryption (plain `whsec_…`) still
open, and `clearchart keys rotate secrets` leaves every older value readable.
"""

import base64
import os

import psycopg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import make_url

from clearchart.keys import KeySet, load_keys
from clearchart.settings import Settings

PREFIX = "enc:v1:"
_AAD = b"clearchart webhook source secret"


def seal(keys: KeySet, plaintext: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(keys.key).encrypt(nonce, plaintext.encode(), _AAD)
    return f"{PREFIX}{keys.current}:{base64.b64encode(nonce + sealed).decode()}"


def open_secret(keys: KeySet, stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before secrets were encrypted
    key_id, _, blob = stored[len(PREFIX) :].partition(":")
    key = keys.keys.get(key_id)
    if key is None:
        raise ValueError(f"secret encrypted with key {key_id!r}, which the key file does not hold")
    raw = base64.b64decode(blob)
    return AESGCM(key).decrypt(raw[:12], raw[12:], _AAD).decode()


def secret_keys(settings: Settings) -> KeySet:
    return load_keys(settings, "secrets")


def encrypt_stored_secrets(url: str, keys: KeySet) -> int:
    """Encrypt webhook secrets still stored in plain text (rows from before encryption)."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT id, secret FROM webhook_sources WHERE secret NOT LIKE %s FOR UPDATE", (PREFIX + "%",)).fetchall()
        for ident, secret in rows:
            conn.execute("UPDATE webhook_sources SET secret = %s WHERE id = %s", (seal(keys, str(secret)), ident))
    return len(rows)
