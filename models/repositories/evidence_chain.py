"""Audit SQL: chain verification (per chart, per tenant, or the whole database), the rows an
evidence packet is made of, and the PHI access log."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.encounters.tables import (
    AuditEvent,
    AuditLedgerEntry,
    Encounter,
    HoldRow,
    QaChainEvent,
    QueryRow,
    TextBlob,
)
from models.evidence.access_log_tables import PhiAccess
from models.evidence.chain import (
    GENESIS,
    UNKEYED,
    BrokenEvent,
    Keyring,
    hashed_fields,
    verify_chain,
)
from models.evidence.packet import ClaimHistory
from models.qa.tables import QaAudit, QaFinding
from models.repositories.audit_seal import entry_fields, ledger_heads
from models.repositories.evidence_facts import encounter_facts, facts_problem
from models.repositories.qa_chain import verify_qa

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
    AuditEvent.facts,
    AuditEvent.key_id,
)


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


@dataclass(frozen=True)
class _Head:
    tenant_id: str
    encounter_id: str
    seq: int
    hash: str
    action: str
    occurred_at: datetime
    facts: dict[str, dict[str, str]] | None


def _check(chain: Sequence[Row[Any]], keys: Keyring) -> BrokenEvent | None:
    found = verify_chain(
        (
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
                    facts=ev.facts,
                    key_id=ev.key_id,
                ),
                ev.prev_hash,
                ev.hash,
            )
            for ev in chain
        ),
        keys,
    )
    if found is None:
        return None
    row = next((ev for ev in chain if ev.seq == found.seq), None)
    return BrokenEvent(
        chain[0].tenant_id, found.encounter_id, found.seq, found.problem,
        row.action if row else None, row.occurred_at if row else None,
    )


def _against_ledger(head: _Head, entry: AuditLedgerEntry | None, keys: Keyring) -> BrokenEvent | None:
    """The chain's stored head must be the one the tenant ledger last recorded for it."""
    if entry is None:
        return None  # a chart from before the ledger existed
    where = (head.tenant_id, head.encounter_id, head.seq)
    if keys.check(entry.prev_hash, entry_fields(entry), entry.hash) is not None:
        return BrokenEvent(*where, f"ledger entry {entry.seq} for this chart does not verify", head.action, head.occurred_at)
    if entry.event_count != head.seq or entry.head_hash != head.hash:
        return BrokenEvent(
            *where,
            f"the ledger records {entry.event_count} events ending in {entry.head_hash[:12]}…, the table holds "
            f"{head.seq} ending in {head.hash[:12]}…: events were removed or replaced",
            head.action, head.occurred_at,
        )  # fmt: skip
    return None


async def _ledger_breaks(
    session: AsyncSession, tenant_id: str, seen: set[str], keys: Keyring
) -> list[BrokenEvent]:
    """The tenant ledger itself (an unbroken keyed chain) and charts it records whose events are gone."""
    out: list[BrokenEvent] = []
    prev, expected = GENESIS, 1
    rows = await session.stream_scalars(
        select(AuditLedgerEntry).where(AuditLedgerEntry.tenant_id == tenant_id).order_by(AuditLedgerEntry.seq)
    )
    async for entry in rows:
        if entry.seq != expected or entry.prev_hash != prev or keys.check(prev, entry_fields(entry), entry.hash):
            out.append(BrokenEvent(tenant_id, str(entry.encounter_id), entry.event_count,
                                   f"ledger entry {entry.seq} does not follow the entry before it", "ledger", entry.recorded_at))
            break
        prev, expected = entry.hash, expected + 1
    heads = await ledger_heads(session, tenant_id, None)
    for encounter, entry in heads.items():
        if encounter not in seen:
            out.append(BrokenEvent(tenant_id, encounter, entry.event_count,
                                   f"the ledger records {entry.event_count} events for this chart; none are stored",
                                   None, entry.recorded_at))  # fmt: skip
    return out


