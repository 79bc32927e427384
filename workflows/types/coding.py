"""Payloads of the coding stage: leases, coding submissions and holds."""

from dataclasses import dataclass

from models.coding.rules import CodingSubmission
from workflows.types.common import Actor


@dataclass(frozen=True)
class ClaimRequest:
    actor: Actor
    lease_token: str


@dataclass(frozen=True)
class ReleaseRequest:
    actor: Actor


@dataclass(frozen=True)
class ReassignRequest:
    actor: Actor
    to_user: str | None = None
    to_vendor: str | None = None


@dataclass(frozen=True)
class SubmitCodingRequest:
    actor: Actor
    coding: CodingSubmission


@dataclass(frozen=True)
class PlaceHoldRequest:
    actor: Actor
    reason: str
    note_sha256: str | None = None


@dataclass(frozen=True)
class ReleaseHoldRequest:
    actor: Actor
    hold_id: str
    resolution_sha256: str | None = None
