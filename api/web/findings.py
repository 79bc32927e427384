"""The coder's side of QA: findings on their charts, agree or dispute, and their coaching.

Reads go through `AuditRepository`, which scopes a coder to their own findings and a vendor lead
to their vendor's; responses are the API's `respond` handler.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import SessionDep, chain_keys
from api.schemas.audits import RespondIn
from api.web import data
from api.web.forms import Problem, attempt, text
from api.web.labels import chart_names
from api.web.render import WebRoute, page
from api.web.session import WebError, WebSession, viewer
from models.qa.report import finding_json
from models.repositories.qa_audits import AuditRepository
from services import qa_audits

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Responder = Annotated[WebSession, Depends(viewer("audits.respond"))]


async def findings_page(request: Request, db: SessionDep, session: WebSession, *, status: int = 200, **context: Any) -> Response:
    who = session.principal
    repo = AuditRepository(db, who)
    audits = {a.id: a for a in await repo.audits()}
    rows = await repo.findings(list(audits))
    findings = [{**finding_json(r), "audit_name": audits[r.audit_id].name} for r in rows]
    findings.sort(key=lambda f: (f["state"] not in ("open", "disputed"), f["opened_at"]), reverse=False)
    coaching = await qa_audits.coaching_view(db, who, None)
    names = await chart_names(db, who, [f["encounter_id"] for f in findings])
    return page(
        request, "findings.html", session, status=status, findings=findings, coaching=coaching, names=names,
        waiting=sum(1 for f in findings if "dispute" in f["allowed_actions"]), **context,
    )  # fmt: skip


@router.get("/ui/findings", response_class=HTMLResponse)
async def my_findings(request: Request, db: SessionDep, session: Responder) -> Response:
    return await findings_page(request, db, session)


@router.post("/ui/findings/{finding_id}/respond")
async def respond(request: Request, db: SessionDep, finding_id: str, session: Responder) -> Response:
    """Agree (the finding becomes final) or dispute it with a comment for the auditor."""
    ident = data.parse_id(finding_id)
    if ident is None:
        raise WebError(404, "this finding does not exist or is not yours to see")
    form = await request.form()
    action = text(form, "action")

    async def run() -> dict[str, Any]:
        body = RespondIn(action=action, comment=text(form, "comment"))
        return await qa_audits.respond(db, session.principal, chain_keys(request), ident, body.action, body.comment)

    done = await attempt(run())
    if isinstance(done, Problem):
        return await findings_page(request, db, session, problem=done, problem_for=str(ident))
    return RedirectResponse(f"/ui/findings?answered={ident}#f-{ident}", status_code=303)
