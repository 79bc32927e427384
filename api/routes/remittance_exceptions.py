"""The remittance-exceptions work queue and the dead-letter list of clearinghouse files.

Exceptions are claim payments and statuses that could not be applied as received; a person
applies, links or dismisses them (the rules live in `services.remittance_exceptions`). Dead
letters are inbound clearinghouse files nobody could read or route: a tenant sees the ones that
name its claims in full, and the unroutable ones (no tenant) without their body.
"""

import html
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from api.deps import SessionDep, SettingsDep, TemporalDep, chain_keys, require
from api.errors import Conflict, NotFound, Unprocessable
from clearchart.billing_poller import DEAD_LETTER_STATUSES
from models.access import Principal
from models.repositories import operations
from services import remittance_exceptions as exceptions

router = APIRouter(tags=["billing"])

_REFUSALS = {"not_found": NotFound, "conflict": Conflict, "invalid": Unprocessable}


class ResolveIn(BaseModel):
    action: Literal["apply", "link", "dismiss"]
    claim_id: uuid.UUID | None = Field(default=None, description="for link: the claim the payment belongs to")
    reason: str = Field(default="", max_length=2000, description="for dismiss: why, for whoever reads it later")


@router.get("/v1/remittance-exceptions")
async def list_exceptions(
    session: SessionDep,
    who: Annotated[Principal, Depends(require("claims.manage"))],
    status: Annotated[Literal["open", "applied", "dismissed"] | None, Query()] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Payments and statuses waiting for a person: not applicable in the claim's state, unknown
    claim, balance mismatch, duplicate, workflow unreachable. Newest first."""
    return await exceptions.listing(session, who.tenant_id, status, limit)


@router.post("/v1/remittance-exceptions/{exception_id}/resolve")
async def resolve_exception(
    request: Request,
    exception_id: uuid.UUID,
    body: ResolveIn,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    who: Annotated[Principal, Depends(require("claims.manage"))],
) -> dict[str, Any]:
    """apply: try again now; link: attach an unmatched payment to a claim, then apply; dismiss:
    close it with a reason. Refused with 409 when it still cannot be applied (it stays open)."""
    try:
        return await exceptions.resolve(
            session, temporal, settings.task_queue, tenant_id=who.tenant_id, exception_id=exception_id,
            action=body.action, by=who.user_id, claim_id=body.claim_id, reason=body.reason, keys=chain_keys(request),
        )  # fmt: skip
    except exceptions.ResolveRefused as exc:
        raise _REFUSALS[exc.kind](exc.detail) from exc


@router.get(
    "/v1/dead-letters",
    response_model=None,
    responses={200: {"description": "the files, as JSON or (format=html) a page for people",
                     "content": {"application/json": {}, "text/html": {"schema": {"type": "string"}}}}},
)
async def dead_letters(
    session: SessionDep,
    who: Annotated[Principal, Depends(require("claims.manage"))],
    format: Annotated[Literal["json", "html"], Query()] = "json",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]] | HTMLResponse:
    """Clearinghouse files that could not be read, routed or applied, with the reason."""
    rows = await operations.dead_letters(session, who.tenant_id, DEAD_LETTER_STATUSES, limit)
    items = [
        {"source": f.source, "file_id": f.file_id, "kind": f.kind, "status": f.status, "detail": f.detail,
         "received_at": f.received_at.isoformat(), "body": f.body if who.tenant_id in f.tenants else None}
        for f in rows
    ]  # fmt: skip
    if format == "json":
        return items
    cells = "".join(
        f"<tr><td>{html.escape(str(i['received_at']))}</td><td>{html.escape(str(i['file_id']))}</td><td>{i['kind']}</td>"
        f"<td>{i['status']}</td><td>{html.escape(i['detail'] or '')}</td></tr>"
        for i in items
    )
    page = ("<!doctype html><title>Dead letters</title><h1>Clearinghouse files kept for a person</h1>"
            "<table><tr><th>received</th><th>file</th><th>kind</th><th>status</th><th>reason</th></tr>"
            f"{cells}</table>")  # fmt: skip
    return HTMLResponse(page)
