"""SQL of the loaded ICD-10-CM releases and of the charts held waiting for one."""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.coding.reference import Icd10cmCode, Icd10cmRelease
from models.encounters.tables import Encounter

CHUNK = 5000


async def replace_release(session: AsyncSession, fiscal_year: int, rows: list[dict[str, Any]], effective_from: date, source: str) -> None:
    """The year's codes replaced by `rows` and its release row upserted, in the caller's transaction."""
    await session.execute(delete(Icd10cmCode).where(Icd10cmCode.fiscal_year == fiscal_year))
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(Icd10cmCode), rows[start : start + CHUNK])
    values = {"effective_from": effective_from, "source": source, "codes": len(rows), "loaded_at": func.now()}
    stmt = insert(Icd10cmRelease).values(fiscal_year=fiscal_year, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=["fiscal_year"], set_=values))


async def releases(session: AsyncSession) -> Sequence[Icd10cmRelease]:
    return (await session.scalars(select(Icd10cmRelease).order_by(Icd10cmRelease.fiscal_year))).all()


async def earliest_loaded(session: AsyncSession) -> date | None:
    return await session.scalar(select(func.min(Icd10cmRelease.effective_from)))


_STAMPS = select(Icd10cmRelease.fiscal_year, Icd10cmRelease.loaded_at)  # built once: every submit and scrub asks


async def release_stamps(session: AsyncSession) -> list[tuple[int, datetime]]:
    """(fiscal year, loaded at) of every loaded release: a cheap fingerprint of what is loaded."""
    return [(fy, at) for fy, at in (await session.execute(_STAMPS)).all()]


async def codes_of(session: AsyncSession, fiscal_year: int) -> Sequence[Icd10cmCode]:
    return (await session.scalars(select(Icd10cmCode).where(Icd10cmCode.fiscal_year == fiscal_year))).all()


async def charts_held_for(session: AsyncSession, reason: str) -> list[tuple[str, uuid.UUID, str, list[dict[str, Any]], date | None]]:
    """(tenant, encounter id, external id, holds, date of service) of every chart with a hold of this reason."""
    rows = await session.execute(
        select(Encounter.tenant_id, Encounter.id, Encounter.external_id, Encounter.holds, Encounter.date_of_service)
        .where(Encounter.holds.contains([{"reason": reason}]))
        .order_by(Encounter.date_of_service, Encounter.id)
    )
    return [(t, i, x, h, d) for t, i, x, h, d in rows.all()]
