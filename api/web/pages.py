"""Sign-in, static assets, the dashboard and the encounter pages shared by every role."""

import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials

from api.deps import SessionDep, authenticate, chain_keys
from api.errors import Unauthorized
from api.views import query_views, read_detail
from api.web import dashboard, data
from api.web.render import WebRoute, home_for, page
from api.web.session import (
    WebError,
    WebSession,
    close_session,
    login_csrf_ok,
    open_session,
    read_session,
    remember_login,
    start_login,
    viewer,
)
from models.access import can
from models.encounters.holds import HOLD_REASONS
from models.encounters.tables import Tenant
from models.repositories import users
from models.repositories.encounters import EncounterRepository
from models.repositories.scope import Scope, metrics_vendor
from services import evidence as evidence_service
from services import oidc

router = APIRouter(route_class=WebRoute, include_in_schema=False)

STATIC = Path(__file__).parent / "static"
ASSETS = {
    "app.css": "text/css",
    "app.js": "text/javascript",
    "suggestions.js": "text/javascript",
    "workspace.js": "text/javascript",
}
STATUSES = ("received", "ready", "in_coding", "on_hold", "coded", "scrubbing", "submitted", "paid", "denied", "in_appeal", "closed")


def _safe_next(target: str | None) -> str | None:
    """Only same-site UI paths: `next` must never become an open redirect."""
    if target and target.startswith("/ui/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _login_page(request: Request, *, status: int = 200, error: str | None = None, next_url: str | None = None) -> Response:
    nonce, sealed = start_login(request)
    response = page(request, "login.html", None, status=status, error=error, next_url=next_url or "", csrf=nonce)
    remember_login(request, response, sealed)
    return response


@router.get("/ui", response_class=HTMLResponse)
async def sign_in_page(request: Request, next: str | None = None) -> Response:
    """The landing page: it holds no data; a signed-in caller goes straight to their home."""
    session = await read_session(request)
    if session is not None:
        return RedirectResponse(_safe_next(next) or home_for(session), status_code=303)
    return _login_page(request, next_url=_safe_next(next))


@router.post("/ui/login")
async def sign_in(
    request: Request,
    token: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    if not login_csrf_ok(request, csrf):
        return _login_page(request, status=403, error="The sign-in form expired; please try again.")
    try:
        who = await authenticate(request, HTTPAuthorizationCredentials(scheme="Bearer", credentials=token.strip()))
    except Unauthorized:
        return _login_page(request, status=401, error="That token is unknown or revoked.", next_url=_safe_next(next))
    if not await token_sign_in_allowed(request, who.tenant_id):
        return _login_page(request, status=403, error=f"Your organization signs in with single sign-on: /ui/sso/{who.tenant_id}")
    response = RedirectResponse(_safe_next(next) or "/ui/home", status_code=303)
    open_session(request, response, token.strip())
    return response


async def token_sign_in_allowed(request: Request, tenant_id: str) -> bool:
    async with request.app.state.sessions() as db:
        tenant = await db.get(Tenant, tenant_id)
    return tenant is not None and oidc.token_sign_in_allowed(tenant.settings)


@router.post("/ui/logout")
async def sign_out(_: Annotated[WebSession, Depends(viewer())]) -> Response:
    response = RedirectResponse("/ui", status_code=303)
    close_session(response)
    return response


@router.get("/ui/static/{name}")
async def static(name: str) -> Response:
    if name not in ASSETS:
        raise WebError(404, "no such file")
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=300"})


@router.get("/ui/home")
async def home(session: Annotated[WebSession, Depends(viewer())]) -> Response:
    return RedirectResponse(home_for(session), status_code=303)


@router.get("/ui/welcome", response_class=HTMLResponse)
async def welcome(request: Request, session: Annotated[WebSession, Depends(viewer())]) -> Response:
    return page(request, "welcome.html", session)


@router.get("/ui/dashboard", response_class=HTMLResponse)
async def dashboard_page(
    request: Request,
    db: SessionDep,
    session: Annotated[WebSession, Depends(viewer("metrics.read"))],
    date_from: date | None = None,
    date_to: date | None = None,
    vendor: str | None = None,
) -> Response:
    who = session.principal
    start, end = dashboard.default_range(datetime.now(UTC).date())
    vendors = [] if who.role == "vendor_lead" else list(
        await users.vendors(db, who.tenant_id)
    )
    window = dashboard.Window(
        db, who, date_from or start, date_to or end, metrics_vendor(who, vendor or None), datetime.now(UTC)
    )
    panels = await dashboard.build(window)
    return page(request, "dashboard.html", session, panels=panels, window=window, vendors=vendors)


@router.get("/ui/encounters", response_class=HTMLResponse)
async def encounter_list(
    request: Request,
    db: SessionDep,
    session: Annotated[WebSession, Depends(viewer("encounters.read"))],
    f: Annotated[data.ChartFilter, Depends(data.chart_filter)],
) -> Response:
    rows = await data.charts(db, session.principal, f)
    return page(request, "encounters.html", session, rows=rows, filters=f, statuses=STATUSES, reasons=HOLD_REASONS)


async def _encounter(db: SessionDep, session: WebSession, encounter_id: str) -> tuple[EncounterRepository, uuid.UUID]:
    repo = EncounterRepository(db, session.principal)
    ident = data.parse_id(encounter_id)
    if ident is None or await repo.get(ident) is None:
        raise WebError(404, "this encounter does not exist or is not visible to you")
    return repo, ident


@router.get("/ui/encounters/{encounter_id}", response_class=HTMLResponse)
async def encounter_page(
    request: Request, db: SessionDep, encounter_id: str, session: Annotated[WebSession, Depends(viewer("encounters.read"))]
) -> Response:
    repo, ident = await _encounter(db, session, encounter_id)
    await Scope(db, session.principal).refuse_if_blind(ident)  # the page shows the codes table
    chart = await read_detail(repo, ident)
    verify = (
        await evidence_service.verify_trail(db, session.principal, chain_keys(request), ident, "chart")
        if can(session.principal, "audit.verify")
        else None
    )
    return page(
        request, "encounter.html", session, chart=chart, verify=verify,
        evidence=can(session.principal, "evidence.read"),
        workable=chart.assignee == session.principal.user_id and chart.status == "in_coding",
    )


@router.get("/ui/encounters/{encounter_id}/evidence", response_class=HTMLResponse)
async def evidence_page(
    request: Request, db: SessionDep, encounter_id: str, session: Annotated[WebSession, Depends(viewer("evidence.read"))]
) -> Response:
    """The API's printable evidence packet, for the signed-in caller (same handler, same scoping)."""
    _, ident = await _encounter(db, session, encounter_id)
    found = await evidence_service.packet(
        db, session.principal, chain_keys(request), ident, views=query_views,
        claim_history=getattr(request.app.state, "claim_history", None), reason=None,
    )  # fmt: skip
    packet = HTMLResponse(evidence_service.render_html(found), headers={"Cache-Control": "no-store"})  # PHI: nobody keeps a copy
    # A standalone printable document: its styles are inline, and it runs no script at all.
    packet.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
    return packet
