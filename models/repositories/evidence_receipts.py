"""Keyed receipts of rows written outside a projection (documents, scrub runs, claims, payments).

Such a row is attested by the workflow's next projection, a while after it was written. Without a
receipt that projection would digest whatever the row holds by then, so a change made with SQL in
between would be attested as legitimate. The activity therefore stores, in its own transaction,
the row's digest as written, MACed with the chain key the database does not hold; the sealing
transaction attests the latest receipt instead of re-reading the row. A receipt someone forged
or altered does not verify and is attested as such, so `verify` reports the row as changed.

Rows the sealing transaction wrote itself are read in it (PostgreSQL's `xmin` names the writing
transaction) and receipted afresh, so the latest receipt is always the row's latest legitimate
value; a row neither written here nor receipted keeps the digest the previous event attested, and
one with no receipt at all (deleted with the table's trigger off) is attested as UNRECEIPTED.
"""

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, Select, bindparam, literal, literal_column, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from models.claims.tables import ClaimRow, PaymentRow, ScrubRun
from models.encounters.tables import Document, EvidenceReceipt
from models.evidence.chain import GENESIS, Keyring
from models.repositories.evidence_facts import projected_facts, row_digest

FORGED = "receipt-does-not-verify"
UNRECEIPTED = "written-outside-a-projection-without-a-receipt"
# Sections whose rows are written outside a projection (by activities, or by the 835 intake and
# the remittance-exceptions queue for payments), and their tables.
RECEIPTED: Mapping[str, type[Any]] = {"documents": Document, "scrubs": ScrubRun, "claims": ClaimRow, "payments": PaymentRow}


def _fields(tenant_id: str, encounter_id: str, section: str, row_key: str, value: str, at: datetime, key_id: str) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id, "encounter_id": encounter_id, "section": section, "row_key": row_key, "digest": value,
        "written_at": at.astimezone(UTC).isoformat(timespec="microseconds"), "key_id": key_id,
    }  # fmt: skip


def _add(session: AsyncSession, keys: Keyring, tenant_id: str, encounter_id: uuid.UUID, section: str, row_key: str, value: str) -> None:
    at = datetime.now(UTC)
    mac = keys.seal(GENESIS, _fields(tenant_id, str(encounter_id), section, row_key, value, at, keys.current))
    receipt = EvidenceReceipt(
        tenant_id=tenant_id, encounter_id=encounter_id, section=section, row_key=row_key, digest=value,
        written_at=at, key_id=keys.current, mac=mac,
    )  # fmt: skip
    session.add(receipt)


async def _encounter_of(session: AsyncSession, row: Any) -> uuid.UUID | None:
    """A payment belongs to its claim's encounter once matched; unmatched, no packet shows it."""
    if isinstance(row, PaymentRow):
        if row.claim_id is None:
            return None
        return await session.scalar(select(ClaimRow.encounter_id).where(ClaimRow.id == row.claim_id))
    encounter_id: uuid.UUID = row.encounter_id
    return encounter_id


async def record_receipts(session: AsyncSession, keys: Keyring | None, section: str, rows: Iterable[Any]) -> None:
    """Receipt each row (flushed first, so server defaults are in it) in the writer's transaction.
    A payment no claim matches gets none: it is receipted when it is linked to a claim."""
    if keys is None:
        return
    await session.flush()
    for row in rows:
        await session.refresh(row)
        encounter_id = await _encounter_of(session, row)
        if encounter_id is not None:
            _add(session, keys, row.tenant_id, encounter_id, section, str(row.id), row_digest(section, row))


async def _latest(session: AsyncSession, encounter_id: uuid.UUID, keys: Keyring) -> dict[tuple[str, str], str]:
    """(section, row id) -> the digest its latest receipt attests (FORGED when the MAC fails)."""
    found: dict[tuple[str, str], str] = {}
    for r in (await session.scalars(_RECEIPTS, {"encounter_id": encounter_id})).all():
        fields = _fields(r.tenant_id, str(r.encounter_id), r.section, r.row_key, r.digest, r.written_at, r.key_id)
        found[(r.section, r.row_key)] = r.digest if keys.check(GENESIS, fields, r.mac) is None else FORGED
    return found


def _present(section: str) -> Select[Any]:
    """(section, row id, whether this transaction wrote the row's current version): PostgreSQL's
    `xmin` names the transaction that wrote a row version (bound: `encounter_id`)."""
    model = RECEIPTED[section]
    mine = literal_column(f"({model.__tablename__}.xmin::text::bigint = txid_current() % 4294967296)", Boolean)
    stmt = select(literal(section).label("section"), model.id.label("id"), mine.label("mine"))
    if model is PaymentRow:  # a payment's encounter is its claim's
        return stmt.join(ClaimRow, ClaimRow.id == PaymentRow.claim_id).where(ClaimRow.encounter_id == bindparam("encounter_id"))
    return stmt.where(model.encounter_id == bindparam("encounter_id"))


# Built once: every seal runs them, and a statement built per call pays its construction and
# its cache key each time.
_PRESENT = union_all(*(_present(section) for section in RECEIPTED))
_RECEIPTS = select(EvidenceReceipt).where(EvidenceReceipt.encounter_id == bindparam("encounter_id")).order_by(EvidenceReceipt.id)


async def _receipted_rows(session: AsyncSession, encounter_id: uuid.UUID) -> dict[tuple[str, str], bool]:
    """Every row of the receipted sections, one query; True for rows this transaction wrote."""
    rows = await session.execute(_PRESENT, {"encounter_id": encounter_id})
    return {(section, str(row_id)): bool(mine) for section, row_id, mine in rows.all()}


async def _digests_here(session: AsyncSession, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The digests of the rows this transaction wrote, read in it."""
    by_section: dict[str, list[uuid.UUID]] = {}
    for section, key in keys:
        by_section.setdefault(section, []).append(uuid.UUID(key))
    out: dict[tuple[str, str], str] = {}
    for section, ids in by_section.items():
        model = RECEIPTED[section]
        found = await session.scalars(select(model).where(model.id.in_(ids)).execution_options(populate_existing=True))
        out |= {(section, str(r.id)): row_digest(section, r) for r in found.all()}
    return out


async def sealed_facts(
    session: AsyncSession,
    keys: Keyring,
    tenant_id: str,
    encounter_id: uuid.UUID,
    previous: Mapping[str, Mapping[str, str]] | None,
) -> dict[str, dict[str, str]]:
    """The facts a seal records. A row of a receipted section is attested as read now only if this
    transaction wrote it (and is receipted afresh); otherwise by its latest receipt, or as the
    previous event attested it; a row with neither (its receipt deleted) is attested as
    UNRECEIPTED, which no stored row matches. Rows not written here are therefore never read in
    full (a document's text is not re-hashed by every event of its chart)."""
    facts = await projected_facts(session, encounter_id, sealing=True)
    present = await _receipted_rows(session, encounter_id)
    current = await _digests_here(session, [k for k, mine in present.items() if mine])
    receipts = await _latest(session, encounter_id, keys)
    out: dict[str, dict[str, str]] = {section: {} for section in RECEIPTED}
    for (section, key), mine in present.items():
        receipt = receipts.get((section, key))
        if mine:
            value = current[(section, key)]
            if receipt != value:
                _add(session, keys, tenant_id, encounter_id, section, key, value)
        elif receipt is not None:
            value = receipt
        elif previous is not None and key in previous.get(section, {}):
            value = previous[section][key]
        else:
            value = UNRECEIPTED
        out[section][key] = value
    return {**facts, **out}
