"""The facts an evidence packet shows for one encounter, read back as one digest per row.

Each projected audit event records these digests (hashed with the event), so a stored value
changed behind the application's back (a code, a claim line, a payment, an excerpt's text)
no longer matches what the chain's head recorded, and `verify` names the encounter, the event
and the section. Rows written after the head event (a scrub run or a claim that an activity
stored before the workflow's next projection, a payment received before its update) are not
attested yet and are not judged; every attested row must still be there, unchanged.

What a seal attests is the row as it was written, never as it reads later: rows written in the
sealing transaction itself are read in it; a row an activity wrote earlier is attested by the keyed
receipt the activity stored with it (models.repositories.evidence_receipts); a text blob by the hash
the workflow carries (its content address), not by re-hashing what the table holds now.
"""

import functools
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.claims.tables import AppealRow, ClaimRow, DenialRow, PaymentRow, ScrubRun
from models.encounters.tables import Document, Encounter, HoldRow, QueryRow, TextBlob
from models.evidence.chain import canonical_json

# The projection's own columns; demographics and payer come from the EHR and change with it.
_ENCOUNTER = ("external_id", "status", "codes", "holds", "coded_at")
# Columns the packet never shows and that are bookkeeping of the transport, not facts.
_SKIP = {"tenant_id", "x12", "ack_999", "submission_id", "acknowledged_at", "filed", "text",
         "batch_id", "transaction_control", "syntax_ack", "queued_at"}  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _row(obj: Any, skip: set[str] = _SKIP) -> dict[str, Any]:
    return {c.key: _plain(getattr(obj, c.key)) for c in obj.__table__.columns if c.key not in skip}


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def text_sha256(text: str | None) -> str | None:
    return hashlib.sha256(text.encode()).hexdigest() if text is not None else None


def row_digest(section: str, obj: Any) -> str:
    """The digest of one row of a section, as a seal records it and verify recomputes it."""
    extra = {"text_sha256": text_sha256(obj.text)} if section == "documents" else {}
    return digest({**_row(obj), **extra})


def _blob_hashes(codes: Mapping[str, Any] | None, queries: Sequence[QueryRow], appeals: Sequence[AppealRow]) -> set[str]:
    found: set[str] = set()
    for kind in ("diagnoses", "procedures"):
        for line in (codes or {}).get(kind) or []:
            found |= {str(ev.get("excerpt_sha256")) for ev in line.get("evidence", []) if ev.get("excerpt_sha256")}
    for q in queries:
        found |= {q.question_sha256, *map(str, q.option_sha256s or [])}
        found |= {str(i.get("excerpt_sha256")) for i in q.indicators or [] if i.get("excerpt_sha256")}
        if q.free_text_sha256:
            found.add(q.free_text_sha256)
    found |= {a.reason_sha256 for a in appeals if a.reason_sha256}
    return found


async def _all(session: AsyncSession, stmt: Select[Any]) -> list[Any]:
    return list((await session.scalars(stmt)).all())


@functools.cache
def _of_encounter(model: Any) -> Select[Any]:
    """One statement per table, built once: every seal and verify runs it, and a statement built
    anew per call costs its construction and cache key each time (bound: `encounter_id`)."""
    return select(model).where(model.encounter_id == bindparam("encounter_id")).order_by(model.id)


async def _all_of(session: AsyncSession, model: Any, encounter_id: uuid.UUID) -> list[Any]:
    return list((await session.scalars(_of_encounter(model), {"encounter_id": encounter_id})).all())


def _rows(section: str, items: Sequence[Any]) -> dict[str, str]:
    return {str(r.id): row_digest(section, r) for r in items}


async def _texts(
    session: AsyncSession, e: Encounter, queries: Sequence[QueryRow], appeals: Sequence[AppealRow], *, sealing: bool
) -> dict[str, str]:
    hashes = sorted(_blob_hashes(e.codes, queries, appeals))
    if not hashes:
        return {}
    blobs = await session.execute(
        select(TextBlob.sha256, TextBlob.text).where(TextBlob.tenant_id == e.tenant_id, TextBlob.sha256.in_(hashes))
    )
    # Sealing: a blob's name is the SHA-256 of its text as written.
    texts = {h: h if sealing else hashlib.sha256(t.encode()).hexdigest() for h, t in blobs.all()}
    return {h: texts.get(h, "missing") for h in hashes}


async def projected_facts(session: AsyncSession, encounter_id: uuid.UUID, *, sealing: bool = False) -> dict[str, dict[str, str]]:
    """The sections only a projection writes (the chart row, holds, queries, denials, appeals)
    and the texts they cite; the receipted sections are read by their callers."""
    e = await session.get_one(Encounter, encounter_id, populate_existing=True)
    holds = await _all_of(session, HoldRow, encounter_id)
    queries = await _all_of(session, QueryRow, encounter_id)
    denials = await _all_of(session, DenialRow, encounter_id)
    appeals = await _all_of(session, AppealRow, encounter_id)
    return {
        "encounter": {"row": digest({k: _plain(getattr(e, k)) for k in _ENCOUNTER})},
        "texts": await _texts(session, e, queries, appeals, sealing=sealing),
        "holds": _rows("holds", holds),
        "queries": _rows("queries", queries),
        "denials": _rows("denials", denials),
        "appeals": _rows("appeals", appeals),
    }


async def encounter_facts(session: AsyncSession, encounter_id: uuid.UUID) -> dict[str, dict[str, str]]:
    """Section -> row id -> SHA-256 of the row in canonical form, as stored now (what verify
    compares a chain head with; a seal reads the same sections by `audit_seal.sealed_facts`)."""
    facts = await projected_facts(session, encounter_id)
    documents = await _all_of(session, Document, encounter_id)
    scrubs = await _all_of(session, ScrubRun, encounter_id)
    claims = await _all_of(session, ClaimRow, encounter_id)
    payments = (
        await _all(session, select(PaymentRow).where(PaymentRow.claim_id.in_([c.id for c in claims])).order_by(PaymentRow.id))
        if claims
        else []
    )
    return {
        **facts,
        "documents": _rows("documents", documents),
        "scrubs": _rows("scrubs", scrubs),
        "claims": _rows("claims", claims),
        "payments": _rows("payments", payments),
    }


def facts_problem(recorded: Mapping[str, Mapping[str, str]], current: Mapping[str, Mapping[str, str]]) -> str | None:
    """Which attested rows are gone or changed, or None when every one still holds."""
    changed: list[str] = []
    for section, attested in sorted(recorded.items()):
        now = current.get(section, {})
        gone = sum(1 for k in attested if k not in now)
        altered = sum(1 for k, v in attested.items() if k in now and now[k] != v)
        if gone or altered:
            changed.append(f"{section} ({altered} changed, {gone} removed)")
    if not changed:
        return None
    return "stored " + ", ".join(changed) + " no longer match what this event recorded"
