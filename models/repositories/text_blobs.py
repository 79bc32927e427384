"""Free text by SHA-256: workflows carry only the hash, the text lives here once per tenant."""

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import TextBlob


async def store(session: AsyncSession, tenant_id: str, sha256: str, text: str) -> None:
    """Idempotent: the same text again (same hash) is already there."""
    await session.execute(insert(TextBlob).values(tenant_id=tenant_id, sha256=sha256, text=text).on_conflict_do_nothing())
