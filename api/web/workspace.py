"""The coder workspace: claim the next chart, code it beside its documents, query, hold.

Actions call the JSON API's own handlers with the signed-in principal, after the same permission
check its `require(...)` dependency makes, so validation, query compliance, workflow updates and
row scoping cannot drift between the API and the UI.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.deps import SessionDep, TemporalDep
from api.schemas.claims import AcknowledgeIn, EditAckIn, ScrubOut
from api.schemas.encounters import CodingIn, HoldIn
from api.schemas.queries import IndicatorIn, QueryForm, QueryIn, YesNoPurpose
from api.views import coding_lines, read_detail, read_query, scrub_view
from api.web import data
from api.web.render import WebRoute, page
from api.web.session import WebError, WebSession, viewer
from integrations.codesets.catalog import default_catalog
from models.coding.quotation import highlight, spans_by_document
from models.encounters.holds import DEFAULT_HOLD_POLICY, HOLD_REASONS
from models.encounters.tables import Encounter
from models.queries.rules import (
    ClinicalIndicator,
    LintIssue,
    QueryDraft,
    excerpt_issues,
    review_draft,
)
from models.repositories.encounters import EncounterRepository, QueueRepository, visible
from models.repositories.queries import QueryRepository
from services import coding, holds, queries, queues, scrub
from services.scrub import latest_scrub

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
    leased = await queues.claim_next(db, temporal, session.principal, queue)
    if leased is None:
        return RedirectResponse(f"/ui/work?empty={queue}", status_code=303)
    return RedirectResponse(f"/ui/work/{leased}", status_code=303)


async def _prior(db: SessionDep, session: WebSession, codes: dict[str, Any] | None) -> dict[str, Any] | None:
    """The chart's last coding with its evidence excerpts, to start the rework from."""
    if not codes:
        return None
    lines = [*codes.get("diagnoses", []), *codes.get("procedures", [])]
    texts = await QueryRepository(db, session.principal).texts(
        {e.get("excerpt_sha256", "") for line in lines for e in line.get("evidence", [])} - {""}
    )

    def cited(line: dict[str, Any]) -> dict[str, Any]:
        evidence = [
            {"document_id": e.get("document_id"), "excerpt": texts[e["excerpt_sha256"]], "start": e.get("start")}
            for e in line.get("evidence", []) if e.get("excerpt_sha256") in texts
        ]  # fmt: skip
        return {**line, "evidence": evidence}

    return {"diagnoses": [cited(d) for d in codes.get("diagnoses", [])], "procedures": [cited(p) for p in codes.get("procedures", [])]}


async def _chart_page(
    request: Request, db: SessionDep, session: WebSession, encounter_id: str, *, status: int = 200, **context: Any
) -> Response:
    repo, found = await _chart(db, session, encounter_id)
    documents = await repo.documents(found.id)
    run = await latest_scrub(db, found.id)
    scrub: ScrubOut | None = scrub_view(run) if run else None
    acked = {(a["rule"], a["line_index"]) for a in scrub.acknowledgments} if scrub else set()
    reasons = [r for r in HOLD_REASONS if session.principal.role in DEFAULT_HOLD_POLICY.allowed_roles("place", r)]
    mine = found.assignee_user == session.principal.user_id
    worked = mine or session.principal.user_id in (found.worked_by or [])
    return page(
        request, "chart.html", session, status=status, chart=found, documents=documents, reasons=reasons,
        workable=found.status == "in_coding" and mine, scrub=scrub,
        to_acknowledge=[e for e in scrub.edits if e.severity == "soft" and (e.rule, e.line_index) not in acked]
        if scrub and found.status == "scrubbing" and worked else [],
        prior=await _prior(db, session, found.codes) if found.status == "in_coding" and mine and scrub and not scrub.clean else None,
        cited=spans_by_document(found.codes), highlight=highlight,
        **context,
    )


@router.get("/ui/work/{encounter_id}", response_class=HTMLResponse)
async def chart_page(request: Request, db: SessionDep, encounter_id: str, session: Coder) -> Response:
    """The chart beside its documents (a `?scrub=n` query only gives each scrub result its own URL)."""
    return await _chart_page(request, db, session, encounter_id)


