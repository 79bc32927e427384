"""SQL of operating the system: the database probe, the clearinghouse pollers' status and files."""

from collections.abc import Sequence

from sqlalchemy import or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from models.poller_tables import ClearinghouseFile, PollerStatus


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
