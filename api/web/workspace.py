"""The coder workspace: claim the next chart, code it beside its documents, query, hold.

Actions call the JSON API's own handlers with the signed-in principal, after the same permission
check its `require(...)` dependency makes, so validation, query compliance, workflow updates and
row scoping cannot drift between the API and the UI.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep, TemporalDep
from api.routes import encounters as encounter_api
from api.routes import queries as query_api
from api.routes import queues as queue_api
from api.schemas.encounters import CodingIn, HoldIn
from api.schemas.queries import IndicatorIn, QueryForm, QueryIn, YesNoPurpose
from api.web import data
from api.web.render import WebRoute, page
from api.web.session import WebError, WebSession, viewer
from integrations.codesets.catalog import default_catalog
from models.holds import DEFAULT_HOLD_POLICY, HOLD_REASONS
from models.queries import ClinicalIndicator, LintIssue, QueryDraft, lint_query
from models.repositories.encounters import EncounterRepository, QueueRepository, visible
from models.tables import Encounter

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Coder = Annotated[WebSession, Depends(viewer("coding.submit"))]


class LintIn(BaseModel):
    """A query draft as typed so far: lenient, because it is checked on every keystroke."""

    model_config = ConfigDict(extra="ignore")
    question: str = ""
    form: QueryForm = "open_ended"
    indicators: list[IndicatorIn] = Field(default_factory=list)
    options: list[str] = Field(default_factory=list)
    yes_no_purpose: YesNoPurpose | None = None
    proposed_diagnosis: str | None = None


async def _chart(db: SessionDep, session: WebSession, encounter_id: str) -> tuple[EncounterRepository, Encounter]:
    repo = EncounterRepository(db, session.principal)
    ident = data.parse_id(encounter_id)
    found = await repo.get(ident) if ident else None
    if found is None:
        raise WebError(404, "this encounter does not exist or is not visible to you")
    return repo, found


@router.get("/ui/work", response_class=HTMLResponse)
async def workspace(
    request: Request, db: SessionDep, session: Annotated[WebSession, Depends(viewer("queues.claim"))], empty: str | None = None
) -> Response:
    who = session.principal
    queues = await QueueRepository(db, who).stats(datetime.now(UTC))
    mine = (
        await db.scalars(
            visible(who).where(Encounter.assignee_user == who.user_id, Encounter.status.in_(("in_coding", "on_hold")))
            .order_by(Encounter.received_at)
        )
    ).all()
    return page(request, "work.html", session, queues=queues, mine=mine, empty=empty)


@router.post("/ui/work/claim")
async def claim(
    db: SessionDep, temporal: TemporalDep, session: Annotated[WebSession, Depends(viewer("queues.claim"))], queue: Annotated[str, Form()]
) -> Response:
    leased = await queue_api.claim_next(queue, db, temporal, session.principal)
    if isinstance(leased, Response):
        return RedirectResponse(f"/ui/work?empty={queue}", status_code=303)
    return RedirectResponse(f"/ui/work/{leased.id}", status_code=303)


@router.get("/ui/work/{encounter_id}", response_class=HTMLResponse)
async def chart_page(request: Request, db: SessionDep, encounter_id: str, session: Coder) -> Response:
    repo, found = await _chart(db, session, encounter_id)
    documents = await repo.documents(found.id)
    reasons = [r for r in HOLD_REASONS if session.principal.role in DEFAULT_HOLD_POLICY.allowed_roles("place", r)]
    return page(
        request, "chart.html", session, chart=found, documents=documents, reasons=reasons,
        workable=found.status == "in_coding" and found.assignee_user == session.principal.user_id,
    )


@router.get("/ui/codes")
async def code_search(_: Coder, q: str = "") -> JSONResponse:
    """ICD-10-CM search with descriptions; header (non-billable) codes are marked as such."""
    hits = default_catalog().icd10cm_search(q.strip(), 15) if len(q.strip()) >= 2 else []
    return JSONResponse([{"code": c, "description": d, "billable": b} for c, d, b in hits])


@router.post("/ui/work/{encounter_id}/coding")
async def submit_coding(encounter_id: str, body: CodingIn, db: SessionDep, temporal: TemporalDep, session: Coder) -> JSONResponse:
    _, found = await _chart(db, session, encounter_id)
    chart = await encounter_api.submit_coding(found.id, body, db, temporal, session.principal)
    return JSONResponse({"status": chart.status, "next": f"/ui/encounters/{chart.id}"})


def _issues(issues: list[LintIssue]) -> list[dict[str, Any]]:
    return [{"rule": i.rule, "field": i.field, "message": i.message} for i in issues]


@router.post("/ui/work/{encounter_id}/query/lint")
async def lint(
    encounter_id: str, body: LintIn, db: SessionDep, session: Annotated[WebSession, Depends(viewer("queries.raise"))]
) -> JSONResponse:
    """The API's compliance rules on a draft; changes nothing, so it can run as the coder types."""
    repo, found = await _chart(db, session, encounter_id)
    documents = {str(d.id): d.text or "" for d in await repo.documents(found.id)}
    draft = QueryDraft(
        body.question, body.form, [ClinicalIndicator(i.document_id, i.excerpt) for i in body.indicators],
        list(body.options), body.yes_no_purpose, body.proposed_diagnosis,
    )
    proposed = (body.proposed_diagnosis or "").lower()
    documented = [proposed] if proposed and any(proposed in t.lower() for t in documents.values()) else []
    issues = lint_query(draft, documented_conditions=documented, document_ids=set(documents)) if body.question else []
    issues += [
        LintIssue("indicators.excerpt_not_in_document", f"indicators[{n}].excerpt",
                  "The excerpt does not occur in the cited document; quote the record verbatim.")
        for n, i in enumerate(body.indicators)
        if documents.get(i.document_id) and i.excerpt.lower() not in documents[i.document_id].lower()
    ]
    return JSONResponse({"issues": _issues(issues)})


@router.post("/ui/work/{encounter_id}/query")
async def raise_query(
    encounter_id: str, body: QueryIn, db: SessionDep, temporal: TemporalDep,
    session: Annotated[WebSession, Depends(viewer("queries.raise"))],
) -> JSONResponse:
    _, found = await _chart(db, session, encounter_id)
    ident = found.id  # read before the handler commits: committed rows expire
    raised = await query_api.raise_query(ident, body, db, temporal, session.principal)
    return JSONResponse({"id": raised.id, "status": raised.status, "next": f"/ui/encounters/{ident}"}, status_code=201)


@router.post("/ui/work/{encounter_id}/hold")
async def place_hold(
    encounter_id: str, body: HoldIn, db: SessionDep, temporal: TemporalDep,
    session: Annotated[WebSession, Depends(viewer("holds.place"))],
) -> JSONResponse:
    _, found = await _chart(db, session, encounter_id)
    chart = await encounter_api.place_hold(found.id, body, db, temporal, session.principal)
    return JSONResponse({"status": chart.status, "next": f"/ui/encounters/{chart.id}"}, status_code=201)
