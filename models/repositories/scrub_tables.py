"""The scrub's reference tables (NCCI PTP pairs, MUE limits), cached per loaded version.

Every scrub reads which version of each table is loaded (one small query), so a new load takes
effect at once; the rows of a version never change, so the rows seen for a code are kept and
only codes not seen yet under that version are read from SQL.
"""

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.claims.reference import CodeTableVersion, MueLimitRow, PtpEditRow
from models.claims.scrub_reference import MueLimit, PtpEdit, ScrubTables, builtin_tables

# Codes kept per table version; past this the cache starts over (the NCCI table has ~1M pairs).
MAX_CODES = 20_000

Loaded = tuple[str, datetime]  # (version, loaded_at): a reload under the same name is a new key


_LOADED = select(CodeTableVersion.table_name, CodeTableVersion.version, CodeTableVersion.loaded_at)  # built once: every scrub asks


class ScrubTableCache:
    def __init__(self) -> None:
        self._ptp: dict[Loaded, dict[str, list[PtpEdit]]] = {}
        self._mue: dict[Loaded, dict[str, list[MueLimit]]] = {}

    async def load(self, session: AsyncSession, codes: list[str]) -> ScrubTables:
        """Same answer as reading the rows for `codes` from SQL; a table never loaded stays None."""
        loaded = {
            name: (version, at)
            for name, version, at in (
                await session.execute(_LOADED)
            ).all()
        }
        wanted = set(codes)
        tables = builtin_tables()
        if "ptp" in loaded:
            by_code = await self._ptp_rows(session, loaded["ptp"], wanted)
            ptp = [edit for code in sorted(wanted) for edit in by_code.get(code, []) if edit.column2 in wanted]
            tables = replace(tables, ptp=ptp, ptp_version=loaded["ptp"][0])
        if "mue" in loaded:
            limits = await self._mue_rows(session, loaded["mue"], wanted)
            mue = [limit for code in sorted(wanted) for limit in limits.get(code, [])]
            tables = replace(tables, mue=mue, mue_version=loaded["mue"][0])
        return tables

    async def _ptp_rows(self, session: AsyncSession, key: Loaded, codes: set[str]) -> dict[str, list[PtpEdit]]:
        cached = self._cached(self._ptp, key)
        missing = sorted(codes - cached.keys())
        if missing:
            rows = await session.scalars(
                select(PtpEditRow).where(PtpEditRow.version == key[0], PtpEditRow.column1.in_(missing))
            )
            fresh: dict[str, list[PtpEdit]] = {code: [] for code in missing}
            for r in rows:
                fresh[r.column1].append(PtpEdit(r.column1, r.column2, r.effective_from, r.effective_to, r.modifier_indicator))  # type: ignore[arg-type]
            cached.update(fresh)
        return cached

    async def _mue_rows(self, session: AsyncSession, key: Loaded, codes: set[str]) -> dict[str, list[MueLimit]]:
        cached = self._cached(self._mue, key)
        missing = sorted(codes - cached.keys())
        if missing:
            rows = await session.scalars(
                select(MueLimitRow).where(MueLimitRow.version == key[0], MueLimitRow.code.in_(missing))
            )
            fresh: dict[str, list[MueLimit]] = {code: [] for code in missing}
            for r in rows:
                fresh[r.code].append(MueLimit(r.code, r.limit, r.adjudication_indicator, r.effective_from, r.effective_to))  # type: ignore[arg-type]
            cached.update(fresh)
        return cached

    @staticmethod
    def _cached(store: dict[Loaded, dict[str, list]], key: Loaded) -> dict[str, list]:  # type: ignore[type-arg]
        if key not in store or len(store[key]) > MAX_CODES:
            store.clear()  # an older version is never read again
            store[key] = {}
        return store[key]


async def load_tables(session: AsyncSession, codes: list[str]) -> ScrubTables:
    """The operator-loaded NCCI/MUE rows for these codes; a table never loaded stays None, so
    the scrub reports its check as skipped instead of silently passing it."""
    versions = dict((await session.execute(select(CodeTableVersion.table_name, CodeTableVersion.version))).all())
    tables = builtin_tables()
    if "ptp" in versions:
        rows = await session.scalars(
            select(PtpEditRow).where(
                PtpEditRow.version == versions["ptp"], PtpEditRow.column1.in_(codes), PtpEditRow.column2.in_(codes)
            )
        )
        ptp = [PtpEdit(r.column1, r.column2, r.effective_from, r.effective_to, r.modifier_indicator) for r in rows]  # type: ignore[arg-type]
        tables = replace(tables, ptp=ptp, ptp_version=versions["ptp"])
    if "mue" in versions:
        rows2 = await session.scalars(select(MueLimitRow).where(MueLimitRow.version == versions["mue"], MueLimitRow.code.in_(codes)))
        mue = [MueLimit(r.code, r.limit, r.adjudication_indicator, r.effective_from, r.effective_to) for r in rows2]  # type: ignore[arg-type]
        tables = replace(tables, mue=mue, mue_version=versions["mue"])
    return tables
