"""Plain HTML form posts over the API's handlers: read fields, run the handler, keep its refusal.

A refusal a person corrects in the form (a pydantic validation error, a 409 or 422 from the
handler or its workflow update) comes back as a `Problem` so the page can re-render with the
server's messages beside the fields; anything else (404, 403, 5xx) propagates to `WebRoute`.
Like the workspace's scripted calls (`render.CORRECTABLE`), that re-rendered form is a 200: an
expected validation answer is not a failed page load (browsers log those as console errors);
the refusal's own status is on the message block as `data-status`.
"""

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError
from starlette.datastructures import FormData
from temporalio.client import WorkflowUpdateFailedError

from api.errors import AppError, as_app_error, from_update_failure
from models.errors import DomainError

T = TypeVar("T")
CORRECTABLE = frozenset({409, 422})


@dataclass(frozen=True)
class Problem:
    status: int
    detail: str
    errors: list[dict[str, Any]] = field(default_factory=list)

    def at(self, path: str) -> list[str]:
        """Messages for one field path (e.g. `findings[0]`), in the order the server gave them."""
        return [str(e.get("message", "")) for e in self.errors if str(e.get("path", "")).startswith(path)]


def problem_of(exc: Exception) -> Problem | None:
    if isinstance(exc, ValidationError):
        errors = [
            {"path": ".".join(str(p) for p in e["loc"]), "message": str(e["msg"]).removeprefix("Value error, ")}
            for e in exc.errors()
        ]
        return Problem(422, "; ".join(f"{e['path']}: {e['message']}" if e["path"] else e["message"] for e in errors), errors)
    if isinstance(exc, WorkflowUpdateFailedError):
        exc = from_update_failure(exc)
    if isinstance(exc, DomainError):
        exc = as_app_error(exc)
    if isinstance(exc, AppError) and exc.status_code in CORRECTABLE:
        return Problem(exc.status_code, exc.detail, list(exc.extra.get("errors") or []))
    return None


async def attempt(action: Awaitable[T]) -> T | Problem:
    """Run a handler call; a correctable refusal is returned, anything else is raised."""
    try:
        return await action
    except (ValidationError, DomainError, WorkflowUpdateFailedError) as exc:
        found = problem_of(exc)
        if found is None:
            raise
        return found


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def csv(value: str) -> list[str]:
    return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]


def whole(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None
