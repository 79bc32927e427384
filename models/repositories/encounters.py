"""All encounter SQL, scoped by the caller: a row the principal may not see is never loaded."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from models.access import Principal
from models.encounters.queue_count_tables import QueueCount
from models.encounters.tables import AuditEvent, Document, Encounter, Queue
from models.repositories.scope import POST_CODING as POST_CODING
from models.repositories.scope import charts

# A claim the API leased but whose workflow update never arrived frees itself after this.
PENDING_LEASE = timedelta(seconds=60)

# The row filter lives in the one scoping layer; this name stays for existing readers.
visible = charts


@dataclass(frozen=True)
class EncounterFilter:
    status: str | None = None
    queue_id: str | None = None
    assignee: str | None = None
    overdue: bool | None = None


class EncounterRepository:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    async def get(self, encounter_id: uuid.UUID) -> Encounter | None:
        return await self.session.scalar(
            visible(self.principal).where(Encounter.id == encounter_id)
        )

    async def holding(self, hold_id: str) -> Encounter | None:
        """The visible chart that holds this hold (open holds live on the chart row)."""
        return await self.session.scalar(visible(self.principal).where(Encounter.holds.contains([{"id": hold_id}])))

    async def page(
        self, filters: EncounterFilter, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Encounter]:
        stmt = visible(self.principal)
        if filters.status:
            stmt = stmt.where(Encounter.status == filters.status)
        if filters.queue_id:
            stmt = stmt.where(Encounter.queue_id == filters.queue_id)
        if filters.assignee:
            stmt = stmt.where(Encounter.assignee_user == filters.assignee)
        if filters.overdue is not None:
            stmt = stmt.where(Encounter.overdue.is_(filters.overdue))
        if after is not None:
            stmt = stmt.where(
                or_(
                    Encounter.received_at < after[0],
                    and_(Encounter.received_at == after[0], Encounter.id < after[1]),
                )
            )
        stmt = stmt.order_by(Encounter.received_at.desc(), Encounter.id.desc()).limit(limit)
        return list((await self.session.scalars(stmt)).all())

    async def documents(self, encounter_id: uuid.UUID) -> list[Document]:
        stmt = (
            select(Document)
            .where(Document.encounter_id == encounter_id)
            .order_by(Document.received_at, Document.version)
        )
        return list((await self.session.scalars(stmt)).all())

    async def timeline(self, encounter_id: uuid.UUID) -> list[AuditEvent]:
        stmt = (
            select(AuditEvent)
            .where(AuditEvent.encounter_id == encounter_id)
            .order_by(AuditEvent.seq)
        )
        return list((await self.session.scalars(stmt)).all())


# The oldest ready chart of each queue, read off the claim index `ix_encounters_next_ready`
# (tenant, queue, priority DESC, received_at): a recursive skip scan visits each distinct
# priority of the queue once and takes its first received_at; the least of those is the oldest.
# A second index on (tenant, queue, received_at) would serve this directly, but the planner may
# then pick it for the claim too and sort the whole queue.
OLDEST_READY = text(
    """
    SELECT q.id, (
        WITH RECURSIVE p(priority) AS (
            (SELECT e.priority FROM encounters e
              WHERE e.tenant_id = q.tenant_id AND e.queue_id = q.id AND e.status = 'ready'
              ORDER BY e.priority DESC LIMIT 1)
            UNION ALL
            SELECT (SELECT e.priority FROM encounters e
                     WHERE e.tenant_id = q.tenant_id AND e.queue_id = q.id AND e.status = 'ready'
                       AND e.priority < p.priority
                     ORDER BY e.priority DESC LIMIT 1)
            FROM p WHERE p.priority IS NOT NULL
        )
        SELECT min((SELECT e.received_at FROM encounters e
                     WHERE e.tenant_id = q.tenant_id AND e.queue_id = q.id AND e.status = 'ready'
                       AND e.priority = p.priority
                     ORDER BY e.priority DESC, e.received_at LIMIT 1))
        FROM p WHERE p.priority IS NOT NULL
    )
    FROM queues q
    WHERE q.tenant_id = CAST(:tenant AS varchar) AND q.id = ANY(CAST(:queues AS varchar[]))
    """
)


class QueueRepository:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    def _queues(self) -> Select[Queue]:
        stmt = select(Queue).where(Queue.tenant_id == self.principal.tenant_id)
        if self.principal.role in ("coder", "vendor_lead"):
            stmt = stmt.where(Queue.vendor_ids.contains([self.principal.vendor_id or ""]))
        return stmt

    async def get(self, queue_id: str) -> Queue | None:
        return await self.session.scalar(self._queues().where(Queue.id == queue_id))

    async def stats(self, now: datetime) -> list[dict[str, object]]:
        """Per visible queue: charts by state from the trigger-kept counters, and the oldest ready
        chart by a skip scan of the claim index: a few rows per queue, whatever the queue depths."""
        tenant_id = self.principal.tenant_id
        queues = list((await self.session.scalars(self._queues().order_by(Queue.id))).all())
        oldest_of: dict[str, datetime | None] = {}
        if queues:
            rows = await self.session.execute(OLDEST_READY, {"tenant": tenant_id, "queues": [q.id for q in queues]})
            oldest_of = {str(row[0]): row[1] for row in rows.all()}

        def total(*conditions: ColumnElement[bool] | InstrumentedAttribute[bool]) -> ColumnElement[Any]:
            return func.coalesce(func.sum(QueueCount.n).filter(*conditions), 0)

        counts = (
            await self.session.execute(
                select(
                    QueueCount.queue_id,
                    total(QueueCount.status == "ready"),
                    total(QueueCount.status == "in_coding"),
                    total(QueueCount.status == "on_hold"),
                    total(QueueCount.overdue, QueueCount.status.not_in(POST_CODING)),
                )
                .where(QueueCount.tenant_id == tenant_id)
                .group_by(QueueCount.queue_id)
            )
        ).all()
        by_queue = {row[0]: (*row[1:4], oldest_of.get(row[0]), row[4]) for row in counts}
        out: list[dict[str, object]] = []
        for q in queues:
            ready, in_coding, on_hold, oldest, overdue = by_queue.get(q.id) or (0, 0, 0, oldest_of.get(q.id), 0)
            out.append(
                {
                    "id": q.id,
                    "name": q.name,
                    "vendors": list(q.vendor_ids),
                    "depth": int(ready),
                    "in_coding": int(in_coding),
                    "on_hold": int(on_hold),
                    "overdue": int(overdue),
                    "oldest_received_at": oldest,
                    "oldest_age_seconds": int((now - oldest).total_seconds()) if oldest else None,
                }
            )
        return out

    def next_ready_statement(self, queue_id: str) -> Select[Encounter]:
        """The claim's pick, in the order of the partial index `ix_encounters_next_ready`."""
        return (
            select(Encounter)
            .where(
                Encounter.tenant_id == self.principal.tenant_id,
                Encounter.queue_id == queue_id,
                Encounter.status == "ready",
                or_(Encounter.lease_token.is_(None), Encounter.lease_expires_at < func.now()),
            )
            .order_by(Encounter.priority.desc(), Encounter.received_at, Encounter.id)
            .limit(1)
            # NO KEY UPDATE: the lease changes no key, so rows inserted meanwhile that reference
            # the chart (holds, audit events, documents) do not wait for the claim, nor it for them.
            .with_for_update(skip_locked=True, key_share=True)
        )

    async def lease_next(self, queue_id: str, token: uuid.UUID) -> Encounter | None:
        """Pick and lease the best eligible chart; concurrent callers skip each other's rows."""
        row = await self.session.scalar(self.next_ready_statement(queue_id))
        if row is None:
            return None
        row.lease_token = token
        row.lease_expires_at = func.now() + PENDING_LEASE
        await self.session.flush()
        return row

    async def drop_lease(self, encounter_id: uuid.UUID, token: uuid.UUID) -> None:
        await self.session.execute(
            update(Encounter)
            .where(
                Encounter.id == encounter_id,
                Encounter.lease_token == token,
                Encounter.status == "ready",
            )
            .values(lease_token=None, lease_expires_at=None)
        )
