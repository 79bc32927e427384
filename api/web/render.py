"""Page rendering and the route class every web page uses.

`WebRoute` turns refusals into what a browser needs (a sign-in redirect, an error page, or JSON
for the workspace's scripted calls) and adds the security headers: a strict Content-Security-Policy
(scripts and styles only from /ui/static, so no inline script can run), no framing, no caching of
pages that show PHI.
"""

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError

from api.errors import AppError, as_app_error, from_update_failure
from api.web.session import SignInRequired, WebError, WebSession, read_session
from models.access import Permission, can
from models.errors import DomainError

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Role-aware navigation: an entry shows only to roles holding the permission its page requires.
NAV: list[tuple[Permission, str, str]] = [
    ("metrics.read", "/ui/dashboard", "Dashboard"),
    ("queues.claim", "/ui/work", "Workspace"),
    ("queries.answer", "/ui/inbox", "Inbox"),
    ("audits.review", "/ui/audits", "Audits"),
    ("audits.respond", "/ui/findings", "Audit findings"),
    ("denials.work", "/ui/denials", "Denials"),
    ("encounters.read", "/ui/encounters", "Encounters"),
    ("tenant.manage", "/ui/admin/policy", "Tenant policy"),
]


def home_for(session: WebSession) -> str:
    """The first page in the navigation this caller may open (integrators have none)."""
    return next((href for perm, href, _ in NAV if can(session.principal, perm)), "/ui/welcome")


def page(request: Request, template: str, session: WebSession | None, *, status: int = 200, **context: Any) -> HTMLResponse:
    nav = [(href, label) for perm, href, label in NAV if session and can(session.principal, perm)]
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"session": session, "nav": nav, "path": request.url.path, **context},
        status_code=status,
    )


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


# Refusals a person corrects in the form (invalid codes, a non-compliant query, a state conflict)
# are answers to the workspace's script, not failures: they come back as 200 with ok=false, so the
# browser does not log an expected validation result as a console error. Auth refusals keep theirs.
CORRECTABLE = frozenset({409, 422})


async def error_response(request: Request, status: int, detail: str, errors: list[dict[str, Any]] | None = None) -> Response:
    if wants_json(request):
        body = {"ok": False, "status": status, "detail": detail, "errors": errors or []}
        return JSONResponse(body, status_code=200 if status in CORRECTABLE else status)
    session = await read_session(request) if status != 401 else None
    return page(request, "error.html", session, status=status, status_code=status, detail=detail, errors=errors or [])


def _validation_errors(exc: ValidationError | RequestValidationError) -> list[dict[str, Any]]:
    return [{"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]


async def _refusal(request: Request, exc: Exception) -> Response:
    if isinstance(exc, SignInRequired):
        if request.method == "GET" and not wants_json(request):
            return RedirectResponse(f"/ui?next={quote(request.url.path)}", status_code=303)
        return await error_response(request, 401, exc.detail)
    if isinstance(exc, WebError):
        return await error_response(request, exc.status, exc.detail, exc.errors)
    if isinstance(exc, WorkflowUpdateFailedError):
        exc = from_update_failure(exc)
    if isinstance(exc, DomainError):
        exc = as_app_error(exc)
    if isinstance(exc, AppError):
        return await error_response(request, exc.status_code, exc.detail, exc.extra.get("errors"))
    if isinstance(exc, ValidationError | RequestValidationError):
        errors = _validation_errors(exc)
        detail = "; ".join(f"{e['path']}: {e['message']}" for e in errors)
        return await error_response(request, 422, detail, errors)
    raise exc


def harden(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


class WebRoute(APIRoute):
    """An APIRoute whose refusals are rendered for browsers rather than as problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except (WebError, DomainError, WorkflowUpdateFailedError, ValidationError, RequestValidationError) as exc:
                response = await _refusal(request, exc)
            return harden(response)

        return handler
