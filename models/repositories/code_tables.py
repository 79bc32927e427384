"""SQL of the operator-loaded code tables (NCCI PTP, MUE, fee schedules): bulk replacement by
COPY, the loaded versions, and their row counts."""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.claims.reference import CodeTableVersion, FeeScheduleRow, MueLimitRow, PtpEditRow

CHUNK = 1 << 20
COPY_COLUMNS = {
    "ptp": ("ptp_edits", "version, column1, column2, modifier_indicator, effective_from, effective_to"),
    "mue": ("mue_limits", 'version, code, "limit", adjudication_indicator, effective_from, effective_to'),
}


def _copy_text(value: object) -> str:
    if value is None:
        return "\\N"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


async def replace_global(session: AsyncSession, table: str, version: str, rows: list[tuple[Any, ...]], show: Callable[[int], object]) -> None:
    """Delete and COPY inside the caller's transaction (PostgreSQL DDL-free, so it rolls back whole)."""
    model = PtpEditRow if table == "ptp" else MueLimitRow
    await session.execute(delete(model))
    name, columns = COPY_COLUMNS[table]
    raw = await (await session.connection()).get_raw_connection()
    driver: Any = raw.driver_connection
    async with driver.cursor() as cursor, cursor.copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
        buffer: list[str] = []
        size = 0
        for n, row in enumerate(rows, start=1):
            line = "\t".join(_copy_text(v) for v in (version, *row)) + "\n"
            buffer.append(line)
            size += len(line)
            if size >= CHUNK:
                await copy.write("".join(buffer))
                buffer, size = [], 0
                show(n)
        if buffer:
            await copy.write("".join(buffer))


async def replace_fees(session: AsyncSession, tenant: str, version: str, rows: Iterable[tuple[Any, ...]]) -> None:
    values = [dict(zip(("payer_id", "code", "modifier", "amount_cents", "effective_from", "effective_to"), r, strict=True)) for r in rows]
    payers = sorted({v["payer_id"] for v in values})
    await session.execute(delete(FeeScheduleRow).where(FeeScheduleRow.tenant_id == tenant, FeeScheduleRow.payer_id.in_(payers)))
    for start in range(0, len(values), 5000):
        batch = [{**v, "tenant_id": tenant, "version": version} for v in values[start : start + 5000]]
        await session.execute(insert(FeeScheduleRow), batch)


async def record_version(session: AsyncSession, table: str, version: str, rows: int) -> None:
    stmt = insert(CodeTableVersion).values(table_name=table, version=version, rows=rows)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["table_name"], set_={"version": version, "rows": rows, "loaded_at": func.now()}
    ))  # fmt: skip


async def loaded_tables(session: AsyncSession) -> list[tuple[CodeTableVersion, int | None]]:
    """Each loaded global table's version row with the rows actually in its table (None: not counted)."""
    out: list[tuple[CodeTableVersion, int | None]] = []
    for v in (await session.scalars(select(CodeTableVersion).order_by(CodeTableVersion.table_name))).all():
        model = {"ptp": PtpEditRow, "mue": MueLimitRow}.get(v.table_name)
        actual = await session.scalar(select(func.count()).select_from(model)) if model is not None else None
        out.append((v, actual))
    return out


async def fee_schedules(session: AsyncSession, tenant: str | None) -> Sequence[Any]:
    """(tenant, payer, version, rows) of every loaded fee schedule (of one tenant, when given)."""
    fees = select(FeeScheduleRow.tenant_id, FeeScheduleRow.payer_id, FeeScheduleRow.version, func.count())
    if tenant:
        fees = fees.where(FeeScheduleRow.tenant_id == tenant)
    grouped = fees.group_by(FeeScheduleRow.tenant_id, FeeScheduleRow.payer_id, FeeScheduleRow.version).order_by(FeeScheduleRow.tenant_id, FeeScheduleRow.payer_id)
    return (await session.execute(grouped)).all()
