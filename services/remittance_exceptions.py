"""The remittance-exceptions work queue: record, list, resolve, and retry automatically.

An exception is retried by reading its claim again from the stored file (``inbound_files``), so
nothing needs to be kept twice. Retries run from the clearinghouse poller's loop, and only when
the claim's encounter has changed since the last attempt (its projection version moved) or the
workflow could not be reached: a claim stuck in ``scrubbing`` is not asked again every tick.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from clearchart.keys import chain_keyring
from clearchart.settings import get_settings
from integrations.billing.x277ca import parse_277ca
from integrations.billing.x835 import parse_835
from models.claims.remittance_tables import RemittanceException
from models.claims.tables import ClaimRow, PaymentRow
from models.evidence.chain import Keyring
from models.repositories import remittance as repo
from models.repositories.carc_table import current_carc_table
from models.repositories.evidence_receipts import record_receipts
from services.payer_documents import Applied, apply_ack, apply_payment

log = structlog.get_logger(__name__)

RETRYABLE = ("not_applicable", "unreachable")
SCAN = 5000  # open exceptions looked at per sweep; only those whose chart changed are retried


class ResolveRefused(Exception):
    """A resolution that cannot be done; `kind` is not_found, conflict or invalid."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind, self.detail = kind, detail


async def record(
    session: AsyncSession, *, tenant_id: str, file_id: uuid.UUID, kind: str, position: int, control_number: str, reason: str,
    detail: str, claim: ClaimRow | None = None, payment_id: uuid.UUID | None = None, facts: dict[str, Any] | None = None,
) -> None:
    """Queue one exception (once per file, position and reason) and commit."""
    version = await repo.encounter_version(session, claim.encounter_id) if claim else None
    values = {
        "id": uuid.uuid4(), "tenant_id": tenant_id, "file_id": file_id, "kind": kind, "position": position,
        "control_number": control_number[:38], "claim_id": claim.id if claim else None, "payment_id": payment_id,
        "reason": reason, "detail": detail, "facts": {**(facts or {}), "version": version}, "status": "open", "attempts": 0,
    }  # fmt: skip
    await repo.add_exception(session, values)
    await session.commit()


async def record_unmatched(session: AsyncSession, *, tenant_id: str, file_id: uuid.UUID, kind: str, rows: list[dict[str, Any]]) -> None:
    """Queue many exceptions of payments no claim matches in one executemany (no commit): a large
    file's unmatched payments are written in batches, not one transaction each. Each row has
    position, payment_id, control_number, reason, detail and facts; idempotent as `record`."""
    if not rows:
        return
    values = [
        {
            "id": uuid.uuid4(), "tenant_id": tenant_id, "file_id": file_id, "kind": kind, "position": r["position"],
            "control_number": r["control_number"][:38], "claim_id": None, "payment_id": r["payment_id"], "reason": r["reason"],
            "detail": r["detail"], "facts": {**r["facts"], "version": None}, "status": "open", "attempts": 0,
        }
        for r in rows
    ]
    await repo.add_exceptions(session, values)


def view(row: RemittanceException) -> dict[str, Any]:
    return {
        "id": str(row.id), "file_id": str(row.file_id), "kind": row.kind, "position": row.position,
        "control_number": row.control_number, "claim_id": str(row.claim_id) if row.claim_id else None,
        "payment_id": str(row.payment_id) if row.payment_id else None, "reason": row.reason, "detail": row.detail,
        "facts": {k: v for k, v in row.facts.items() if k not in ("version", "retry_after")}, "status": row.status, "attempts": row.attempts,
        "resolution": row.resolution, "resolved_by": row.resolved_by,
        "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None, "created_at": row.created_at.isoformat(),
    }  # fmt: skip


async def listing(session: AsyncSession, tenant_id: str, status: str | None, limit: int) -> list[dict[str, Any]]:
    return [view(r) for r in await repo.exceptions(session, tenant_id, status, limit)]


