"""One delivery attempt of an outbound event: sign, POST, log the answer.

The endpoint's answer is the activity's result, not its failure: the delivery workflow owns the
retry schedule, and Temporal's own retries cover only our side (database, worker). A 410 Gone
disables the endpoint; a 429 or 503 passes its ``Retry-After`` to the workflow.
"""

import json
import time
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from integrations.ehr.signing import signed_headers
from models.webhooks.tables import OutboundEvent, WebhookAttempt, WebhookEndpoint, WebhookMessage
from services.webhook_endpoints import allows_private, url_refusal
from workflows.webhook_delivery import AttemptInput, AttemptResult

log = structlog.get_logger(__name__)

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
USER_AGENT = "ClearChart-Webhooks/1"


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as delay-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class WebhookActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient) -> None:
        self._sessions = sessions
        self._http = http

    @activity.defn(name="webhooks.attempt")
    async def attempt(self, inp: AttemptInput) -> AttemptResult:
        endpoint_id = uuid.UUID(inp.endpoint_id)
        async with self._sessions() as session:
            message = await session.get(WebhookMessage, (endpoint_id, inp.event_id))
            endpoint = await session.get(WebhookEndpoint, endpoint_id)
            event = await session.get(OutboundEvent, inp.event_id)
            allow_private = await allows_private(session, endpoint.tenant_id) if endpoint else False
        if message is None or endpoint is None or event is None:
            return AttemptResult("skipped")
        if message.status == "delivered":
            return AttemptResult("delivered")
        if endpoint.status != "enabled":
            await self._finish(message, "skipped", None, f"endpoint {endpoint.status}")
            return AttemptResult("skipped")

        body = json.dumps(event.payload, separators=(",", ":"), sort_keys=True).encode()
        status_code: int | None = None
        error: str | None = None
        retry_after: float | None = None
        started = time.monotonic()
        if refusal := await url_refusal(endpoint.url, allow_private=allow_private):
            error = refusal
        else:
            headers = {"content-type": "application/json", "user-agent": USER_AGENT, **signed_headers(endpoint.secret, event.id, body)}
            try:
                response = await self._http.post(endpoint.url, content=body, headers=headers, timeout=TIMEOUT, follow_redirects=False)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            else:
                status_code = response.status_code
                if status_code in (429, 503):
                    retry_after = retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC))
        duration_ms = int((time.monotonic() - started) * 1000)

        async with self._sessions.begin() as session:
            session.add(
                WebhookAttempt(
                    tenant_id=endpoint.tenant_id, endpoint_id=endpoint_id, event_id=event.id, attempt=inp.attempt,
                    attempted_at=inp.attempted_at, status_code=status_code, error=error, duration_ms=duration_ms,
                )
            )  # fmt: skip
        if status_code is not None and 200 <= status_code < 300:
            outcome, state = "delivered", "delivered"
        elif status_code == 410:
            outcome, state = "gone", "failed"
            await self._disable(endpoint_id, "the endpoint answered 410 Gone")
        else:
            outcome, state = "retry", "failed" if inp.final else "pending"
        await self._finish(message, state, status_code, error, attempts=inp.attempt)
        log.info("webhook.attempted", endpoint_id=inp.endpoint_id, event_id=inp.event_id, attempt=inp.attempt, status_code=status_code, outcome=outcome)
        return AttemptResult(outcome, status_code, retry_after)

    async def _finish(
        self, message: WebhookMessage, status: str, status_code: int | None, error: str | None, *, attempts: int | None = None
    ) -> None:
        async with self._sessions.begin() as session:
            row = await session.get_one(WebhookMessage, (message.endpoint_id, message.event_id), with_for_update=True)
            row.status = status
            row.last_status_code = status_code
            row.last_error = error
            if attempts is not None:
                row.attempts = attempts
            row.updated_at = datetime.now(UTC)

    async def _disable(self, endpoint_id: uuid.UUID, reason: str) -> None:
        async with self._sessions.begin() as session:
            endpoint = await session.get_one(WebhookEndpoint, endpoint_id, with_for_update=True)
            if endpoint.status == "enabled":
                endpoint.status = "disabled"
                endpoint.disabled_reason = reason
        log.warning("webhook_endpoint.disabled", endpoint_id=str(endpoint_id), reason=reason)

