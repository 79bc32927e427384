"""The rows the encounter projection writes beside the encounter itself: holds, queries, notifications."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.encounters.tables import Encounter, HoldRow, NotificationRow, QueryRow


def stamp(row: Encounter) -> None:
    """The row's updated_at becomes the transaction's time at flush."""
    row.updated_at = func.now()


async def add_hold(session: AsyncSession, values: dict[str, Any]) -> None:
    """An open hold; a retried projection finds it there."""
    await session.execute(insert(HoldRow).values(**values).on_conflict_do_nothing(index_elements=["id"]))


async def release_holds(session: AsyncSession, ids: list[uuid.UUID], at: datetime, by: str) -> None:
    await session.execute(
        update(HoldRow).where(HoldRow.id.in_(ids), HoldRow.released_at.is_(None)).values(released_at=at, released_by=by)
    )


async def update_query(session: AsyncSession, query_id: uuid.UUID, values: dict[str, Any]) -> None:
    await session.execute(update(QueryRow).where(QueryRow.id == query_id).values(**values))


async def add_notification(session: AsyncSession, values: dict[str, Any]) -> None:
    """Once per key: a retried activity sends nothing twice."""
    await session.execute(insert(NotificationRow).values(**values).on_conflict_do_nothing(index_elements=["key"]))
