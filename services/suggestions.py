"""Code suggestions as use cases: compute and store them, show them, record the coder's decision.

Computing runs in an activity (the engine is CPU-bound, so it runs in a worker thread); the
routes and the workspace read and decide through the same functions. A decision never codes the
chart: accepting only records the choice (the workspace adds the code to the form), and the
coder still submits.
"""

import asyncio
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.access import Principal
from models.coding.rules import normalize_icd10
from models.coding.suggestion_quality import AuditedFinding, ChartSuggestions, suggestion_quality
from models.coding.suggestions import SuggestionEngine
from models.coding.tables import CodeSuggestionRow
from models.encounters.tables import Encounter
from models.errors import NotVisible, StateConflict
from models.qa.tables import QaAuditChart, QaFinding
from models.repositories.encounters import EncounterRepository
from models.repositories.suggestions import SuggestionRepository
from services.encounters import load, refuse_if_blind

log = structlog.get_logger(__name__)

Decision = Literal["accepted", "rejected"]


class SuggestionNotFound(NotVisible):
    """No such suggestion on this chart."""


class DecisionRefused(StateConflict):
    """The chart is not on this coder's desk, so its suggestions cannot be decided now."""


async def compute(
    sessions: async_sessionmaker[AsyncSession],
    engine_factory: Callable[[], SuggestionEngine],
    tenant_id: str,
    encounter_id: uuid.UUID,
) -> int:
    """Suggest codes from every note of the chart and store them; safe to repeat."""
    async with sessions.begin() as session:
        notes, dos = await SuggestionRepository(session).notes(tenant_id, encounter_id)
    if not notes:
        return 0
    engine = await asyncio.to_thread(engine_factory)
    suggestions = await asyncio.to_thread(engine.suggest, notes, date_of_service=dos)
    async with sessions.begin() as session:
        await SuggestionRepository(session).store(tenant_id, encounter_id, suggestions)
    log.info("suggestions.stored", encounter_id=str(encounter_id), count=len(suggestions), engine=engine.version)
    return len(suggestions)


def view(row: CodeSuggestionRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "code": row.code,
        "description": row.description,
        "confidence": row.confidence,
        "rank": row.rank,
        "reason": row.reason,
        "matched_term": row.matched_term,
        "spans": row.spans,
        "engine_version": row.engine_version,
        "status": row.status,
        "decided_by": row.decided_by,
        "decided_at": row.decided_at,
    }


async def for_encounter(session: AsyncSession, encounter_id: uuid.UUID) -> list[dict[str, Any]]:
    """Call only after the caller's scoped read of the encounter succeeded."""
    return [view(r) for r in await SuggestionRepository(session).for_encounter(encounter_id)]


async def on_chart(session: AsyncSession, who: Principal, encounter_id: uuid.UUID) -> list[dict[str, Any]]:
    """A chart's suggestions for whoever may read the chart (not during a blind review of it)."""
    await refuse_if_blind(session, who, encounter_id)
    await load(EncounterRepository(session, who), encounter_id)
    return await for_encounter(session, encounter_id)


async def decide_on_chart(
    session: AsyncSession, who: Principal, encounter_id: uuid.UUID, suggestion_id: uuid.UUID, decision: Decision
) -> dict[str, Any]:
    """Accepting records the choice only; the code is coded when the coder submits it."""
    encounter = await load(EncounterRepository(session, who), encounter_id)
    row = await decide(session, who, encounter, suggestion_id, decision)
    await session.commit()
    return view(row)


async def decide(
    session: AsyncSession, who: Principal, encounter: Encounter, suggestion_id: uuid.UUID, decision: Decision
) -> CodeSuggestionRow:
    """Record accept/reject by the coder holding the chart; the same decision again changes nothing."""
    repo = SuggestionRepository(session)
    row = await repo.get(encounter.id, suggestion_id)
    if row is None:
        raise SuggestionNotFound(f"suggestion {suggestion_id} is not one of this chart's suggestions")
    if encounter.status != "in_coding" or encounter.assignee_user != who.user_id:
        raise DecisionRefused(
            f"the chart is {encounter.status}"
            + ("" if encounter.assignee_user == who.user_id else " and not assigned to you")
            + ": suggestions are decided by the coder holding the chart while it is in coding"
        )
    if row.status != decision:
        await repo.decide(row, decision, who.user_id, who.vendor_id, datetime.now(UTC))
        await session.refresh(row)
    return row


async def audit_quality(
    session: AsyncSession, charts: Sequence[QaAuditChart], findings: Sequence[QaFinding]
) -> dict[str, Any]:
    """The engine's acceptance, audit changes and misses on one audit cycle's sampled charts."""
    rows = await SuggestionRepository(session).for_encounters([c.encounter_id for c in charts])
    facts = [
        ChartSuggestions(
            encounter_id=str(c.encounter_id),
            coder_id=c.coder_id,
            vendor_id=c.vendor_id or "",
            suggested={r.code: r.status for r in rows.get(c.encounter_id, [])},
            coded=[(d["code"], d.get("suggestion_id") or "") for d in (c.coder_codes or {}).get("diagnoses", [])],
            findings=[
                AuditedFinding(f.coder_code, f.auditor_code, f.kind, f.state == "final" and f.outcome != "withdrawn")
                for f in findings
                if f.audit_chart_id == c.id and f.code_type == "dx"
            ],
        )
        for c in charts
    ]
    return suggestion_quality(facts)


async def check_cited(
    session: AsyncSession, encounter_id: uuid.UUID, cited: Sequence[tuple[int, str, str]]
) -> list[tuple[int, str]]:
    """(index, code, suggestion id) from a submission → the problems, as (index, message)."""
    repo = SuggestionRepository(session)
    problems: list[tuple[int, str]] = []
    for index, code, suggestion_id in cited:
        try:
            row = await repo.get(encounter_id, uuid.UUID(suggestion_id))
        except ValueError:
            row = None
        if row is None:
            problems.append((index, f"suggestion {suggestion_id} is not one of this chart's suggestions"))
        elif normalize_icd10(code) != row.code:
            problems.append((index, f"suggestion {suggestion_id} proposed {row.code}, not {normalize_icd10(code)}"))
    return problems


async def accept_cited(session: AsyncSession, who: Principal, encounter_id: uuid.UUID, ids: Sequence[str]) -> None:
    """Submitting a code that cites a suggestion accepts it (if the click was not recorded already)."""
    repo = SuggestionRepository(session)
    for suggestion_id in ids:
        row = await repo.get(encounter_id, uuid.UUID(suggestion_id))
        if row is not None and row.status != "accepted":
            await repo.decide(row, "accepted", who.user_id, who.vendor_id, datetime.now(UTC))
