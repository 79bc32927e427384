"""The claim-stage history of one chart for its evidence packet: scrubs, claims, denials, appeals."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.claims.tables import AppealRow, ClaimRow, DenialRow, ScrubRun
from models.encounters.tables import AuditEvent
from models.evidence.packet import (
    AppealEntry,
    ClaimEntry,
    ClaimHistory,
    DenialEntry,
    ScrubEditEntry,
)


async def claim_history(session: AsyncSession, tenant_id: str, encounter_id: uuid.UUID) -> ClaimHistory | None:
    def scoped(model: type[ScrubRun] | type[ClaimRow] | type[DenialRow] | type[AppealRow]):  # type: ignore[no-untyped-def]
        return select(model).where(model.tenant_id == tenant_id, model.encounter_id == encounter_id)

    scrubs = (await session.scalars(scoped(ScrubRun).order_by(ScrubRun.run_no))).all()
    claims = (await session.scalars(scoped(ClaimRow).order_by(ClaimRow.created_at))).all()
    denials = (await session.scalars(scoped(DenialRow).order_by(DenialRow.created_at))).all()
    appeals = (await session.scalars(scoped(AppealRow).order_by(AppealRow.filed_at))).all()
    if not (scrubs or claims or denials or appeals):
        return None
    coders = dict(
        (
            await session.execute(
                select(AuditEvent.seq, AuditEvent.actor).where(
                    AuditEvent.encounter_id == encounter_id, AuditEvent.action == "submit_coding"
                )
            )
        ).all()
    )
    submitter = coders[max(coders)] if coders else None
    entries: list[ScrubEditEntry] = []
    for run in scrubs:
        acks = {(a["rule"], a["line_index"]): a for a in run.acknowledgments}
        for edit in run.edits:
            ack = acks.get((edit["rule"], edit["line_index"]))
            resolution = "acknowledged" if ack else ("recoded" if edit["severity"] == "hard" else None)
            entries.append(
                ScrubEditEntry(run.run_no, edit["rule"], edit["message"], run.created_at, edit["severity"], edit["code"],
                               resolution, ack["by"] if ack else None)
            )  # fmt: skip
    return ClaimHistory(
        scrubs=entries,
        claims=[
            ClaimEntry(str(c.id), c.control_number, c.status, c.submitted_at, submitter, c.total_charge_cents, c.paid_cents,
                       "accepted" if c.filed else None, c.rejection)
            for c in claims
        ],
        denials=[
            DenialEntry(str(d.id), str(d.claim_id), d.group_code, d.carc, d.category, d.notice_date, list(d.rarcs),
                        d.line_index, d.amount_cents, d.appeal_deadline, d.status)
            for d in denials
        ],
        appeals=[
            AppealEntry(str(a.id), str(a.denial_id), a.level, a.filed_at, a.filed_by, a.deadline, a.status, a.decision,
                        a.decided_at, a.recovered_cents)
            for a in appeals
        ],
    )
