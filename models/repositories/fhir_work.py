"""SQL behind the FHIR view of the work, through the same row filters as every other read."""

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.access import Principal
from models.encounters.fhir_work import CODING_STATUS, QUERY_STATUS, DateBound
from models.encounters.tables import Encounter, QueryRow
from models.repositories.encounters import visible
from models.repositories.queries import visible_queries


@dataclass(frozen=True)
class TaskSearch:
    statuses: frozenset[str] | None = None  # FHIR Task.status codes
    owner: str | None = None
    encounter_id: uuid.UUID | None = None
    updated: list[DateBound] = field(default_factory=list)
    codes: frozenset[str] = frozenset({"coding", "physician-query"})


def _bounds(column: Any, bounds: list[DateBound]) -> list[ColumnElement[bool]]:
    ops = {"gt": column.__gt__, "ge": column.__ge__, "lt": column.__lt__, "le": column.__le__, "eq": column.__eq__}
    return [ops[b.op](b.at) for b in bounds]


def _query_updated() -> Any:
    return func.greatest(QueryRow.opened_at, QueryRow.escalated_at, QueryRow.expired_at, QueryRow.answered_at, QueryRow.withdrawn_at)


async def coding_tasks(session: AsyncSession, who: Principal, s: TaskSearch, limit: int) -> tuple[list[Encounter], int]:
    """The newest-updated first; ``limit`` rows and the total matching."""
    if "coding" not in s.codes:
        return [], 0
    stmt = visible(who)
    if s.statuses is not None:
        ours = [k for k, v in CODING_STATUS.items() if v in s.statuses]
        wanted = [Encounter.status.in_(ours)]
        if "completed" in s.statuses:
            wanted.append(not_(Encounter.status.in_(list(CODING_STATUS))))
        stmt = stmt.where(or_(*wanted))
    if s.owner:
        stmt = stmt.where(Encounter.assignee_user == s.owner)
    if s.encounter_id:
        stmt = stmt.where(Encounter.id == s.encounter_id)
    stmt = stmt.where(and_(True, *_bounds(Encounter.updated_at, s.updated)))
    total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = await session.scalars(stmt.order_by(Encounter.updated_at.desc(), Encounter.id).limit(limit))
    return list(rows.all()), total


async def query_rows(
    session: AsyncSession, who: Principal, s: TaskSearch, limit: int, *, status_map: dict[str, str] = QUERY_STATUS
) -> tuple[list[QueryRow], int]:
    """Queries as Tasks (``status_map`` from query status to the searched resource's status)."""
    if "physician-query" not in s.codes:
        return [], 0
    stmt = visible_queries(who)
    if s.statuses is not None:
        stmt = stmt.where(QueryRow.status.in_([k for k, v in status_map.items() if v in s.statuses]))
    if s.owner:
        stmt = stmt.where(or_(QueryRow.physician_npi == s.owner, QueryRow.physician_user == s.owner))
    if s.encounter_id:
        stmt = stmt.where(QueryRow.encounter_id == s.encounter_id)
    stmt = stmt.where(and_(True, *_bounds(_query_updated(), s.updated)))
    total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = await session.scalars(stmt.order_by(_query_updated().desc(), QueryRow.id).limit(limit))
    return list(rows.all()), total
