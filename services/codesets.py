"""ICD-10-CM releases: an operator loads a CMS release in one command; every process serves it.

A load parses the whole order file first (a bad line names itself and changes nothing), then
replaces that fiscal year's codes in one transaction. The API, the worker and the intake read
the loaded releases from PostgreSQL, so a release loaded beside a running stack is served
without a restart (`refresh_catalog`).
"""

import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

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
from models.encounters.holds import DEFAULT_HOLD_POLICY
from models.repositories import codesets as repo
from models.repositories import text_blobs
from workflows.encounter import encounter_workflow_id
from workflows.types import SYSTEM, ReleaseHoldRequest

log = structlog.get_logger(__name__)

_RELEASE = re.compile(r"^FY(\d{4})$")
LOAD_HINT = "clearchart codesets load --table icd10cm --release FY{fy} --file icd10cm_order_{fy}.txt"
HOLD_REASON = "codeset_release_missing"


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
        rows = [{"fiscal_year": fiscal_year, "code": e.code, "description": e.description, "billable": e.billable} for e in entries]
        await repo.replace_release(session, fiscal_year, rows, effective_from, path.name)
    log.info("codesets.icd10cm_loaded", fiscal_year=fiscal_year, codes=len(entries), source=path.name)
    return ServedRange(fiscal_year, path.name, len(entries), effective_from, None)


async def served_ranges(sessions: async_sessionmaker[AsyncSession]) -> list[ServedRange]:
    """Which release serves which dates of service: the shipped one unless a loaded one replaces its year."""
    async with sessions() as session:
        loaded = list(await repo.releases(session))
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
    loaded = await repo.earliest_loaded(session)
    return min(SHIPPED_RELEASE.effective_from, loaded) if loaded else SHIPPED_RELEASE.effective_from


def uncovered_reason(dos: date | None, earliest: date) -> str | None:
    """Why a chart with this date of service cannot be coded yet, or None when a release serves it."""
    if dos is None or dos >= earliest:
        return None
    fy = fiscal_year_of(dos)
    return f"ICD-10-CM release for FY{fy} (date of service {dos}): an operator loads it with '{load_hint(fy)}'"


def hold_detail(reason: str, dos: date | None) -> str | None:
    """What a person does about a hold, where the reason alone does not say (shown beside it)."""
    if reason != HOLD_REASON or dos is None:
        return None
    fy = fiscal_year_of(dos)
    return f"No ICD-10-CM release serves the date of service {dos}: load FY{fy} with '{load_hint(fy)}'"


@dataclass(frozen=True)
class HeldChart:
    tenant_id: str
    encounter_id: uuid.UUID
    external_id: str
    hold_id: str
    date_of_service: date


@dataclass
class ReleaseReport:
    released: int = 0
    already: int = 0  # released meanwhile (by ops, or by another run): nothing to do
    still_held: int = 0  # held for a date of service no loaded release serves yet
    failed: int = 0


async def held_for_release(sessions: async_sessionmaker[AsyncSession]) -> tuple[list[HeldChart], int]:
    """Charts on a `codeset_release_missing` hold that a loaded release now serves, and how many
    such holds remain for dates still unserved."""
    async with sessions() as session:
        earliest = await earliest_served(session)
        rows = await repo.charts_held_for(session, HOLD_REASON)
    served: list[HeldChart] = []
    unserved = 0
    for tenant_id, encounter_id, external_id, holds, dos in rows:
        for hold in holds:
            if hold["reason"] != HOLD_REASON:
                continue
            if dos is not None and uncovered_reason(dos, earliest) is None:
                served.append(HeldChart(tenant_id, encounter_id, external_id, hold["id"], dos))
            else:
                unserved += 1
    return served, unserved


async def release_served(
    sessions: async_sessionmaker[AsyncSession],
    temporal: Client,
    progress: Callable[[HeldChart, str], None] | None = None,
) -> ReleaseReport:
    """Release, through each chart's workflow, the code-set holds a loaded release now serves.

    Idempotent: a hold released meanwhile counts as `already`, and a second run finds nothing.
    The workflow records each release (actor `system`) in the chart's audit trail; the
    resolution text names the release that now serves the chart.
    """
    assert DEFAULT_HOLD_POLICY.may_release(SYSTEM.role, HOLD_REASON)
    charts, unserved = await held_for_release(sessions)
    report = ReleaseReport(still_held=unserved)
    for chart in charts:
        fy = fiscal_year_of(chart.date_of_service)
        text = f"ICD-10-CM release serving date of service {chart.date_of_service} (FY{fy}) loaded"
        digest = hashlib.sha256(text.encode()).hexdigest()
        async with sessions.begin() as session:
            await text_blobs.store(session, chart.tenant_id, digest, text)
        handle = temporal.get_workflow_handle(encounter_workflow_id(str(chart.encounter_id)))
        try:
            await handle.execute_update("release_hold", ReleaseHoldRequest(SYSTEM, chart.hold_id, digest))
            report.released += 1
            outcome = "released"
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type == "NotFound":
                report.already += 1
                outcome = "already released"
            else:
                report.failed += 1
                outcome = f"not released: {cause or exc}"
                log.warning("codesets.release_failed", encounter_id=str(chart.encounter_id), error=str(cause or exc))
        if progress is not None:
            progress(chart, outcome)
    return report


_served: dict[str, object] = {"fingerprint": ()}


async def refresh_catalog(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Serve every loaded release in this process (no-op when nothing changed since the last call)."""
    async with sessions() as session:
        await refresh_from(session)


async def refresh_from(session: AsyncSession) -> None:
    """`refresh_catalog` inside a caller's session (one cheap query when nothing changed)."""
    rows = await repo.release_stamps(session)
    fingerprint = tuple(sorted((fy, at) for fy, at in rows))
    if fingerprint == _served["fingerprint"]:
        return
    releases = list(await repo.releases(session))
    tables = []
    for r in releases:
        codes = await repo.codes_of(session, r.fiscal_year)
        tables.append(Icd10Table(Release(r.fiscal_year, r.effective_from), [Icd10Entry(c.code, c.description, c.billable) for c in codes]))
    default_catalog().icd10cm.serve_loaded(tables)
    _served["fingerprint"] = fingerprint
    log.info("codesets.icd10cm_served", releases=sorted(t.release.fiscal_year for t in tables))
