"""Evidence for one encounter and verification of the hash-chained audit log."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from api.deps import SessionDep, require
from api.errors import NotFound
from api.routes.encounters import load
from api.views import document, event, summary
from models.access import Principal
from models.repositories.audit import verify_events
from models.repositories.encounters import EncounterRepository
from models.tables import TextBlob

router = APIRouter(tags=["audit"])


def _chain_report(result: Any) -> dict[str, Any]:
    brk = result.first_break
    return {
        "verified": brk is None,
        "encounters_checked": result.encounters_checked,
        "events_checked": result.events_checked,
        "first_break": {"encounter_id": brk.encounter_id, "seq": brk.seq, "problem": brk.problem} if brk else None,
        "head": result.head,
    }


@router.get("/v1/encounters/{encounter_id}/evidence")
async def evidence(
    encounter_id: uuid.UUID, session: SessionDep, who: Annotated[Principal, Depends(require("evidence.read"))]
) -> dict[str, Any]:
    """Why this claim was coded this way: documents seen, codes with their excerpts, every event."""
    repo = EncounterRepository(session, who)
    e = await load(repo, encounter_id)
    documents = await repo.documents(e.id)
    codes = e.codes or {"diagnoses": [], "procedures": []}
    hashes = {ev["excerpt_sha256"] for kind in ("diagnoses", "procedures") for c in codes.get(kind, []) for ev in c.get("evidence", [])}
    texts = {
        b.sha256: b.text
        for b in (
            await session.scalars(select(TextBlob).where(TextBlob.tenant_id == who.tenant_id, TextBlob.sha256.in_(hashes)))
        ).all()
    }

    def with_excerpts(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {**c, "evidence": [{**ev, "excerpt": texts.get(ev["excerpt_sha256"])} for ev in c.get("evidence", [])]}
            for c in items
        ]

    result = await verify_events(session, who.tenant_id, e.id)
    return {
        "encounter": summary(e).model_dump(mode="json"),
        "documents": [document(d, with_text=False).model_dump(mode="json") for d in documents],
        "codes": {"diagnoses": with_excerpts(codes.get("diagnoses", [])), "procedures": with_excerpts(codes.get("procedures", []))},
        "events": [event(ev).model_dump(mode="json") for ev in await repo.timeline(e.id)],
        "chain": _chain_report(result),
    }


@router.get("/v1/audit-trail/verify")
async def verify_trail(
    session: SessionDep,
    who: Annotated[Principal, Depends(require("audit.verify"))],
    encounter_id: Annotated[uuid.UUID | None, Query(description="one chart; omit for the whole tenant")] = None,
) -> dict[str, Any]:
    if encounter_id is not None:
        await load(EncounterRepository(session, who), encounter_id)
    result = await verify_events(session, who.tenant_id, encounter_id)
    if encounter_id is not None and result.events_checked == 0:
        raise NotFound(f"encounter {encounter_id} has no audit events")
    return _chain_report(result)
