"""Free text by SHA-256: workflows carry only the hash, the text lives here once per tenant."""

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.encounters.tables import Document, TextBlob

_STORE = insert(TextBlob).on_conflict_do_nothing()  # built once: every cited excerpt is stored


async def store(session: AsyncSession, tenant_id: str, sha256: str, text: str) -> None:
    """Idempotent: the same text again (same hash) is already there."""
    await session.execute(_STORE, {"tenant_id": tenant_id, "sha256": sha256, "text": text})


async def texts(session: AsyncSession, tenant_id: str, hashes: Iterable[str]) -> dict[str, str]:
    """The stored texts of these hashes (a hash never stored is absent)."""
    found = await session.execute(select(TextBlob.sha256, TextBlob.text).where(TextBlob.tenant_id == tenant_id, TextBlob.sha256.in_(list(hashes))))
    return {row.sha256: row.text for row in found}


async def document_text(session: AsyncSession, document_id: uuid.UUID) -> str | None:
    return await session.scalar(select(Document.text).where(Document.id == document_id))


async def text_of(session: AsyncSession, tenant_id: str, sha256: str) -> str | None:
    return await session.scalar(select(TextBlob.text).where(TextBlob.tenant_id == tenant_id, TextBlob.sha256 == sha256))
