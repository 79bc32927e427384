"""Audit SQL: chain verification (per chart, per tenant, or the whole database), the rows an
evidence packet is made of, and the PHI access log."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.access_log_tables import PhiAccess
from models.audit_chain import hashed_fields, verify_chain
from models.evidence import ClaimHistory
from models.tables import AuditEvent, Encounter, HoldRow, QueryRow, TextBlob

_CHAIN_COLUMNS = (
    AuditEvent.tenant_id,
    AuditEvent.encounter_id,
    AuditEvent.seq,
    AuditEvent.actor,
    AuditEvent.role,
    AuditEvent.vendor,
    AuditEvent.action,
    AuditEvent.before,
    AuditEvent.after,
    AuditEvent.reason,
    AuditEvent.occurred_at,
    AuditEvent.prev_hash,
    AuditEvent.hash,
)


@dataclass(frozen=True)
class BrokenEvent:
    """The stored event where a chain stops verifying."""

    tenant_id: str
    encounter_id: str
    seq: int
    problem: str
    action: str | None
    occurred_at: datetime | None


@dataclass(frozen=True)
class VerifyResult:
    encounters_checked: int
    events_checked: int
    first_break: BrokenEvent | None
    head: str | None
    broken_encounters: int = 0

    @property
    def verified(self) -> bool:
        return self.first_break is None


def _check(chain: Sequence[Row[Any]]) -> BrokenEvent | None:
    found = verify_chain(
        (
            hashed_fields(
                encounter_id=str(ev.encounter_id),
                seq=ev.seq,
                actor=ev.actor,
                role=ev.role,
                vendor=ev.vendor,
                action=ev.action,
                before=ev.before,
                after=ev.after,
                reason=ev.reason,
                occurred_at=ev.occurred_at,
            ),
            ev.prev_hash,
            ev.hash,
        )
        for ev in chain
    )
    if found is None:
        return None
    row = next((ev for ev in chain if ev.seq == found.seq), None)
    return BrokenEvent(
        chain[0].tenant_id, found.encounter_id, found.seq, found.problem,
        row.action if row else None, row.occurred_at if row else None,
    )


async def verify_events(
    session: AsyncSession, tenant_id: str | None, encounter_id: uuid.UUID | None
) -> VerifyResult:
    """Verify every chain in scope (None, None: the whole database, for the operator CLI).

    Rows stream as plain tuples one chain at a time, so memory stays flat however large the log.
    Every chain is checked; the first break reported is the one that happened earliest.
    """
    stmt = select(*_CHAIN_COLUMNS).order_by(AuditEvent.encounter_id, AuditEvent.seq)
    if tenant_id is not None:
        stmt = stmt.where(AuditEvent.tenant_id == tenant_id)
    if encounter_id is not None:
        stmt = stmt.where(AuditEvent.encounter_id == encounter_id)
    encounters = events = broken = 0
    first: BrokenEvent | None = None
    head: str | None = None
    chain: list[Row[Any]] = []

    def close() -> None:
        nonlocal encounters, broken, first, head
        if not chain:
            return
        encounters += 1
        found = _check(chain)
        head = chain[-1].hash
        if found is not None:
            broken += 1
            if first is None or (found.occurred_at and first.occurred_at and found.occurred_at < first.occurred_at):
                first = found
        chain.clear()

    result = await session.stream(stmt.execution_options(yield_per=1000))
    async for row in result:
        if chain and row.encounter_id != chain[-1].encounter_id:
            close()
        chain.append(row)
        events += 1
    close()
    return VerifyResult(encounters, events, first, head if encounter_id and first is None else None, broken)


class EvidenceRepository:
    """Rows of one chart that the evidence packet cites; the caller has already checked that
    the chart is visible to it, so these reads filter by tenant and chart only."""

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def holds(self, encounter_id: uuid.UUID) -> list[HoldRow]:
        stmt = select(HoldRow).where(HoldRow.tenant_id == self.tenant_id, HoldRow.encounter_id == encounter_id)
        return list((await self.session.scalars(stmt.order_by(HoldRow.placed_at))).all())

    async def queries(self, encounter_id: uuid.UUID) -> list[QueryRow]:
        stmt = select(QueryRow).where(QueryRow.tenant_id == self.tenant_id, QueryRow.encounter_id == encounter_id)
        return list((await self.session.scalars(stmt.order_by(QueryRow.opened_at))).all())

    async def texts(self, hashes: set[str]) -> dict[str, str]:
        if not hashes:
            return {}
        rows = await self.session.execute(
            select(TextBlob.sha256, TextBlob.text).where(TextBlob.tenant_id == self.tenant_id, TextBlob.sha256.in_(hashes))
        )
        return {row[0]: row[1] for row in rows.all()}  # a Result is not a mapping of its rows


class ClaimHistorySource(Protocol):
    """Where the claims stage plugs its history into the evidence packet: the app serves
    `app.state.claim_history` (one of these) once the claim tables exist; until then, none."""

    async def __call__(self, session: AsyncSession, tenant_id: str, encounter_id: uuid.UUID) -> ClaimHistory | None: ...


@dataclass(frozen=True)
class AccessLogFilter:
    user: str | None = None
    role: str | None = None
    encounter_id: uuid.UUID | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AccessLogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def owner_of(self, encounter_id: uuid.UUID) -> str | None:
        """The chart's tenant, so an anonymous probe of a chart shows up in that tenant's log."""
        return await self.session.scalar(select(Encounter.tenant_id).where(Encounter.id == encounter_id))

    def record(self, entry: PhiAccess) -> None:
        self.session.add(entry)

    async def find(self, tenant_id: str, f: AccessLogFilter, *, before_id: int | None, limit: int) -> list[PhiAccess]:
        """Newest first; `before_id` is the keyset cursor (ids only grow)."""
        stmt = select(PhiAccess).where(PhiAccess.tenant_id == tenant_id)
        if f.user:
            stmt = stmt.where(PhiAccess.user_id == f.user)
        if f.role:
            stmt = stmt.where(PhiAccess.role == f.role)
        if f.encounter_id:
            stmt = stmt.where(PhiAccess.encounter_id == f.encounter_id)
        if f.action:
            stmt = stmt.where(PhiAccess.action == f.action)
        if f.outcome:
            stmt = stmt.where(PhiAccess.outcome == f.outcome)
        if f.since:
            stmt = stmt.where(PhiAccess.occurred_at >= f.since)
        if f.until:
            stmt = stmt.where(PhiAccess.occurred_at < f.until)
        if before_id is not None:
            stmt = stmt.where(PhiAccess.id < before_id)
        return list((await self.session.scalars(stmt.order_by(PhiAccess.id.desc()).limit(limit))).all())