async def verify_events(
    session: AsyncSession, tenant_id: str | None, encounter_id: uuid.UUID | None, keys: Keyring = UNKEYED
) -> VerifyResult:
    """Verify every chain in scope (None, None: the whole database, for the operator CLI).

    Each chain must link and hash (keyed events under `keys`), end where the tenant ledger says
    it ends, and its head event's facts digests must match the rows stored now; so must each
    chart's QA chain (models.repositories.qa_chain). Rows stream as
    plain tuples one chain at a time; the first break reported is the one that happened earliest.
    """
    stmt = select(*_CHAIN_COLUMNS).order_by(AuditEvent.encounter_id, AuditEvent.seq)
    if tenant_id is not None:
        stmt = stmt.where(AuditEvent.tenant_id == tenant_id)
    if encounter_id is not None:
        stmt = stmt.where(AuditEvent.encounter_id == encounter_id)
    encounters = events = 0
    breaks: list[BrokenEvent] = []
    heads: list[_Head] = []
    chain: list[Row[Any]] = []

    def close() -> None:
        nonlocal encounters
        if not chain:
            return
        encounters += 1
        found = _check(chain, keys)
        if found is not None:
            breaks.append(found)
        else:
            last = chain[-1]
            heads.append(_Head(last.tenant_id, str(last.encounter_id), last.seq, last.hash, last.action, last.occurred_at, last.facts))
        chain.clear()

    result = await session.stream(stmt.execution_options(yield_per=1000))
    async for row in result:
        if chain and row.encounter_id != chain[-1].encounter_id:
            close()
        chain.append(row)
        events += 1
    close()
    for tenant in sorted({h.tenant_id for h in heads} | ({tenant_id} if tenant_id else set())):
        recorded = await ledger_heads(session, tenant, encounter_id)
        for head in (h for h in heads if h.tenant_id == tenant):
            found = _against_ledger(head, recorded.get(head.encounter_id), keys)
            if found is None and head.facts is not None:
                problem = facts_problem(head.facts, await encounter_facts(session, uuid.UUID(head.encounter_id)))
                found = BrokenEvent(head.tenant_id, head.encounter_id, head.seq, problem, head.action, head.occurred_at) if problem else None
            if found is not None:
                breaks.append(found)
        if encounter_id is None:
            breaks.extend(await _ledger_breaks(session, tenant, {h.encounter_id for h in heads if h.tenant_id == tenant}, keys))
        elif events == 0 and str(encounter_id) in recorded:
            entry = recorded[str(encounter_id)]
            breaks.append(BrokenEvent(tenant, str(encounter_id), entry.event_count,
                                      f"the ledger records {entry.event_count} events for this chart; none are stored",
                                      None, entry.recorded_at))  # fmt: skip
    _, qa_events, qa_breaks = await verify_qa(session, tenant_id, encounter_id, keys)
    events += qa_events
    breaks.extend(qa_breaks)
    broken_charts = {b.encounter_id for b in breaks}
    first = min(breaks, key=lambda b: b.occurred_at or datetime.max.replace(tzinfo=UTC), default=None)
    tip = heads[-1].hash if encounter_id and first is None and heads else None
    return VerifyResult(encounters, events, first, tip, len(broken_charts))


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

    async def findings(self, encounter_id: uuid.UUID) -> list[tuple[QaFinding, QaAudit]]:
        stmt = (
            select(QaFinding, QaAudit)
            .join(QaAudit, QaAudit.id == QaFinding.audit_id)
            .where(QaFinding.tenant_id == self.tenant_id, QaFinding.encounter_id == encounter_id)
            .order_by(QaFinding.opened_at)
        )
        return [(row[0], row[1]) for row in (await self.session.execute(stmt)).all()]

    async def qa_events(self, encounter_id: uuid.UUID) -> list[QaChainEvent]:
        stmt = select(QaChainEvent).where(QaChainEvent.tenant_id == self.tenant_id, QaChainEvent.encounter_id == encounter_id)
        return list((await self.session.scalars(stmt.order_by(QaChainEvent.seq))).all())

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
