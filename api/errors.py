"""Typed errors with their HTTP meaning, rendered once as RFC 9457 problem+json."""

from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from models.errors import AccessDenied, DomainError, InvalidRequest, NotVisible, StateConflict

log = structlog.get_logger(__name__)

PROBLEM = "application/problem+json"
# Seconds a client should wait before retrying after a 503 (a dependency restarting) or a 409
# that only means "a concurrent request is still running".
RETRY_AFTER_SECONDS = 2

_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
    "required": ["title", "status", "detail"],
}


def _declared(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": _PROBLEM_SCHEMA}}}


# Every error any API route can answer, declared once for the whole OpenAPI document.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _declared("the request cannot be read"),
    401: _declared("no valid bearer token (or webhook signature)"),
    403: _declared("the caller's role or tenant may not do this"),
    404: _declared("no such object, or not visible to the caller"),
    405: _declared("method not allowed; the Allow header lists the allowed ones"),
    409: _declared("the object's state does not allow this now, or a concurrent request holds it"),
    413: _declared("the body is over this route's size limit"),
    415: _declared("the body's content type is not one this route reads"),
    422: _declared("the input is invalid; `detail` and `errors` name each field"),
    429: _declared("too many requests from this token or source; see Retry-After"),
    503: _declared("a dependency (database or workflow service) is unavailable; see Retry-After"),
}


class AppError(DomainError):
    status_code: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, *, retry_after: int | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after


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
        response = problem(exc.status_code, exc.title, exc.detail, **exc.extra)
        if exc.status_code == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        retry_after = exc.retry_after if exc.retry_after is not None else (RETRY_AFTER_SECONDS if exc.status_code == 503 else None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
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
        response = problem(exc.status_code, str(exc.detail), str(exc.detail))
        response.headers.update(exc.headers or {})  # 405 carries Allow
        return response

    @app.exception_handler(WorkflowUpdateFailedError)
    async def _update(request: Request, exc: WorkflowUpdateFailedError) -> JSONResponse:
        return await _app_error(request, from_update_failure(exc))

    @app.exception_handler(RPCError)
    async def _rpc(request: Request, exc: RPCError) -> JSONResponse:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return await _app_error(request, NotFound("no such encounter workflow"))
        log.error("temporal.unavailable", error=str(exc))
        return _unavailable("the workflow service is unavailable; retry shortly")

    @app.exception_handler(WorkflowUpdateRPCTimeoutOrCancelledError)
    async def _update_timeout(request: Request, exc: WorkflowUpdateRPCTimeoutOrCancelledError) -> JSONResponse:  # noqa: ARG001
        log.error("temporal.update_timeout", error=str(exc))
        return _unavailable("the workflow service did not answer in time; retry shortly (the action is applied at most once)")

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value the edge let through (out of range, unencodable).
        log.warning("request.bad_value", path=request.url.path, error=type(exc.orig).__name__)
        return problem(422, "Unprocessable content", "a value is out of range or cannot be stored; check the numbers, dates and text sent")

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            log.error("database.unavailable", path=request.url.path, error=type(exc.orig).__name__)
            return _unavailable("the database is unavailable; retry shortly")
        return await _unexpected(request, exc)

    @app.exception_handler(PoolTimeout)
    async def _pool(request: Request, exc: PoolTimeout) -> JSONResponse:  # noqa: ARG001
        log.error("database.pool_exhausted")
        return _unavailable("the database is busy; retry shortly")

    @app.exception_handler(OSError)
    async def _os(request: Request, exc: OSError) -> JSONResponse:
        # Connection refused/reset below the drivers' own error types: a dependency is down.
        log.error("dependency.unreachable", path=request.url.path, error=type(exc).__name__)
        return _unavailable("a dependency is unreachable; retry shortly")


    @app.exception_handler(RuntimeError)
    async def _runtime(request: Request, exc: RuntimeError) -> JSONResponse:
        # A lazily connected Temporal client that cannot reach its server raises this plain type.
        if str(exc).startswith("Failed client connect"):
            log.error("temporal.unavailable", error=str(exc))
            return _unavailable("the workflow service is unavailable; retry shortly")
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request.failed", path=request.url.path, error=type(exc).__name__)
        return problem(500, "Internal error", "the server failed to handle this request; it has been logged")


def _unavailable(detail: str) -> JSONResponse:
    response = problem(503, "Service unavailable", detail)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
