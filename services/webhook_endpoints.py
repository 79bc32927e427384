"""Webhook endpoints an integrator subscribes: create, list, delete, the delivery log, replay.

Endpoint addresses are checked against SSRF when created and again before every attempt (a
name may resolve elsewhere later): private, loopback and link-local addresses are refused
unless the tenant's ``webhooks_allow_private_addresses`` setting allows them.
"""

import asyncio
import ipaddress
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from integrations.ehr.signing import generate_secret
from models.encounters.tables import Tenant
from models.repositories import webhooks as repo
from models.webhooks.events import EVENT_TYPES, address_refusal
from models.webhooks.tables import WebhookEndpoint

log = structlog.get_logger(__name__)

ALLOW_PRIVATE_SETTING = "webhooks_allow_private_addresses"


class EndpointRefused(ValueError):
    """The endpoint cannot be subscribed as asked; the message says what to change."""


class EndpointNotFound(LookupError):
    pass


class EndpointDisabled(RuntimeError):
    pass


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: WebhookEndpoint
    secret: str


async def url_refusal(url: str, *, allow_private: bool) -> str | None:
    """Why events may not be sent to ``url`` now, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"'{url}' is not an absolute http(s) URL"
    if parts.username or parts.password:
        return "put no credentials in the URL; verify our signature instead"
    if allow_private:
        return None
    try:
        ipaddress.ip_address(parts.hostname)
        addresses = [parts.hostname]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
        except OSError:
            return f"the host name '{parts.hostname}' does not resolve"
        addresses = sorted({str(info[4][0]) for info in infos})
    for address in addresses:
        if refusal := address_refusal(address):
            return f"{refusal}; events go only to public addresses unless the tenant allows private ones"
    return None


async def allows_private(session: AsyncSession, tenant_id: str) -> bool:
    tenant = await session.get(Tenant, tenant_id)
    return bool(tenant and tenant.settings.get(ALLOW_PRIVATE_SETTING))


async def create(
    session: AsyncSession, tenant_id: str, created_by: str, url: str, event_types: list[str], description: str
) -> NewEndpoint:
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise EndpointRefused(f"unknown event type(s) {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}")
    if not event_types:
        raise EndpointRefused("subscribe to at least one event type")
    if refusal := await url_refusal(url, allow_private=await allows_private(session, tenant_id)):
        raise EndpointRefused(refusal)
    secret = generate_secret()
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(), tenant_id=tenant_id, url=url, event_types=sorted(set(event_types)),
        description=description, secret=secret, status="enabled", created_by=created_by,
    )  # fmt: skip
    session.add(endpoint)
    await session.flush()
    log.info("webhook_endpoint.created", endpoint_id=str(endpoint.id), tenant_id=tenant_id)
    return NewEndpoint(endpoint, secret)


async def listed(session: AsyncSession, tenant_id: str) -> list[WebhookEndpoint]:
    return await repo.endpoints(session, tenant_id)


async def get(session: AsyncSession, tenant_id: str, endpoint_id: uuid.UUID, *, lock: bool = False) -> WebhookEndpoint:
    found = await repo.endpoint(session, tenant_id, endpoint_id, lock=lock)
    if found is None:
        raise EndpointNotFound(f"no webhook endpoint {endpoint_id} in your tenant")
    return found


async def delete(session: AsyncSession, tenant_id: str, endpoint_id: uuid.UUID) -> None:
    """Stops deliveries at once: pending attempts find the endpoint gone and skip."""
    endpoint = await get(session, tenant_id, endpoint_id, lock=True)
    endpoint.status = "deleted"


async def delivery_log(session: AsyncSession, endpoint: WebhookEndpoint, limit: int) -> list[dict[str, Any]]:
    """The newest messages first, each with its event and every attempt."""
    rows = await repo.messages(session, endpoint.id, limit)
    ids = [event.id for _, event in rows]
    attempts: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        for a in await repo.attempts(session, endpoint.id, ids):
            attempts[a.event_id].append(
                {"attempt": a.attempt, "attempted_at": a.attempted_at, "status_code": a.status_code, "error": a.error, "duration_ms": a.duration_ms}
            )
    return [
        {"event_id": event.id, "type": event.type, "occurred_at": event.occurred_at, "status": message.status,
         "attempts": attempts[event.id], "payload": event.payload}
        for message, event in rows
    ]  # fmt: skip


async def replay(
    session: AsyncSession, endpoint: WebhookEndpoint, *, event_ids: list[str] | None, since: datetime | None
) -> list[str]:
    """Queue events again for this endpoint (same webhook-id, so receivers can de-duplicate).

    ``event_ids`` names events; ``since`` takes every subscribed event from that time on, also
    ones that happened before the endpoint existed or while it was disabled.
    """
    if endpoint.status != "enabled":
        raise EndpointDisabled(f"endpoint {endpoint.id} is {endpoint.status} ({endpoint.disabled_reason}); re-create it to receive events")
    found = await repo.subscribed_events(session, endpoint.tenant_id, endpoint.event_types, event_ids=event_ids, since=since, limit=1000)
    if event_ids is not None and (missing := sorted(set(event_ids) - set(found))):
        raise EndpointRefused(f"no event(s) {', '.join(missing)} of a type this endpoint subscribes to")
    for event_id in found:
        await repo.requeue(session, endpoint, event_id)
    return found
