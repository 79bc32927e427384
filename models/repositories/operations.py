"""SQL of operating the system: the database probe, the clearinghouse pollers' status and files."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.claims.poller_tables import ClearinghouseFile, PollerStatus
from models.claims.remittance_tables import RemittanceException


async def ping(session: AsyncSession) -> None:
    await session.execute(text("SELECT 1"))


async def poller_statuses(session: AsyncSession) -> Sequence[PollerStatus]:
    return (await session.scalars(select(PollerStatus))).all()


async def dead_letters(session: AsyncSession, tenant_id: str, statuses: Sequence[str], limit: int) -> Sequence[ClearinghouseFile]:
    """Files in these statuses routed to this tenant or to no tenant at all, newest first."""
    mine = ClearinghouseFile.tenants.contains([tenant_id])
    rows = await session.scalars(
        select(ClearinghouseFile)
        .where(ClearinghouseFile.status.in_(statuses), or_(mine, ClearinghouseFile.tenants == []))
        .order_by(ClearinghouseFile.seq.desc())
        .limit(limit)
    )
    return rows.all()


async def try_lock(session: AsyncSession, key: int) -> bool:
    """A session-level advisory lock: only one holder at a time, others skip their turn."""
    return bool(await session.scalar(select(func.pg_try_advisory_lock(key))))


async def unlock(session: AsyncSession, key: int) -> None:
    await session.execute(select(func.pg_advisory_unlock(key)))


async def open_exceptions(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(RemittanceException).where(RemittanceException.status == "open")) or 0


async def last_file_id(session: AsyncSession, source: str) -> str | None:
    """The poller's cursor: the newest file recorded from this clearinghouse."""
    return await session.scalar(
        select(ClearinghouseFile.file_id).where(ClearinghouseFile.source == source).order_by(ClearinghouseFile.seq.desc()).limit(1)
    )


async def file_seen(session: AsyncSession, source: str, file_id: str) -> bool:
    found = await session.scalar(select(ClearinghouseFile.seq).where(ClearinghouseFile.source == source, ClearinghouseFile.file_id == file_id))
    return found is not None


async def record_file(session: AsyncSession, row: dict[str, Any]) -> None:
    await session.execute(insert(ClearinghouseFile).values(**row).on_conflict_do_nothing())


async def count_failed_file(session: AsyncSession, source: str) -> None:
    await session.execute(
        insert(PollerStatus).values(source=source, consecutive_failures=0, files_failed=1)
        .on_conflict_do_update(index_elements=["source"], set_={"files_failed": PollerStatus.files_failed + 1})
    )  # fmt: skip


async def heartbeat(session: AsyncSession, source: str, values: dict[str, Any], *, failed: bool) -> None:
    """Upsert the poller's status: `values` as given, and on failure its failure count grows by one."""
    update = dict(values)
    if failed:
        update["consecutive_failures"] = PollerStatus.consecutive_failures + 1
    await session.execute(
        insert(PollerStatus).values(source=source, files_failed=0, **values)
        .on_conflict_do_update(index_elements=["source"], set_=update)
    )  # fmt: skip
