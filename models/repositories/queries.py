"""Query SQL, scoped by the caller: physicians see only queries addressed to them."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.access import Principal
from models.encounters.tables import QueryRow, QueryTemplateRow, TextBlob
from models.repositories import scope

# The row filter lives in the one scoping layer; this name stays for existing readers.
visible_queries = scope.queries


@dataclass(frozen=True)
class QueryFilter:
    status: str | None = None
    physician: str | None = None
    encounter_id: uuid.UUID | None = None
    min_age_days: int | None = None


class QueryRepository:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    async def get(self, query_id: uuid.UUID) -> QueryRow | None:
        return await self.session.scalar(visible_queries(self.principal).where(QueryRow.id == query_id))

    async def find(self, f: QueryFilter, *, now: datetime, limit: int) -> list[QueryRow]:
        stmt = visible_queries(self.principal)
        if f.status:
            stmt = stmt.where(QueryRow.status == f.status)
        if f.physician:
            stmt = stmt.where(or_(QueryRow.physician_npi == f.physician, QueryRow.physician_user == f.physician))
        if f.encounter_id:
            stmt = stmt.where(QueryRow.encounter_id == f.encounter_id)
        if f.min_age_days is not None:
            stmt = stmt.where(QueryRow.opened_at <= now - timedelta(days=f.min_age_days))
        stmt = stmt.order_by(QueryRow.opened_at).limit(limit)
        return list((await self.session.scalars(stmt)).all())

    async def texts(self, hashes: set[str]) -> dict[str, str]:
        if not hashes:
            return {}
        rows = await self.session.execute(
            select(TextBlob.sha256, TextBlob.text).where(
                TextBlob.tenant_id == self.principal.tenant_id, TextBlob.sha256.in_(hashes)
            )
        )
        return dict(rows.all())


async def templates(session: AsyncSession, tenant_id: str) -> Sequence[QueryTemplateRow]:
    return (await session.scalars(select(QueryTemplateRow).where(QueryTemplateRow.tenant_id == tenant_id).order_by(QueryTemplateRow.name))).all()
