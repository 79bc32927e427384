"""Browser sessions: a signed, HttpOnly cookie that names the caller's token hash, plus CSRF.

Stateless on purpose: the cookie carries the token's keyed hash (never the token), a per-session
CSRF secret and an expiry, signed with HMAC-SHA256 under `settings.secret_key`. Every request
re-reads the token row exactly as `api.deps.authenticate` does, so revoking a token ends its
browser sessions at once, and the principal (tenant, role, vendor, NPI) is the API's principal.
Unsafe methods must echo the CSRF secret (form field `csrf` or header `X-CSRF-Token`); the cookie
is also SameSite=Strict, so a cross-site form never even carries it.
"""

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response

from api.auth import token_hash
from models.access import Permission, Principal, can
from models.encounters.tables import Tenant
from models.repositories import users

SESSION_COOKIE = "cc_session"
LOGIN_COOKIE = "cc_login"  # pre-session CSRF secret for the sign-in form (login CSRF)
SESSION_SECONDS = 8 * 3600
LOGIN_SECONDS = 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class WebError(Exception):
    """A refusal the web UI renders as a page (or JSON for scripted requests)."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []


class SignInRequired(WebError):
    def __init__(self) -> None:
        super().__init__(401, "sign in to continue")


@dataclass(frozen=True)
class WebSession:
    principal: Principal
    tenant_name: str
    csrf: str


def _secret(request: Request) -> bytes:
    return str(request.app.state.settings.secret_key).encode()


def _mac(key: bytes, purpose: str, body: str) -> str:
    return hmac.new(key, f"{purpose}|{body}".encode(), hashlib.sha256).hexdigest()


def seal(key: bytes, purpose: str, payload: dict[str, Any]) -> str:
    """`base64(json).hmac`: readable by anyone, forgeable by no one without the secret key."""
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{body}.{_mac(key, purpose, body)}"


def unseal(key: bytes, purpose: str, value: str | None, *, now: float | None = None) -> dict[str, Any] | None:
    """The payload if the signature is ours, for this purpose, and not expired; else None."""
    if not value or "." not in value:
        return None
    body, _, mac = value.rpartition(".")
    if not hmac.compare_digest(mac, _mac(key, purpose, body)):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(payload, dict) or float(payload.get("exp", 0)) < (now if now is not None else time.time()):
        return None
    return payload


def _cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/ui", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )


def start_login(request: Request) -> tuple[str, str]:
    """A fresh sign-in CSRF secret for the form's hidden field, and its sealed cookie value."""
    nonce = secrets.token_urlsafe(24)
    return nonce, seal(_secret(request), "login", {"n": nonce, "exp": time.time() + LOGIN_SECONDS})


def remember_login(request: Request, response: Response, sealed: str) -> None:
    _cookie(request, response, LOGIN_COOKIE, sealed, LOGIN_SECONDS)


def login_csrf_ok(request: Request, submitted: str) -> bool:
    payload = unseal(_secret(request), "login", request.cookies.get(LOGIN_COOKIE))
    return payload is not None and hmac.compare_digest(str(payload.get("n", "")), submitted)


def open_session(request: Request, response: Response, token: str) -> None:
    payload = {
        "t": token_hash(request.app.state.settings.secret_key, token),
        "c": secrets.token_urlsafe(24),
        "exp": time.time() + SESSION_SECONDS,
    }
    _cookie(request, response, SESSION_COOKIE, seal(_secret(request), "session", payload), SESSION_SECONDS)
    response.delete_cookie(LOGIN_COOKIE, path="/ui")


def open_sso_session(request: Request, response: Response, principal: Principal, seconds: int) -> None:
    """A session from single sign-on: the principal itself is sealed in, for at most `seconds`."""
    p = principal
    seconds = min(seconds, SESSION_SECONDS)
    payload = {"p": [p.tenant_id, p.user_id, p.role, p.vendor_id, p.npi], "c": secrets.token_urlsafe(24), "exp": time.time() + seconds}
    _cookie(request, response, SESSION_COOKIE, seal(_secret(request), "session", payload), seconds)


def close_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/ui", httponly=True, samesite="strict")


async def read_session(request: Request) -> WebSession | None:
    """The signed-in caller, looked up like a bearer token; cached for the request."""
    if hasattr(request.state, "web_session"):
        cached: WebSession | None = request.state.web_session
        return cached
    found: WebSession | None = None
    payload = unseal(_secret(request), "session", request.cookies.get(SESSION_COOKIE))
    if payload is not None and isinstance(payload.get("p"), list):  # single sign-on
        tenant_id, user_id, role, vendor_id, npi = payload["p"]
        async with request.app.state.sessions() as db:
            tenant = await db.get(Tenant, tenant_id)
        if tenant is not None:
            found = WebSession(Principal(tenant_id, user_id, role, vendor_id, npi), tenant.name, str(payload.get("c", "")))
            request.state.principal = found.principal
    elif payload is not None:
        async with request.app.state.sessions() as db:
            row = await users.active_token(db, str(payload.get("t")))
            tenant = await db.get(Tenant, row.tenant_id) if row is not None else None
        if row is not None and tenant is not None:
            principal = users.principal_of(row)
            found = WebSession(principal, tenant.name, str(payload.get("c", "")))
            request.state.principal = principal  # as api.deps.authenticate: the PHI access log reads it
    request.state.web_session = found
    return found


async def _submitted_csrf(request: Request) -> str:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    if request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get("csrf")
        return value if isinstance(value, str) else ""
    return ""


def viewer(permission: Permission | None = None) -> Callable[[Request], Awaitable[WebSession]]:
    """Dependency: a signed-in caller holding `permission` (the API's own check) with valid CSRF."""

    async def check(request: Request) -> WebSession:
        session = await read_session(request)
        if session is None:
            raise SignInRequired()
        if request.method not in SAFE_METHODS:
            submitted = await _submitted_csrf(request)
            if not submitted or not hmac.compare_digest(submitted, session.csrf):
                raise WebError(403, "the form's security token is missing or stale; reload the page and try again")
        if permission is not None and not can(session.principal, permission):
            raise WebError(403, f"role '{session.principal.role}' lacks the '{permission}' permission for this page")
        return session

    return check
