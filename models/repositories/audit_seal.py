"""Sealing an audit event: its facts digests, its keyed hash, and the tenant ledger entry that
records the chart's new chain head (event count + head hash) in the same transaction."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.encounters.tables import AuditEvent, AuditLedgerEntry
from models.evidence.chain import GENESIS, Keyring, hashed_fields
from models.evidence.ledger_tables import LedgerHead
from models.repositories.evidence_receipts import sealed_facts


def ledger_fields(
    *, tenant_id: str, seq: int, encounter_id: str, event_count: int, head_hash: str, recorded_at: datetime, key_id: str,
    chain: str | None = None,
) -> dict[str, Any]:
    return {
        **({"chain": chain} if chain is not None else {}),
        "tenant_id": tenant_id,
        "seq": seq,
        "encounter_id": encounter_id,
        "event_count": event_count,
        "head_hash": head_hash,
        "recorded_at": recorded_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "key_id": key_id,
    }


def entry_fields(entry: Any) -> dict[str, Any]:
    """The hashed fields of a stored ledger row (ORM object or result row)."""
    return ledger_fields(
        tenant_id=entry.tenant_id, seq=entry.seq, encounter_id=str(entry.encounter_id), event_count=entry.event_count,
        head_hash=entry.head_hash, recorded_at=entry.recorded_at, key_id=entry.key_id, chain=entry.chain,
    )  # fmt: skip


_PREVIOUS_FACTS = select(AuditEvent.facts).where(
    AuditEvent.encounter_id == bindparam("encounter_id"), AuditEvent.hash == bindparam("prev_hash")
)
_LOCKED_HEAD = select(LedgerHead.seq, LedgerHead.hash).where(LedgerHead.tenant_id == bindparam("tenant_id")).with_for_update()
"""Built once: every projection runs them (a statement built per call pays its cache key each time)."""


async def seal_event(
    session: AsyncSession,
    *,
    tenant_id: str,
    encounter_id: uuid.UUID,
    common: Mapping[str, Any],
    prev_hash: str,
    keys: Keyring,
    ledger: bool = True,
    follows: AuditEvent | None = None,
) -> AuditEvent:
    """Add the event and its ledger entry. Its facts: rows this transaction wrote as read after
    its writes, rows an activity wrote earlier as their receipts say (models.repositories.evidence_receipts).

    `ledger=False`: the caller appends the entry (`append_ledger`) after its last write, so the
    tenant's ledger lock is held only from then to the commit. `follows`: the chart's previous
    event when this transaction sealed it (several changes in one batch): its facts are not
    read back."""
    await session.flush()
    previous: dict[str, Any] | None = None  # a chart's first event follows nothing
    if follows is not None and follows.hash == prev_hash and follows.encounter_id == encounter_id:
        previous = follows.facts
    elif prev_hash != GENESIS:
        previous = await session.scalar(_PREVIOUS_FACTS, {"encounter_id": encounter_id, "prev_hash": prev_hash})
    facts = await sealed_facts(session, keys, tenant_id, encounter_id, previous)
    fields = hashed_fields(encounter_id=str(encounter_id), **common, facts=facts, key_id=keys.current)
    digest = keys.seal(prev_hash, fields)
    event = AuditEvent(
        tenant_id=tenant_id, encounter_id=encounter_id, prev_hash=prev_hash, hash=digest, facts=facts, key_id=keys.current,
        **common,
    )  # fmt: skip
    session.add(event)
    if ledger:
        await append_ledger(session, tenant_id, encounter_id, int(common["seq"]), digest, common["occurred_at"], keys)
    return event


@dataclass(frozen=True)
class LedgerAppend:
    """One chart chain's new head, to be entered in its tenant's ledger."""

    encounter_id: uuid.UUID
    count: int
    head: str
    at: datetime
    chain: str | None = None


async def append_ledger(
    session: AsyncSession, tenant_id: str, encounter_id: uuid.UUID, count: int, head: str, at: datetime, keys: Keyring,
    chain: str | None = None,
) -> None:
    await append_ledger_entries(session, tenant_id, [LedgerAppend(encounter_id, count, head, at, chain)], keys)


async def append_ledger_entries(session: AsyncSession, tenant_id: str, appends: Sequence[LedgerAppend], keys: Keyring) -> None:
    """The entries in order, each chained to the one before: one lock of the head and one write
    for all of them (a batch of changes costs the same two round trips as one)."""
    if not appends:
        return
    # One ledger writer per tenant at a time, until this transaction ends: everything else it
    # writes is sent first, so the tenant's head row stays locked for one write and the commit.
    await session.flush()
    seq, prev = await lock_ledger_head(session, tenant_id)
    entries = []
    for a in appends:
        seq += 1
        fields = ledger_fields(
            tenant_id=tenant_id, seq=seq, encounter_id=str(a.encounter_id), event_count=a.count, head_hash=a.head,
            recorded_at=a.at, key_id=keys.current, chain=a.chain,
        )  # fmt: skip
        digest = keys.seal(prev, fields)
        entries.append({
            "tenant_id": tenant_id, "seq": seq, "encounter_id": a.encounter_id, "event_count": a.count, "head_hash": a.head,
            "recorded_at": a.at, "key_id": keys.current, "prev_hash": prev, "hash": digest, "chain": a.chain,
        })  # fmt: skip
        prev = digest
    new_head = (
        update(LedgerHead).where(LedgerHead.tenant_id == tenant_id).values(seq=seq, hash=prev).returning(LedgerHead.seq)
    ).cte("new_head")
    await session.execute(insert(AuditLedgerEntry).values(entries).add_cte(new_head))


# A tenant's first append (or the first since the head rows were introduced) starts from the
# ledger's own last entry, or from genesis.
_FIRST_HEAD = text(
    """
    INSERT INTO audit_ledger_heads (tenant_id, seq, hash)
    SELECT CAST(:tenant AS varchar),
           coalesce((SELECT seq FROM audit_ledger WHERE tenant_id = CAST(:tenant AS varchar) ORDER BY seq DESC LIMIT 1), 0),
           coalesce((SELECT hash FROM audit_ledger WHERE tenant_id = CAST(:tenant AS varchar) ORDER BY seq DESC LIMIT 1), CAST(:genesis AS varchar))
    ON CONFLICT (tenant_id) DO NOTHING
    """
)


async def lock_ledger_head(session: AsyncSession, tenant_id: str) -> tuple[int, str]:
    """The tenant's ledger head (seq, hash), locked; after a wait, the newest committed one."""
    row = (await session.execute(_LOCKED_HEAD, {"tenant_id": tenant_id})).first()
    if row is None:
        await session.execute(_FIRST_HEAD, {"tenant": tenant_id, "genesis": GENESIS})
        row = (await session.execute(_LOCKED_HEAD, {"tenant_id": tenant_id})).one()
    return int(row[0]), str(row[1])


async def ledger_heads(
    session: AsyncSession, tenant_id: str, encounter_id: uuid.UUID | None, chain: str | None = None
) -> dict[str, AuditLedgerEntry]:
    """The latest ledger entry of each chart's chain (of one chart when given); `chain` "qa": its QA chain."""
    latest = select(AuditLedgerEntry.encounter_id, func.max(AuditLedgerEntry.seq).label("seq")).where(
        AuditLedgerEntry.tenant_id == tenant_id,
        AuditLedgerEntry.chain.is_(None) if chain is None else AuditLedgerEntry.chain == chain,
    )
    if encounter_id is not None:
        latest = latest.where(AuditLedgerEntry.encounter_id == encounter_id)
    sub = latest.group_by(AuditLedgerEntry.encounter_id).subquery()
    rows = await session.scalars(
        select(AuditLedgerEntry).join(
            sub, (AuditLedgerEntry.tenant_id == tenant_id) & (AuditLedgerEntry.seq == sub.c.seq)
        )
    )
    return {str(r.encounter_id): r for r in rows.all()}
