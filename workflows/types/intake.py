"""Payloads of intake: a stored bundle handed to its encounter and the facts read from it."""

from dataclasses import dataclass

from workflows.types.common import Policy


@dataclass(frozen=True)
class IngestRequest:
    message_id: str
    bundle_index: int = 0


@dataclass(frozen=True)
class IntakeInput:
    tenant_id: str
    encounter_id: str
    workflow_id: str
    message_id: str
    bundle_index: int


@dataclass(frozen=True)
class IntakeFacts:
    external_id: str
    doc_types: list[str]
    new_document_ids: list[str]
    required_doc_types: list[str]
    queue_id: str | None
    priority: int
    policy: Policy
    # Why no ICD-10-CM release serves the date of service (the release and the command to load
    # it), or None. Histories recorded before it existed carry no such field: None.
    codeset_missing: str | None = None
