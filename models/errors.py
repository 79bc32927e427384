"""Domain errors: raised by models, repositories and services, never tied to HTTP.

`api/errors.py` maps each kind to its problem+json status; nothing below `api/` imports it.
"""

from typing import Any


class DomainError(Exception):
    """A refusal a person can act on: `detail` says what to do, `extra` adds structured fields."""

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotVisible(DomainError):
    """Unknown, or outside the caller's scope: existence itself must not leak."""


class AccessDenied(DomainError):
    """Visible, but this caller may not do it (wrong role, blind review, not the addressee)."""


class InvalidRequest(DomainError):
    """The request names something that does not exist or breaks a rule; nothing changed."""


class StateConflict(DomainError):
    """Not allowed in the current state, or lost a race; retrying later may succeed."""
