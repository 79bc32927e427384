"""SQL of the payer-answer intake (277CA, 835): stored files, payments, claims by control number,
and the remittance exceptions queue. Reads are tenant-pinned by their callers' arguments: these
files belong to no principal, the tenant is the file's."""

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.claims.remittance_tables import RemittanceException
from models.claims.tables import ClaimRow, InboundFile, PaymentRow
from models.encounters.tables import Encounter


async def stored_file(session: AsyncSession, tenant_id: str, kind: str, sha256: str) -> InboundFile | None:
    return await session.scalar(select(InboundFile).where(InboundFile.tenant_id == tenant_id, InboundFile.kind == kind, InboundFile.sha256 == sha256))


async def file_body(session: AsyncSession, file_id: uuid.UUID) -> str | None:
    return await session.scalar(select(InboundFile.body).where(InboundFile.id == file_id))


async def payments_of_file(session: AsyncSession, file_id: uuid.UUID) -> Sequence[PaymentRow]:
    return (await session.scalars(select(PaymentRow).where(PaymentRow.file_id == file_id))).all()


async def claims_numbered(session: AsyncSession, tenant_id: str, numbers: Iterable[str]) -> Sequence[ClaimRow]:
    return (await session.scalars(select(ClaimRow).where(ClaimRow.tenant_id == tenant_id, ClaimRow.control_number.in_(list(numbers))))).all()


async def tenant_claim(session: AsyncSession, tenant_id: str, claim_id: uuid.UUID) -> ClaimRow | None:
    return await session.scalar(select(ClaimRow).where(ClaimRow.id == claim_id, ClaimRow.tenant_id == tenant_id))


async def duplicate_payment(session: AsyncSession, payment: PaymentRow) -> PaymentRow | None:
    """Another file already carried this exact claim payment (same payer claim number, status, amount)."""
    return await session.scalar(
        select(PaymentRow).where(
            PaymentRow.tenant_id == payment.tenant_id, PaymentRow.claim_id == payment.claim_id, PaymentRow.file_id != payment.file_id,
            PaymentRow.control_number == payment.control_number, PaymentRow.payer_claim_number == payment.payer_claim_number,
            PaymentRow.status_code == payment.status_code, PaymentRow.paid_cents == payment.paid_cents,
        ).limit(1)
    )  # fmt: skip


async def encounter_version(session: AsyncSession, encounter_id: uuid.UUID) -> int | None:
    return await session.scalar(select(Encounter.version).where(Encounter.id == encounter_id))


async def claim_encounter_version(session: AsyncSession, claim_id: uuid.UUID | None) -> int | None:
    return await session.scalar(select(Encounter.version).join(ClaimRow, ClaimRow.encounter_id == Encounter.id).where(ClaimRow.id == claim_id))


async def add_exception(session: AsyncSession, values: dict[str, Any]) -> None:
    """Once per file, position and reason: a second insert of the same exception does nothing."""
    await session.execute(insert(RemittanceException).values(**values).on_conflict_do_nothing())


async def add_exceptions(session: AsyncSession, values: list[dict[str, Any]]) -> None:
    # executemany (one statement, a list of rows), not one multi-row VALUES: its text is the same
    # for every batch, so psycopg converts it once instead of re-parsing 1,300 placeholders each time.
    await session.execute(insert(RemittanceException).on_conflict_do_nothing(), values)


async def exceptions(session: AsyncSession, tenant_id: str, status: str | None, limit: int) -> Sequence[RemittanceException]:
    query = select(RemittanceException).where(RemittanceException.tenant_id == tenant_id)
    if status:
        query = query.where(RemittanceException.status == status)
    return (await session.scalars(query.order_by(RemittanceException.created_at.desc()).limit(limit))).all()


async def exception_locked(session: AsyncSession, tenant_id: str, exception_id: uuid.UUID) -> RemittanceException | None:
    return await session.scalar(
        select(RemittanceException).where(RemittanceException.id == exception_id, RemittanceException.tenant_id == tenant_id).with_for_update()
    )


async def retry_candidates(session: AsyncSession, reasons: Iterable[str], scan: int) -> list[tuple[uuid.UUID, str, dict[str, Any], int]]:
    """Open exceptions of these reasons with their claim's encounter version, oldest first."""
    found = await session.execute(
        select(RemittanceException.id, RemittanceException.reason, RemittanceException.facts, Encounter.version)
        .join(ClaimRow, ClaimRow.id == RemittanceException.claim_id)
        .join(Encounter, Encounter.id == ClaimRow.encounter_id)
        .where(RemittanceException.status == "open", RemittanceException.reason.in_(list(reasons)))
        .order_by(RemittanceException.created_at)
        .limit(scan)
    )
    return [(i, reason, facts, version) for i, reason, facts, version in found.all()]


async def claim_owners(session: AsyncSession, numbers: Iterable[str]) -> dict[str, str]:
    """Which tenant holds the claim of each control number (any tenant: routing a clearinghouse file)."""
    found = await session.execute(select(ClaimRow.control_number, ClaimRow.tenant_id).where(ClaimRow.control_number.in_(list(numbers))))
    return {str(n): str(t) for n, t in found.all()}
