"""Per-token and per-webhook-source rate limits, so one noisy client cannot starve the others.

A token bucket per key: `per_second` sustained with bursts up to `burst`. Keys are a digest of the
bearer token and the webhook source id, so the limit follows the caller, not its address. The
buckets live in this process: behind several API processes each enforces its own share.
Defaults are high (settings `CLEARCHART_RATE_LIMIT_*`); lower them per deployment.
"""

import hashlib
import json
import math
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import PROBLEM

log = structlog.get_logger(__name__)

_MAX_KEYS = 50_000


@dataclass
class Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    def __init__(self, per_second: float, burst: int) -> None:
        self.per_second = per_second
        self.burst = burst
        self._buckets: dict[str, Bucket] = {}

    def take(self, key: str, now: float) -> float:
        """0 when the request may go ahead, else the seconds until it could."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_KEYS:
                self._forget_full(now)
            bucket = self._buckets[key] = Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.per_second)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.per_second

    def _forget_full(self, now: float) -> None:
        """A bucket that has refilled carries no information; drop those first."""
        refill = self.burst / self.per_second
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < refill}
        if len(self._buckets) >= _MAX_KEYS:
            self._buckets.clear()


def caller_key(scope: Scope) -> str | None:
    """Who a request counts against: its bearer token, else its webhook source, else nobody."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization" and value[:7].lower() == b"bearer ":
            return "token:" + hashlib.sha256(value[7:].strip()).hexdigest()[:32]
    if scope.get("path", "").startswith("/v1/webhooks/"):
        query = scope.get("query_string", b"").decode("latin-1")
        source: str | None = dict(parse_qsl(query)).get("source")
        if source:
            return "source:" + source[:64]
    return None


class RateLimiter:
    def __init__(self, app: ASGIApp, *, per_second: float, burst: int) -> None:
        self.app = app
        self.buckets = TokenBuckets(per_second, burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = caller_key(scope) if scope["type"] == "http" else None
        wait = 0.0 if key is None else self.buckets.take(key, time.monotonic())
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))
        log.warning("request.rate_limited", key_kind=key.split(":")[0] if key else None, retry_after=retry_after)
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Too many requests",
                "status": 429,
                "detail": f"this {'token' if key and key.startswith('token') else 'source'} is over its rate limit; retry after {retry_after} s",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", PROBLEM.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
