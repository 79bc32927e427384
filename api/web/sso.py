"""Single sign-on pages: start at the tenant's OpenID provider, come back, get a session.

``GET /ui/sso/{tenant}`` redirects to the provider (authorization code + PKCE, with state and
nonce sealed in a short-lived cookie); the provider sends the browser back to
``/ui/sso/{tenant}/callback``, which verifies everything, maps the ID-token claims to a
principal and opens a session that expires after the tenant's ``session_minutes``.
"""

import time
from typing import Annotated
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import URL

from api.web.render import WebRoute, home_for
from api.web.session import WebError, WebSession, open_sso_session, seal, unseal
from models.encounters.tables import Tenant
from services import oidc

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PENDING_COOKIE = "cc_sso"
PENDING_SECONDS = 600


def _key(request: Request) -> bytes:
    return str(request.app.state.settings.secret_key).encode()


def _redirect_uri(request: Request, tenant_id: str) -> str:
    return str(request.url_for("sso_callback", tenant_id=tenant_id))


async def _config(request: Request, tenant_id: str) -> oidc.OidcConfig:
    async with request.app.state.sessions() as db:
        tenant = await db.get(Tenant, tenant_id)
    config = oidc.config_for(tenant.settings) if tenant is not None else None
    if config is None:
        raise WebError(404, "this organization has no single sign-on configured; sign in with an access token")
    return config


@router.get("/ui/sso")
async def sso_choose(tenant: Annotated[str, Query(min_length=1, max_length=64)]) -> Response:
    """The sign-in page's SSO form names the organization; its provider takes it from there."""
    return RedirectResponse(str(URL(f"/ui/sso/{quote(tenant.strip(), safe='')}")), status_code=303)


@router.get("/ui/sso/{tenant_id}")
async def sso_start(request: Request, tenant_id: str, next: str | None = None) -> Response:
    config = await _config(request, tenant_id)
    async with httpx.AsyncClient() as http:
        try:
            meta = await oidc.discover(http, config.issuer)
        except oidc.SignInRefused as exc:
            raise WebError(502, str(exc)) from exc
    url, pending = oidc.authorization_url(meta, config, _redirect_uri(request, tenant_id))
    payload = {"t": tenant_id, "s": pending.state, "n": pending.nonce, "v": pending.verifier,
               "next": next if next and next.startswith("/ui/") else "", "exp": time.time() + PENDING_SECONDS}  # fmt: skip
    response = RedirectResponse(url, status_code=303)
    # Lax, not Strict: the provider's redirect back is a cross-site top-level navigation.
    response.set_cookie(PENDING_COOKIE, seal(_key(request), "sso", payload), max_age=PENDING_SECONDS, path="/ui/sso",
                        httponly=True, samesite="lax", secure=request.url.scheme == "https")  # fmt: skip
    return response


@router.get("/ui/sso/{tenant_id}/callback", name="sso_callback")
async def sso_callback(
    request: Request,
    tenant_id: str,
    code: Annotated[str | None, Query()] = None,
    state: Annotated[str | None, Query()] = None,
    error: Annotated[str | None, Query()] = None,
) -> Response:
    pending = unseal(_key(request), "sso", request.cookies.get(PENDING_COOKIE))
    if error:
        raise WebError(403, f"the sign-in provider answered '{error}'; start again")
    if pending is None or pending.get("t") != tenant_id or not state or state != pending.get("s") or not code:
        raise WebError(400, "this sign-in link expired or was not started here; start again from the sign-in page")
    config = await _config(request, tenant_id)
    async with httpx.AsyncClient() as http:
        try:
            meta = await oidc.discover(http, config.issuer)
            claims = await oidc.finish(http, meta, config, oidc.Pending(state, str(pending["n"]), str(pending["v"])), code, _redirect_uri(request, tenant_id))
            principal = oidc.principal_from(config, tenant_id, claims)
        except oidc.SignInRefused as exc:
            raise WebError(403, str(exc)) from exc
    async with request.app.state.sessions() as db:
        tenant = await db.get_one(Tenant, tenant_id)
    target = str(pending.get("next") or home_for(WebSession(principal, tenant.name, "")))
    response = RedirectResponse(target, status_code=303)
    open_sso_session(request, response, principal, config.session_minutes * 60)
    response.delete_cookie(PENDING_COOKIE, path="/ui/sso")
    return response
