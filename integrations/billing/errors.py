"""Errors raised by the X12 billing adapter and the clearinghouse client.

Every message names where the problem is (segment position and id, or the HTTP call) and
what was expected, because these texts end up verbatim in problem+json bodies and in
Temporal failure details that an integrator has to act on.
"""

from __future__ import annotations


class X12ParseError(Exception):
    """Inbound X12 (835, 277CA, 999, 837P) that cannot be read safely.

    Raised for every malformed input, so callers catch exactly one type.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class UnsupportedVersion(X12ParseError):
    """A readable X12 file of another version or guide (4010, a 277 that is not X214)."""


class X12BuildError(ValueError):
    """Outbound data that cannot be expressed as a valid X12 transaction."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ClearinghouseError(Exception):
    """Base class: the clearinghouse call did not produce a usable answer."""

    def __init__(self, detail: str, status_code: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status_code = status_code


class ClearinghouseUnavailable(ClearinghouseError):
    """Transient: network failure, timeout, 408/425/429 or 5xx. Safe to retry later."""


class ClearinghouseRejected(ClearinghouseError):
    """Permanent: the request itself is wrong (auth, payload, conflict). Retrying will not help."""
