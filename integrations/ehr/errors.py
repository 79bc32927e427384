"""Errors raised by the EHR intake adapter.

Both carry a message a person can act on: the API turns them into 401 / 422 problem+json
bodies verbatim, so the text must say what is wrong and where, not just "invalid".
"""

from __future__ import annotations


class WebhookVerificationError(Exception):
    """A webhook failed Standard Webhooks verification (missing header, stale, bad signature)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class FhirValidationError(Exception):
    """A FHIR Bundle cannot be turned into encounter intakes.

    All problems found are collected so an integrator can fix a feed in one round trip.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))
