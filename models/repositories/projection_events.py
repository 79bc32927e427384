"""Where each projection event a workflow reports lands in the database: the one place that maps
the workflow's words (``ClaimAcknowledged``, ``DenialOpened`` …) to tables and columns.

Workflow histories hold the events, never table or column names, so a column can be renamed here
(with its migration) without touching a workflow or a recorded history. Every write is keyed by
the row's id and sets the same values on a retry, so applying an event twice changes nothing.
"""

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, assert_never

from sqlalchemy import Date, DateTime, Uuid, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.claims.tables import AppealRow, ClaimRow, DenialRow, ScrubRun
from models.encounters.projection import (
    AppealDecided,
    AppealFiled,
    ClaimAcknowledged,
    ClaimAdjudicated,
    ClaimRejected,
    DenialClosed,
    DenialFacts,
    DenialOpened,
    ProjectInput,
    ProjectionEvent,
    Record,
    ScrubAcknowledged,
)

Model = type[ScrubRun] | type[ClaimRow] | type[DenialRow] | type[AppealRow]


async def apply_event(session: AsyncSession, tenant_id: str, event: ProjectionEvent) -> None:
    """Write one event's rows in the caller's transaction."""
    match event:
        case ScrubAcknowledged():
            acks = [{"rule": a.rule, "line_index": a.line_index, "reason_sha256": a.reason_sha256, "by": a.by} for a in event.acknowledgments]
            await _update(session, ScrubRun, event.scrub_id, {"acknowledgments": acks})
        case ClaimAcknowledged():
            await _update(session, ClaimRow, event.claim_id, {"status": "accepted", "filed": True, "acknowledged_at": event.acknowledged_at})
        case ClaimRejected():
            values = {"status": "rejected", "filed": False, "acknowledged_at": event.acknowledged_at, "rejection": event.rejection}
            await _update(session, ClaimRow, event.claim_id, values)
        case ClaimAdjudicated():
            await _update(session, ClaimRow, event.claim_id, {"status": event.status, "paid_cents": event.paid_cents, "filed": True})
        case DenialOpened():
            if event.facts is not None:  # a remittance that carried no facts writes no row
                await _upsert(session, DenialRow, event.denial_id, tenant_id, _denial_columns(event.facts))
        case AppealFiled():
            appeal = {
                "encounter_id": uuid.UUID(event.encounter_id), "denial_id": uuid.UUID(event.denial_id), "level": event.level,
                "reason_sha256": event.reason_sha256, "deadline": date.fromisoformat(event.deadline), "status": "open",
                "filed_by": event.filed_by, "filed_at": event.filed_at,
            }  # fmt: skip
            await _upsert(session, AppealRow, event.appeal_id, tenant_id, appeal)
            await _update(session, DenialRow, event.denial_id, {"status": "appealed"})
        case AppealDecided():
            decided = {"status": "decided", "decision": event.decision, "recovered_cents": event.recovered_cents, "decided_at": event.decided_at}
            await _update(session, AppealRow, event.appeal_id, decided)
            await _update(session, DenialRow, event.denial_id, {"status": "closed"})
        case DenialClosed():
            await _update(session, DenialRow, event.denial_id, {"status": "closed"})
        case _:
            assert_never(event)


def _denial_columns(facts: DenialFacts) -> dict[str, Any]:
    return {
        "encounter_id": uuid.UUID(facts.encounter_id),
        "claim_id": uuid.UUID(facts.claim_id),
        "payment_id": uuid.UUID(facts.payment_id),
        "group_code": facts.group_code,
        "carc": facts.carc,
        "rarcs": list(facts.rarcs),
        "category": facts.category,
        "amount_cents": facts.amount_cents,
        "line_index": facts.line_index,
        "payer_id": facts.payer_id,
        "appealable": facts.appealable,
        "not_appealable_reason": facts.not_appealable_reason,
        "notice_date": date.fromisoformat(facts.notice_date),
        "appeal_deadline": date.fromisoformat(facts.appeal_deadline) if facts.appeal_deadline else None,
        "work_queue": facts.work_queue,
        "cause_table_version": facts.cause_table_version,
        "status": facts.status,
    }


def touched(inp: ProjectInput) -> dict[str, list[str]]:
    """Ids of the claim, denial and appeal rows one projection writes, by kind, in event order
    (outbound events name them)."""
    out: dict[str, list[str]] = {}
    for kind, row_id in [*_legacy_touched(inp.records), *_touched(inp.events)]:
        out.setdefault(kind, []).append(row_id)
    return out


def _touched(events: Iterable[ProjectionEvent]) -> Iterable[tuple[str, str]]:
    for event in events:
        match event:
            case ScrubAcknowledged():
                yield "scrub", event.scrub_id
            case ClaimAcknowledged() | ClaimRejected() | ClaimAdjudicated():
                yield "claim", event.claim_id
            case DenialOpened() | DenialClosed():
                yield "denial", event.denial_id
            case AppealFiled() | AppealDecided():
                yield "appeal", event.appeal_id
                yield "denial", event.denial_id
            case _:
                assert_never(event)


# Inputs recorded before the events existed name their tables; these are the only ones they named.
_LEGACY_TABLES: dict[str, tuple[str, Model]] = {
    "scrub_runs": ("scrub", ScrubRun),
    "claims": ("claim", ClaimRow),
    "denials": ("denial", DenialRow),
    "appeals": ("appeal", AppealRow),
}


def _legacy_touched(records: Iterable[Record]) -> Iterable[tuple[str, str]]:
    for record in records:
        yield _LEGACY_TABLES[record.table][0], record.id


async def apply_legacy_record(session: AsyncSession, tenant_id: str, record: Record) -> None:
    """Apply a ``Record`` from a projection input recorded before the events existed (a retried
    activity of an older history). Only the four tables those inputs named; unknown columns fail."""
    if not record.values:
        return
    model = _LEGACY_TABLES[record.table][1]
    values: dict[str, Any] = {}
    for key, value in record.values.items():
        column_type = model.__table__.c[key].type
        if value is not None and isinstance(column_type, DateTime):
            value = datetime.fromisoformat(value)
        elif value is not None and isinstance(column_type, Date):
            value = date.fromisoformat(value)
        elif value is not None and isinstance(column_type, Uuid):
            value = uuid.UUID(value)
        values[key] = value
    await _upsert(session, model, record.id, tenant_id, values)


async def _upsert(session: AsyncSession, model: Model, row_id: str, tenant_id: str, values: dict[str, Any]) -> None:
    key = uuid.UUID(row_id)
    if await session.get(model, key) is None:
        session.add(model(id=key, tenant_id=tenant_id, **values))
        await session.flush()
    else:
        await _update(session, model, row_id, values)


async def _update(session: AsyncSession, model: Model, row_id: str, values: dict[str, Any]) -> None:
    await session.execute(update(model).where(model.id == uuid.UUID(row_id)).values(**values))