async def _retry(session: AsyncSession, temporal: Client, task_queue: str, row: RemittanceException) -> Applied:
    body = await repo.file_body(session, row.file_id)
    claim = await session.get(ClaimRow, row.claim_id) if row.claim_id else None
    if body is None or claim is None:
        return Applied("exception", reason=row.reason, detail="no claim is linked to this exception")
    if row.kind == "277CA":
        return await apply_ack(temporal, task_queue, row.tenant_id, str(row.file_id), row.position, claim, parse_277ca(body)[row.position])
    remittance, cp = [(r, cp) for r in parse_835(body) for cp in r.claims][row.position]
    payment = await session.get(PaymentRow, row.payment_id) if row.payment_id else None
    if payment is None:
        return Applied("exception", reason=row.reason, detail="the payment of this exception is missing")
    applied, _ = await apply_payment(temporal, task_queue, claim, payment, remittance, cp, await current_carc_table(session))
    return applied


async def _settle(session: AsyncSession, row: RemittanceException, applied: Applied, by: str, how: str) -> Applied:
    if applied.outcome == "exception":
        row.attempts += 1
        row.detail = applied.detail or row.detail
        version = await repo.claim_encounter_version(session, row.claim_id)
        backoff = min(10 * 2**row.attempts, 3600)  # an unreachable workflow is not asked every tick
        row.facts = {**row.facts, "version": version, "retry_after": (datetime.now(UTC) + timedelta(seconds=backoff)).isoformat()}
    else:
        row.status, row.resolution, row.resolved_by, row.resolved_at = "applied", f"{how}: {applied.outcome}", by, datetime.now(UTC)
    await session.commit()
    return applied


async def resolve(
    session: AsyncSession, temporal: Client, task_queue: str, *, tenant_id: str, exception_id: uuid.UUID, action: str, by: str,
    claim_id: uuid.UUID | None = None, reason: str = "", keys: Keyring | None = None,
) -> dict[str, Any]:
    """apply (try again now), link (to one of the tenant's claims, then apply) or dismiss (with a reason).
    A linked payment joins its claim's encounter, so it is receipted then (models.repositories.evidence_receipts)."""
    row = await repo.exception_locked(session, tenant_id, exception_id)
    if row is None:
        raise ResolveRefused("not_found", f"remittance exception {exception_id} does not exist")
    if row.status != "open":
        raise ResolveRefused("conflict", f"this exception is already {row.status} ({row.resolution})")
    if action == "dismiss":
        if not reason.strip():
            raise ResolveRefused("invalid", "dismissing needs a reason a reviewer can read later")
        row.status, row.resolution, row.resolved_by, row.resolved_at = "dismissed", reason.strip(), by, datetime.now(UTC)
        await session.commit()
        return view(row)
    if row.reason == "balance_mismatch":
        raise ResolveRefused("conflict", "a balance mismatch is a finding about the whole payment; dismiss it with the reconciliation note")
    if action == "link":
        claim = await repo.tenant_claim(session, tenant_id, claim_id) if claim_id else None
        if claim is None:
            raise ResolveRefused("invalid", f"claim {claim_id} does not exist for this tenant; give the claim_id to link")
        row.claim_id = claim.id
        if row.payment_id:
            payment = await session.get(PaymentRow, row.payment_id)
            if payment is not None:
                payment.claim_id = claim.id
                await record_receipts(session, keys or chain_keyring(get_settings()), "payments", [payment])
        await session.flush()
    elif action != "apply":
        raise ResolveRefused("invalid", f"unknown action {action!r}; use apply, link or dismiss")
    applied = await _settle(session, row, await _retry(session, temporal, task_queue, row), by, action)
    if applied.outcome == "exception":
        raise ResolveRefused("conflict", f"still cannot be applied: {applied.detail}")
    return view(row)


async def retry_open(sessions: async_sessionmaker[AsyncSession], temporal: Client, task_queue: str, limit: int = 20) -> int:
    """Apply every open exception whose claim may now take it; returns how many were applied."""
    async with sessions() as session:
        found = await repo.retry_candidates(session, RETRYABLE, SCAN)
        now = datetime.now(UTC)
        due = [
            i for i, reason, facts, version in found
            if (reason == "unreachable" or facts.get("version") != version)
            and (reason != "unreachable" or datetime.fromisoformat(facts.get("retry_after") or now.isoformat()) <= now)
        ][:limit]  # fmt: skip
    applied = 0
    for exception_id in due:
        async with sessions() as session:
            row = await session.get(RemittanceException, exception_id, with_for_update=True)
            if row is None or row.status != "open":
                continue
            result = await _settle(session, row, await _retry(session, temporal, task_queue, row), "system", "applied automatically")
            applied += result.outcome != "exception"
            log.info("remittance_exception.retried", exception_id=str(exception_id), outcome=result.outcome)
    return applied
