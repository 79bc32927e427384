"""What every action on one chart needs: its workflow handle, the acting person, the scoped row,
and free text stored by hash. Routes, pages and other services share these instead of one
route module lending them to the others."""

import hashlib
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowHandle

from models.access import Principal
from models.encounters.note_access import may_read_note
from models.encounters.tables import Document, Encounter
from models.errors import AccessDenied, NotVisible
from models.repositories import text_blobs
from models.repositories.encounters import EncounterRepository
from models.repositories.scope import Scope
from workflows.encounter import EncounterWorkflow, encounter_workflow_id
from workflows.types import Actor


def actor(p: Principal) -> Actor:
    return Actor(p.user_id, p.role, p.vendor_id, p.npi)


def handle(temporal: Client, encounter_id: uuid.UUID) -> WorkflowHandle[EncounterWorkflow, str]:
    return temporal.get_workflow_handle_for(EncounterWorkflow.run, encounter_workflow_id(str(encounter_id)))


async def load(repo: EncounterRepository, encounter_id: uuid.UUID) -> Encounter:
    return await Scope(repo.session, repo.principal).chart(encounter_id)


async def refuse_if_blind(session: AsyncSession, who: Principal, encounter_id: uuid.UUID) -> None:
    await Scope(session, who).refuse_if_blind(encounter_id)


def note_readable(who: Principal, e: Encounter) -> bool:
    return may_read_note(who, assignee=e.assignee_user, lease_expires_at=e.lease_expires_at, now=datetime.now(UTC))


async def store_text(repo: EncounterRepository, text: str) -> str:
    """Free text lives in PostgreSQL by content hash; the workflow carries only the hash."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    await text_blobs.store(repo.session, repo.principal.tenant_id, digest, text)
    return digest


async def readable_document(session: AsyncSession, who: Principal, encounter_id: uuid.UUID, document_id: uuid.UUID) -> Document:
    """One document of a chart, for those entitled to read its notes (its text is not None)."""
    await refuse_if_blind(session, who, encounter_id)
    repo = EncounterRepository(session, who)
    e = await load(repo, encounter_id)
    if not note_readable(who, e):
        raise AccessDenied("only operations, auditors and the coder holding this chart's lease may read its notes")
    found = next((d for d in await repo.documents(e.id) if d.id == document_id), None)
    if found is None or found.text is None:
        raise NotVisible(f"document {document_id} of encounter {encounter_id} does not exist or has no text")
    return found
