"""The CARC/RARC root-cause table: loaded by an operator, read by 835 intake, built-in until then."""

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.claims.denials import DEFAULT_CARC_TABLE, CarcTable
from models.claims.reference import CarcCodeRow, CodeTableVersion


async def replace_carc(session: AsyncSession, table: CarcTable) -> int:
    await session.execute(delete(CarcCodeRow))
    rows = [
        {"version": table.version, "kind": "carc", "code": e.code, "category": str(e.category) if e.category else None, "refinable": e.refinable}
        for e in table.entries
    ] + [
        {"version": table.version, "kind": "rarc", "code": e.code, "category": str(e.category), "refinable": False}
        for e in table.rarc_entries
    ]
    if rows:
        await session.execute(insert(CarcCodeRow), rows)
    stmt = insert(CodeTableVersion).values(table_name="carc", version=table.version, rows=len(rows))
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["table_name"], set_={"version": table.version, "rows": len(rows), "loaded_at": func.now()})
    )
    return len(rows)


async def current_carc_table(session: AsyncSession) -> CarcTable:
    version = await session.scalar(select(CodeTableVersion.version).where(CodeTableVersion.table_name == "carc"))
    if version is None:
        return DEFAULT_CARC_TABLE
    rows = (await session.scalars(select(CarcCodeRow).where(CarcCodeRow.version == version))).all()
    return CarcTable.from_rows(
        version,
        [{"kind": r.kind, "code": r.code, "category": r.category or "", "refinable": "y" if r.refinable else "n"} for r in rows],
    )
