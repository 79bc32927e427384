"""Evidence for one encounter (JSON, printable HTML, PDF) and verification of the audit chain."""

import asyncio
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.access_log import REASON_PARAM, clean_reason
from api.deps import PROBLEMS, SessionDep, chain_keys, require
from api.views import query_views
from models.access import Principal
from services import evidence as evidence_service

router = APIRouter(tags=["audit"])

NO_STORE = {"Cache-Control": "no-store"}  # PHI: no browser or proxy keeps a copy


@router.get(
    "/v1/encounters/{encounter_id}/evidence",
    responses={
        **PROBLEMS,
        200: {"content": {"application/json": {}, "text/html": {}, "application/pdf": {}}, "description": "the evidence packet"},
    },
)
async def evidence(
    encounter_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    who: Annotated[Principal, Depends(require("evidence.read"))],
    fmt: Annotated[Literal["json", "html", "pdf"], Query(alias="format", description="json (default), html (printable) or pdf")] = "json",
    reason: Annotated[str | None, Query(alias=REASON_PARAM, description="why this chart is read; kept in the PHI access log")] = None,
    x_access_reason: Annotated[str | None, Header(description="same as ?reason=")] = None,
) -> Response:
    """Why this claim was coded this way: documents seen (hashes, never note text), codes with the
    excerpts that support them, queries, holds, claim history, actors, and the verified chain head."""
    packet = await evidence_service.packet(
        session, who, chain_keys(request), encounter_id, views=query_views,
        claim_history=getattr(request.app.state, "claim_history", None), reason=clean_reason(x_access_reason or reason),
    )  # fmt: skip
    if fmt == "html":
        return HTMLResponse(evidence_service.render_html(packet), headers=NO_STORE)
    if fmt == "pdf":
        headers = {**NO_STORE, "Content-Disposition": f'inline; filename="evidence-{packet["encounter"]["id"]}.pdf"'}
        return Response(await asyncio.to_thread(evidence_service.render_pdf, packet), media_type="application/pdf", headers=headers)
    return JSONResponse(packet, headers=NO_STORE)


@router.get("/v1/audit-trail/verify", responses={**PROBLEMS, 422: {"description": "scope and encounter_id disagree"}})
async def verify_trail(
    request: Request,
    session: SessionDep,
    who: Annotated[Principal, Depends(require("audit.verify"))],
    encounter_id: Annotated[uuid.UUID | None, Query(description="the chart to check (scope=chart)")] = None,
    scope: Annotated[
        Literal["chart", "tenant", "all"] | None,
        Query(description="chart, or tenant (your whole tenant); default: chart when encounter_id is given. "
              "'all' (every tenant) is an operator task: `clearchart audit verify` on the server."),
    ] = None,
) -> dict[str, Any]:
    """Recompute the hash chains in scope and name the earliest event that no longer matches."""
    return await evidence_service.verify_trail(session, who, chain_keys(request), encounter_id, scope)
