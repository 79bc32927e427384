"""Appending to a tenant's audit ledger through its locked head row: concurrent appends form one
unbroken chain, and a tenant whose head row is missing continues from its last entry."""

import asyncio
import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearchart import admin
from clearchart.keys import chain_keyring
from clearchart.settings import Settings
from models.encounters.tables import AuditLedgerEntry
from models.evidence.chain import GENESIS, Keyring
from models.evidence.ledger_tables import LedgerHead
from models.repositories.audit_seal import (
    LedgerAppend,
    append_ledger,
    append_ledger_entries,
    entry_fields,
)


async def _append(sessions: async_sessionmaker[AsyncSession], keys: Keyring, tenant_id: str, n: int) -> None:
    async with sessions.begin() as session:
        await append_ledger(session, tenant_id, uuid.uuid4(), n, f"{n:064x}", datetime.now(UTC), keys)


async def _chain(sessions: async_sessionmaker[AsyncSession], tenant_id: str) -> list[AuditLedgerEntry]:
    async with sessions() as session:
        rows = await session.scalars(
            select(AuditLedgerEntry).where(AuditLedgerEntry.tenant_id == tenant_id).order_by(AuditLedgerEntry.seq)
        )
        return list(rows.all())


async def _new_tenant(sessions: async_sessionmaker[AsyncSession]) -> str:
    tenant_id = f"t-{uuid.uuid4().hex[:10]}"
    await admin.create_tenant(sessions, tenant_id, "Ledger clinic")
    return tenant_id


def _assert_unbroken(entries: list[AuditLedgerEntry], keys: Keyring) -> None:
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    prev = GENESIS
    for entry in entries:
        assert entry.prev_hash == prev
        assert keys.check(prev, entry_fields(entry), entry.hash) is None
        prev = entry.hash


async def test_concurrent_appends_form_one_chain_and_the_head_row_names_its_end(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    keys, tenant_id = chain_keyring(Settings()), await _new_tenant(sessions)
    await asyncio.gather(*(_append(sessions, keys, tenant_id, n) for n in range(12)))
    entries = await _chain(sessions, tenant_id)
    assert len(entries) == 12
    _assert_unbroken(entries, keys)
    async with sessions() as session:
        head = await session.get_one(LedgerHead, tenant_id)
    assert (head.seq, head.hash) == (12, entries[-1].hash)


async def test_a_tenant_without_a_head_row_continues_from_its_last_entry(
    sessions: async_sessionmaker[AsyncSession], admin_sessions: async_sessionmaker[AsyncSession]
) -> None:
    keys, tenant_id = chain_keyring(Settings()), await _new_tenant(sessions)
    for n in range(3):
        await _append(sessions, keys, tenant_id, n)
    async with admin_sessions.begin() as session:  # as before the head rows existed
        await session.execute(delete(LedgerHead).where(LedgerHead.tenant_id == tenant_id))
    await _append(sessions, keys, tenant_id, 3)
    entries = await _chain(sessions, tenant_id)
    assert len(entries) == 4
    _assert_unbroken(entries, keys)


async def test_several_entries_appended_at_once_chain_in_order_among_single_appends(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    keys, tenant_id = chain_keyring(Settings()), await _new_tenant(sessions)
    chart = uuid.uuid4()
    batch = [LedgerAppend(chart, n, f"{n:064x}", datetime.now(UTC)) for n in (1, 2, 3)]

    async def appended_together() -> None:
        async with sessions.begin() as session:
            await append_ledger_entries(session, tenant_id, batch, keys)

    await asyncio.gather(appended_together(), *(_append(sessions, keys, tenant_id, n) for n in range(4)))
    entries = await _chain(sessions, tenant_id)
    assert len(entries) == 7
    _assert_unbroken(entries, keys)
    together = [e for e in entries if e.encounter_id == chart]
    assert [e.event_count for e in together] == [1, 2, 3]
    assert [e.seq for e in together] == [together[0].seq, together[0].seq + 1, together[0].seq + 2]  # nothing between them
    async with sessions() as session:
        head = await session.get_one(LedgerHead, tenant_id)
    assert (head.seq, head.hash) == (7, entries[-1].hash)
