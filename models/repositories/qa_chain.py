"""A chart's QA chain: every QA act that touches the chart (sampled, re-coded by an auditor,
findings recorded, agreed, disputed, reconciled, finalized or lapsed, audit closed, coaching
assigned or acknowledged for one of its findings) is an event
sealed in the same transaction as the write, with digests of the chart's QA rows as they are then.

The workflow owns the sequence numbers of the encounter's own chain, so QA acts (taken by the API,
outside the workflow) chain separately, keyed with the same chain keys and recorded in the same
per-tenant ledger (entries with chain "qa"). `verify` checks both chains of a chart: a stored
finding, review, sampled chart, audit or pre-bill hold changed behind the application's back no
longer matches the QA chain's head, and the break names the chart and the event.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.encounters.tables import QaChainEvent
from models.evidence.chain import GENESIS, BrokenEvent, Keyring, hashed_fields, verify_chain
from models.qa.tables import QaAudit, QaAuditChart, QaAuditHold, QaEducation, QaFinding, QaReview
from models.repositories.audit_seal import (
    append_ledger,
    entry_fields,
    ledger_heads,
    lock_ledger_head,
)
from models.repositories.evidence_facts import _row, digest, facts_problem

CHAIN = "qa"
# The sampling frame and the sample list are the audit's, not this chart's: large, and covered by
# the audit's frame fingerprint, which is attested.
_AUDIT_SKIP = {"tenant_id", "frame", "encounter_ids", "per_stratum"}
# Every other column of a QA row is a fact (the claim tables' transport bookkeeping skip list does
# not apply: a coaching row's `acknowledged_at` is the coder's act).
_QA_SKIP = {"tenant_id"}


@dataclass(frozen=True)
class Actor:
    user_id: str
    role: str
    vendor_id: str | None


async def qa_facts(session: AsyncSession, encounter_id: uuid.UUID) -> dict[str, dict[str, str]]:
    """Section -> row id -> SHA-256 of the chart's QA rows (this transaction's view)."""
    charts = list(
        (await session.scalars(select(QaAuditChart).where(QaAuditChart.encounter_id == encounter_id).order_by(QaAuditChart.id))).all()
    )
    chart_ids = [c.id for c in charts]
    audits = (
        list((await session.scalars(select(QaAudit).where(QaAudit.id.in_({c.audit_id for c in charts})).order_by(QaAudit.id))).all())
        if charts
        else []
    )
    reviews = (
        list((await session.scalars(select(QaReview).where(QaReview.audit_chart_id.in_(chart_ids)).order_by(QaReview.id))).all())
        if charts
        else []
    )
    findings = (await session.scalars(select(QaFinding).where(QaFinding.encounter_id == encounter_id).order_by(QaFinding.id))).all()
    holds = (await session.scalars(select(QaAuditHold).where(QaAuditHold.encounter_id == encounter_id).order_by(QaAuditHold.id))).all()

    coaching = await _coaching_of(session, findings, {a.id: a.cycle for a in audits})

    def rows(items: Sequence[Any], skip: set[str] = _QA_SKIP) -> dict[str, str]:
        return {str(r.id): digest(_row(r, skip)) for r in items}

    return {
        "qa_audits": rows(audits, _AUDIT_SKIP),
        "qa_charts": rows(charts),
        "qa_reviews": rows(reviews),
        "qa_findings": rows(findings),
        "qa_holds": rows(holds),
        "qa_coaching": rows(coaching),
    }


def coaches(e: QaEducation, f: QaFinding, cycles: Mapping[uuid.UUID, int]) -> bool:
    """Coaching is about a finding when it names the finding's coder and category, and its audit
    (or, without one, the audit's cycle)."""
    if (e.tenant_id, e.coder_id, e.category) != (f.tenant_id, f.coder_id, f.category):
        return False
    return e.audit_id == f.audit_id if e.audit_id is not None else cycles.get(f.audit_id) == e.cycle


async def _coaching_of(session: AsyncSession, findings: Sequence[QaFinding], cycles: Mapping[uuid.UUID, int]) -> list[QaEducation]:
    if not findings:
        return []
    stmt = select(QaEducation).where(QaEducation.coder_id.in_({f.coder_id for f in findings})).order_by(QaEducation.id)
    return [e for e in (await session.scalars(stmt)).all() if any(coaches(e, f, cycles) for f in findings)]


async def coached_charts(session: AsyncSession, e: QaEducation) -> list[uuid.UUID]:
    """The charts whose findings a coaching assignment is about."""
    stmt = (
        select(QaFinding, QaAudit.cycle)
        .join(QaAudit, QaAudit.id == QaFinding.audit_id)
        .where(QaFinding.tenant_id == e.tenant_id, QaFinding.coder_id == e.coder_id, QaFinding.category == e.category)
    )
    found = [(row[0], row[1]) for row in (await session.execute(stmt)).all()]
    return sorted({f.encounter_id for f, cycle in found if coaches(e, f, {f.audit_id: cycle})}, key=str)


async def seal_qa_event(
    session: AsyncSession,
    keys: Keyring,
    *,
    tenant_id: str,
    encounter_id: uuid.UUID,
    actor: Actor,
    action: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    reason: str | None = None,
) -> QaChainEvent:
    """Append one event to the chart's QA chain, its facts read after this transaction's writes."""
    # The tenant's ledger head row (append_ledger locks it again, re-entrantly): one lock, taken
    # first, so closing an audit (many charts in one transaction) cannot deadlock with a single QA act.
    await lock_ledger_head(session, tenant_id)
    await session.flush()
    last = (
        await session.execute(
            select(QaChainEvent.seq, QaChainEvent.hash)
            .where(QaChainEvent.encounter_id == encounter_id)
            .order_by(QaChainEvent.seq.desc())
            .limit(1)
        )
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    facts = await qa_facts(session, encounter_id)
    at = datetime.now(UTC)
    common: dict[str, Any] = {
        "seq": seq, "actor": actor.user_id, "role": actor.role, "vendor": actor.vendor_id, "action": action,
        "before": dict(before), "after": dict(after), "reason": reason, "occurred_at": at,
    }  # fmt: skip
    fields = hashed_fields(encounter_id=str(encounter_id), **common, facts=facts, key_id=keys.current, chain=CHAIN)
    sealed = keys.seal(prev, fields)
    event = QaChainEvent(
        tenant_id=tenant_id, encounter_id=encounter_id, prev_hash=prev, hash=sealed, facts=facts, key_id=keys.current, **common
    )
    session.add(event)
    await append_ledger(session, tenant_id, encounter_id, seq, sealed, at, keys, chain=CHAIN)
    return event


# ---- verification ------------------------------------------------------------------------


def _fields(ev: Row[Any]) -> dict[str, Any]:
    return hashed_fields(
        encounter_id=str(ev.encounter_id), seq=ev.seq, actor=ev.actor, role=ev.role, vendor=ev.vendor, action=ev.action,
        before=ev.before, after=ev.after, reason=ev.reason, occurred_at=ev.occurred_at, facts=ev.facts, key_id=ev.key_id,
        chain=CHAIN,
    )  # fmt: skip


def _brk(ev: Row[Any] | None, tenant: str, encounter: str, seq: int, problem: str) -> BrokenEvent:
    return BrokenEvent(tenant, encounter, seq, f"QA chain event {seq}: {problem}", ev.action if ev else None, ev.occurred_at if ev else None)


async def verify_qa(
    session: AsyncSession, tenant_id: str | None, encounter_id: uuid.UUID | None, keys: Keyring
) -> tuple[int, int, list[BrokenEvent]]:
    """(charts, events, breaks) of the QA chains in scope: each links and hashes under `keys`, ends
    where the tenant ledger says, and its head's facts match the QA rows stored now; a chart the
    ledger records a QA chain for must still have one."""
    stmt = select(QaChainEvent.__table__).order_by(QaChainEvent.encounter_id, QaChainEvent.seq)
    if tenant_id is not None:
        stmt = stmt.where(QaChainEvent.tenant_id == tenant_id)
    if encounter_id is not None:
        stmt = stmt.where(QaChainEvent.encounter_id == encounter_id)
    chains: dict[str, list[Row[Any]]] = {}
    for row in (await session.execute(stmt)).all():
        chains.setdefault(str(row.encounter_id), []).append(row)
    breaks: list[BrokenEvent] = []
    events = 0
    by_tenant: dict[str, list[str]] = {}
    for encounter, chain in chains.items():
        events += len(chain)
        tenant = chain[0].tenant_id
        by_tenant.setdefault(tenant, []).append(encounter)
        found = verify_chain(((_fields(ev), ev.prev_hash, ev.hash) for ev in chain), keys)
        if found is not None:
            ev = next((e for e in chain if e.seq == found.seq), None)
            breaks.append(_brk(ev, tenant, encounter, found.seq, found.problem))
    broken = {b.encounter_id for b in breaks}
    tenants = set(by_tenant) | ({tenant_id} if tenant_id else set())
    for tenant in sorted(tenants):
        recorded = await ledger_heads(session, tenant, encounter_id, CHAIN)
        for encounter in by_tenant.get(tenant, []):
            if encounter not in recorded and encounter not in broken:
                last = chains[encounter][-1]
                breaks.append(_brk(last, tenant, encounter, last.seq, "the tenant ledger records no QA chain for this chart"))
        for encounter, entry in recorded.items():
            chain = chains.get(encounter, [])
            head = chain[-1] if chain else None
            if encounter in broken:
                continue
            if keys.check(entry.prev_hash, entry_fields(entry), entry.hash) is not None:
                breaks.append(_brk(head, tenant, encounter, entry.event_count, f"ledger entry {entry.seq} for this chart does not verify"))
            elif head is None:
                breaks.append(BrokenEvent(tenant, encounter, entry.event_count,
                                      f"the ledger records {entry.event_count} QA events for this chart; none are stored",
                                      None, entry.recorded_at))  # fmt: skip
            elif entry.event_count != head.seq or entry.head_hash != head.hash:
                breaks.append(_brk(head, tenant, encounter, head.seq,
                                   f"the ledger records {entry.event_count} QA events, the table holds {head.seq}: "
                                   "events were removed or replaced"))  # fmt: skip
            else:
                problem = facts_problem(head.facts, await qa_facts(session, uuid.UUID(encounter)))
                if problem:
                    breaks.append(_brk(head, tenant, encounter, head.seq, problem))
    return len(chains), events, breaks