@router.post("/ui/work/{encounter_id}/scrub/acknowledge")
async def acknowledge_edits(
    request: Request, encounter_id: str, db: SessionDep, temporal: TemporalDep, session: Coder
) -> Response:
    """Soft edits leave with a reason each, through the API's acknowledge handler."""
    _, found = await _chart(db, session, encounter_id)
    ident = found.id
    form = await request.form()
    rules, lines, why = form.getlist("rule"), form.getlist("line_index"), form.getlist("reason")
    try:
        body = AcknowledgeIn(
            acknowledgments=[
                EditAckIn(rule=str(r), line_index=int(str(n)) if str(n).isdigit() else None, reason=str(y))
                for r, n, y in zip(rules, lines, why, strict=False)
            ]
        )
        await scrub.acknowledge_edits(db, temporal, session.principal, ident, [(a.rule, a.line_index, a.reason) for a in body.acknowledgments])
    except ValidationError as exc:
        detail = "; ".join(str(e["msg"]) for e in exc.errors())
        return await _chart_page(request, db, session, encounter_id, ack_error=f"Each soft edit needs a reason: {detail}")
    return RedirectResponse(f"/ui/work/{ident}?acknowledged=1#scrub", status_code=303)


CODE_PAGE = 15


@router.get("/ui/codes")
async def code_search(_: Coder, q: str = "", offset: int = 0) -> JSONResponse:
    """ICD-10-CM search, best matches first, a page at a time; header (non-billable) codes are marked."""
    page = CODE_PAGE + 1
    hits = default_catalog().icd10cm.search(q.strip(), page, offset=max(offset, 0)) if len(q.strip()) >= 2 else []
    more = len(hits) > CODE_PAGE
    return JSONResponse({
        "items": [{"code": c, "description": d, "billable": b} for c, d, b in hits[:CODE_PAGE]],
        "next_offset": max(offset, 0) + CODE_PAGE if more else None,
    })


@router.post("/ui/work/{encounter_id}/coding")
async def submit_coding(encounter_id: str, body: CodingIn, db: SessionDep, temporal: TemporalDep, session: Coder) -> JSONResponse:
    _, found = await _chart(db, session, encounter_id)
    coded = await coding.submit_coding(db, temporal, session.principal, found.id, *coding_lines(body))
    chart = await read_detail(EncounterRepository(db, session.principal), coded)
    run_row = await latest_scrub(db, coded)
    chart.scrub = scrub_view(run_row) if run_row else None
    # Back to the chart: its scrub result is shown there (hard edits reopen the coding form).
    # Each scrub run is its own address, so a resubmission from the result page loads the new one.
    run = chart.scrub.run_no if chart.scrub else 0
    return JSONResponse({"status": chart.status, "next": f"/ui/work/{chart.id}?scrub={run}#scrub"})


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
    issues = review_draft(draft, documents) if body.question else excerpt_issues(draft.indicators, documents)
    return JSONResponse({"issues": _issues(issues)})


@router.post("/ui/work/{encounter_id}/query")
async def raise_query(
    encounter_id: str, body: QueryIn, db: SessionDep, temporal: TemporalDep,
    session: Annotated[WebSession, Depends(viewer("queries.raise"))],
) -> JSONResponse:
    _, found = await _chart(db, session, encounter_id)
    ident = found.id  # read before the handler commits: committed rows expire
    draft = QueryDraft(
        body.question, body.form, [ClinicalIndicator(i.document_id, i.excerpt) for i in body.indicators],
        list(body.options), body.yes_no_purpose, body.proposed_diagnosis,
    )
    raised_id = await queries.raise_query(
        db, temporal, session.principal, ident, draft, physician_npi=body.physician_npi, physician_user=body.physician_user
    )
    raised = await read_query(QueryRepository(db, session.principal), raised_id)
    return JSONResponse({"id": raised.id, "status": raised.status, "next": f"/ui/encounters/{ident}"}, status_code=201)


@router.post("/ui/work/{encounter_id}/hold")
async def place_hold(
    encounter_id: str, body: HoldIn, db: SessionDep, temporal: TemporalDep,
    session: Annotated[WebSession, Depends(viewer("holds.place"))],
) -> JSONResponse:
    _, found = await _chart(db, session, encounter_id)
    held = await holds.place_hold(db, temporal, session.principal, found.id, body.reason, body.note)
    chart = await read_detail(EncounterRepository(db, session.principal), held)
    return JSONResponse({"status": chart.status, "next": f"/ui/encounters/{chart.id}"}, status_code=201)
