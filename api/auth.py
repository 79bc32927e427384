"""Bearer tokens: random, shown once, stored only as a keyed hash."""

import hashlib
import hmac
import secrets


def new_token() -> str:
    return "cc_" + secrets.token_urlsafe(32)


def token_hash(secret_key: str, token: str) -> str:
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()
