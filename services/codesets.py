"""ICD-10-CM releases: an operator loads a CMS release in one command; every process serves it.

A load parses the whole order file first (a bad line names itself and changes nothing), then
replaces that fiscal year's codes in one transaction. The API, the worker and the intake read
the loaded releases from PostgreSQL, so a release loaded beside a running stack is served
without a restart (`refresh_catalog`).
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.codesets.catalog import default_catalog
from integrations.codesets.icd10_order import parse_order_file
from integrations.codesets.icd10cm import (
    SHIPPED_RELEASE,
    SHIPPED_SOURCE,
    Icd10Entry,
    Icd10Table,
    Release,
    fiscal_year_of,
)
from models.codeset_tables import Icd10cmCode, Icd10cmRelease
from models.tables import Encounter

log = structlog.get_logger(__name__)

_RELEASE = re.compile(r"^FY(\d{4})$")
LOAD_HINT = "clearchart codesets load --table icd10cm --release FY{fy} --file icd10cm_order_{fy}.txt"


class ReleaseError(ValueError):
    """The load cannot go ahead (a bad --release); nothing was changed."""


@dataclass(frozen=True)
class ServedRange:
    fiscal_year: int
    source: str
    codes: int
    serves_from: date
    serves_to: date | None  # None: until a newer release is loaded
    loaded_at: datetime | None = None
    waiting: int = 0  # charts of that fiscal year on hold when the release was loaded


def load_hint(fiscal_year: int) -> str:
    return LOAD_HINT.format(fy=fiscal_year)


def parse_release(label: str) -> int:
    found = _RELEASE.match(label.strip().upper())
    if not found or not 2016 <= int(found[1]) <= 2100:
        raise ReleaseError(f"--release must name a federal fiscal year like FY2027, not {label!r}")
    return int(found[1])


async def load_icd10cm(sessions: async_sessionmaker[AsyncSession], release: str, path: Path) -> ServedRange:
    fiscal_year = parse_release(release)
    with path.open(encoding="utf-8", newline="") as fh:
        entries = parse_order_file(fh)
    effective_from = Release.for_fiscal_year(fiscal_year).effective_from
    async with sessions.begin() as session:
        await session.execute(delete(Icd10cmCode).where(Icd10cmCode.fiscal_year == fiscal_year))
        rows = [{"fiscal_year": fiscal_year, "code": e.code, "description": e.description, "billable": e.billable} for e in entries]
        for start in range(0, len(rows), 5000):
            await session.execute(insert(Icd10cmCode), rows[start : start + 5000])
        values = {"effective_from": effective_from, "source": path.name, "codes": len(entries), "loaded_at": func.now()}
        stmt = insert(Icd10cmRelease).values(fiscal_year=fiscal_year, **values)
        await session.execute(stmt.on_conflict_do_update(index_elements=["fiscal_year"], set_=values))
        waiting = await session.scalar(
            select(func.count()).select_from(Encounter).where(
                Encounter.status == "on_hold",
                Encounter.date_of_service >= effective_from,
                Encounter.date_of_service < date(fiscal_year, 10, 1),
            )
        )
    log.info("codesets.icd10cm_loaded", fiscal_year=fiscal_year, codes=len(entries), source=path.name)
    return ServedRange(fiscal_year, path.name, len(entries), effective_from, None, waiting=waiting or 0)


async def served_ranges(sessions: async_sessionmaker[AsyncSession]) -> list[ServedRange]:
    """Which release serves which dates of service: the shipped one unless a loaded one replaces its year."""
    async with sessions() as session:
        loaded = list((await session.scalars(select(Icd10cmRelease).order_by(Icd10cmRelease.fiscal_year))).all())
    by_year: dict[int, ServedRange] = {}
    if SHIPPED_RELEASE.fiscal_year not in {r.fiscal_year for r in loaded}:
        shipped_codes = len(default_catalog().icd10cm.shipped_table())
        by_year[SHIPPED_RELEASE.fiscal_year] = ServedRange(
            SHIPPED_RELEASE.fiscal_year, f"shipped: {SHIPPED_SOURCE}", shipped_codes, SHIPPED_RELEASE.effective_from, None
        )
    for r in loaded:
        by_year[r.fiscal_year] = ServedRange(r.fiscal_year, f"loaded: {r.source}", r.codes, r.effective_from, None, r.loaded_at)
    ordered = [by_year[fy] for fy in sorted(by_year)]
    return [
        ServedRange(r.fiscal_year, r.source, r.codes, r.serves_from,
                    ordered[i + 1].serves_from - timedelta(days=1) if i + 1 < len(ordered) else None, r.loaded_at)
        for i, r in enumerate(ordered)
    ]


async def earliest_served(session: AsyncSession) -> date:
    """The first date of service any release serves (the newest one serves every later date)."""
    loaded = await session.scalar(select(func.min(Icd10cmRelease.effective_from)))
    return min(SHIPPED_RELEASE.effective_from, loaded) if loaded else SHIPPED_RELEASE.effective_from


def uncovered_reason(dos: date | None, earliest: date) -> str | None:
    """Why a chart with this date of service cannot be coded yet, or None when a release serves it."""
    if dos is None or dos >= earliest:
        return None
    fy = fiscal_year_of(dos)
    return f"ICD-10-CM release for FY{fy} (date of service {dos}): an operator loads it with '{load_hint(fy)}'"


_served: dict[str, object] = {"fingerprint": ()}


async def refresh_catalog(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Serve every loaded release in this process (no-op when nothing changed since the last call)."""
    async with sessions() as session:
        await refresh_from(session)


async def refresh_from(session: AsyncSession) -> None:
    """`refresh_catalog` inside a caller's session (one cheap query when nothing changed)."""
    rows = (await session.execute(select(Icd10cmRelease.fiscal_year, Icd10cmRelease.loaded_at))).all()
    fingerprint = tuple(sorted((fy, at) for fy, at in rows))
    if fingerprint == _served["fingerprint"]:
        return
    releases = list((await session.scalars(select(Icd10cmRelease))).all())
    tables = []
    for r in releases:
        codes = (await session.scalars(select(Icd10cmCode).where(Icd10cmCode.fiscal_year == r.fiscal_year))).all()
        tables.append(Icd10Table(Release(r.fiscal_year, r.effective_from), [Icd10Entry(c.code, c.description, c.billable) for c in codes]))
    default_catalog().icd10cm.serve_loaded(tables)
    _served["fingerprint"] = fingerprint
    log.info("codesets.icd10cm_served", releases=sorted(t.release.fiscal_year for t in tables))
