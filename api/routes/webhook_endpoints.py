"""Outbound webhook endpoints: subscribe, list, unsubscribe, read the delivery log, replay."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from api.deps import SessionDep, TemporalDep, require
from api.errors import Conflict, NotFound, Unprocessable
from api.schemas.webhook_endpoints import (
    DeliveryOut,
    EndpointCreated,
    EndpointIn,
    EndpointOut,
    ReplayIn,
    ReplayOut,
)
from models.access import Principal
from models.webhooks.tables import WebhookEndpoint
from services import outbound_events, webhook_endpoints
from services.webhook_endpoints import EndpointDisabled, EndpointNotFound, EndpointRefused

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhook endpoints"])
Manager = Annotated[Principal, Depends(require("webhook_sources.manage"))]
PROBLEMS: dict[int | str, dict[str, Any]] = {404: {"description": "no such endpoint in your tenant"}}


def _out(e: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": str(e.id), "url": e.url, "event_types": e.event_types, "description": e.description,
        "status": e.status, "disabled_reason": e.disabled_reason, "created_at": e.created_at,
    }  # fmt: skip


async def _endpoint(session: SessionDep, who: Principal, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    try:
        return await webhook_endpoints.get(session, who.tenant_id, endpoint_id)
    except EndpointNotFound as exc:
        raise NotFound(str(exc)) from exc


@router.post("", status_code=201, response_model=EndpointCreated, responses={422: {"description": "unknown event type or a refused URL; nothing stored"}})
async def create_endpoint(body: EndpointIn, session: SessionDep, who: Manager) -> dict[str, Any]:
    """Subscribe an endpoint; the answer carries its signing secret, shown this once."""
    try:
        created = await webhook_endpoints.create(session, who.tenant_id, who.user_id, str(body.url), list(body.event_types), body.description)
    except EndpointRefused as exc:
        raise Unprocessable(str(exc)) from exc
    await session.refresh(created.endpoint)
    out = {**_out(created.endpoint), "secret": created.secret}
    await session.commit()
    return out


@router.get("", response_model=list[EndpointOut])
async def list_endpoints(session: SessionDep, who: Manager) -> list[dict[str, Any]]:
    return [_out(e) for e in await webhook_endpoints.listed(session, who.tenant_id)]


@router.get("/{endpoint_id}", response_model=EndpointOut, responses=PROBLEMS)
async def get_endpoint(endpoint_id: uuid.UUID, session: SessionDep, who: Manager) -> dict[str, Any]:
    return _out(await _endpoint(session, who, endpoint_id))


@router.delete("/{endpoint_id}", status_code=204, responses=PROBLEMS)
async def delete_endpoint(endpoint_id: uuid.UUID, session: SessionDep, who: Manager) -> Response:
    try:
        await webhook_endpoints.delete(session, who.tenant_id, endpoint_id)
    except EndpointNotFound as exc:
        raise NotFound(str(exc)) from exc
    await session.commit()
    return Response(status_code=204)


@router.get("/{endpoint_id}/deliveries", response_model=list[DeliveryOut], responses=PROBLEMS)
async def deliveries(
    endpoint_id: uuid.UUID, session: SessionDep, who: Manager, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[dict[str, Any]]:
    """The delivery log, newest event first: each event's state and every attempt."""
    return await webhook_endpoints.delivery_log(session, await _endpoint(session, who, endpoint_id), limit)


@router.post("/{endpoint_id}/replay", response_model=ReplayOut, responses={**PROBLEMS, 409: {"description": "the endpoint is disabled"}, 422: {"description": "an event id is unknown"}})
async def replay(
    endpoint_id: uuid.UUID, body: ReplayIn, request: Request, session: SessionDep, temporal: TemporalDep, who: Manager
) -> dict[str, Any]:
    """Send events again, with their original webhook-id, in their original order."""
    endpoint = await _endpoint(session, who, endpoint_id)
    try:
        queued = await webhook_endpoints.replay(session, endpoint, event_ids=body.event_ids, since=body.since)
    except EndpointDisabled as exc:
        raise Conflict(str(exc)) from exc
    except EndpointRefused as exc:
        raise Unprocessable(str(exc)) from exc
    await session.commit()
    await outbound_events.dispatch(request.app.state.sessions, lambda: temporal, request.app.state.settings.task_queue, queued)
    return {"queued": queued}
