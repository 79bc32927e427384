"""Typed errors with their HTTP meaning, rendered once as RFC 9457 problem+json."""

from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from models.errors import AccessDenied, DomainError, InvalidRequest, NotVisible, StateConflict

log = structlog.get_logger(__name__)

PROBLEM = "application/problem+json"


class AppError(DomainError):
    status_code: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"


class BadRequest(AppError):
    status_code, title = 400, "Bad request"


class Unauthorized(AppError):
    status_code, title = 401, "Unauthorized"


class Forbidden(AppError):
    status_code, title = 403, "Forbidden"


class NotFound(AppError):
    status_code, title = 404, "Not found"


class Conflict(AppError):
    status_code, title = 409, "Conflict"


class Unprocessable(AppError):
    status_code, title = 422, "Unprocessable content"


class Unavailable(AppError):
    status_code, title = 503, "Service unavailable"


_DOMAIN_ERRORS: dict[type[DomainError], type[AppError]] = {
    NotVisible: NotFound,
    AccessDenied: Forbidden,
    InvalidRequest: Unprocessable,
    StateConflict: Conflict,
}


def as_app_error(exc: DomainError) -> AppError:
    """The HTTP meaning of a domain error (an unknown kind is a server fault)."""
    if isinstance(exc, AppError):
        return exc
    kind = next((v for k, v in _DOMAIN_ERRORS.items() if isinstance(exc, k)), AppError)
    return kind(exc.detail, **exc.extra)


_UPDATE_ERRORS: dict[str, type[AppError]] = {
    "InvalidTransition": Conflict,
    "NotHolder": Conflict,
    "Forbidden": Forbidden,
    "NotFound": NotFound,
}


def from_update_failure(exc: WorkflowUpdateFailedError) -> AppError:
    """A refused or failed update becomes the error its workflow named (409 by default)."""
    cause = exc.cause
    if isinstance(cause, ApplicationError):
        kind = _UPDATE_ERRORS.get(cause.type or "", Conflict)
        extra = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
        return kind(cause.message, **extra)
    return Conflict(str(cause or exc))


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        log_at = log.warning if exc.status_code < 500 else log.error
        log_at("request.refused", status=exc.status_code, detail=exc.detail, path=request.url.path)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        response = problem(exc.status_code, exc.title, exc.detail, **exc.extra)
        if headers:
            response.headers.update(headers)
        return response

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return await _app_error(request, as_app_error(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": ".".join(str(p) for p in err["loc"]), "message": err["msg"]}
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors)
        log.warning("request.invalid", path=request.url.path, errors=len(errors))
        return problem(422, "Unprocessable content", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:  # noqa: ARG001
        return problem(exc.status_code, str(exc.detail), str(exc.detail))

    @app.exception_handler(WorkflowUpdateFailedError)
    async def _update(request: Request, exc: WorkflowUpdateFailedError) -> JSONResponse:
        return await _app_error(request, from_update_failure(exc))

    @app.exception_handler(RPCError)
    async def _rpc(request: Request, exc: RPCError) -> JSONResponse:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return await _app_error(request, NotFound("no such encounter workflow"))
        log.error("temporal.unavailable", error=str(exc))
        return problem(503, "Service unavailable", "the workflow service is unavailable; retry shortly")
