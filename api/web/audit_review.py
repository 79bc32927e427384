"""One audit: its sample and findings, the auditor's blind chart view, re-coding, findings,
reconciling disputes, and the report. Every action is the QA audit API's own handler."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import SessionDep, TemporalDep, chain_keys
from api.qa_http import dispatch, document_response
from api.schemas.audits import DxIn, FindingIn, FindingsIn, PxIn, ReconcileIn, ReferenceIn, ReviewIn
from api.web import data
from api.web.forms import Problem, attempt, csv, text, whole
from api.web.labels import chart_names, payer_names
from api.web.render import WebRoute, page
from api.web.session import WebError, WebSession, viewer
from models.access import can
from models.qa.findings import FINDING_CATEGORIES, REFERENCE_KINDS
from models.repositories.qa_audits import AuditRepository
from services import qa_audits

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Reader = Annotated[WebSession, Depends(viewer("audits.read"))]
Reviewer = Annotated[WebSession, Depends(viewer("audits.review"))]
DX_ROWS, PX_ROWS = 6, 4
PRINTABLE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def _ids(*values: str) -> list[uuid.UUID]:
    found = [data.parse_id(v) for v in values]
    if any(f is None for f in found):
        raise WebError(404, "this audit or chart does not exist")
    return [f for f in found if f is not None]


async def audit_page(
    request: Request, db: SessionDep, session: WebSession, audit_id: str, *, status: int = 200, **context: Any
) -> Response:
    (ident,) = _ids(audit_id)
    who = session.principal
    detail = await qa_audits.audit_detail(db, who, ident)
    findings = await qa_audits.list_findings(db, who, ident)
    names = await chart_names(db, who, [c["encounter_id"] for c in detail["charts"]] + [f["encounter_id"] for f in findings])
    return page(
        request, "audit.html", session, status=status, audit=detail, findings=findings, names=names,
        can_review=can(who, "audits.review"), categories=sorted(FINDING_CATEGORIES), **context,
    )  # fmt: skip


@router.get("/ui/audits/{audit_id}", response_class=HTMLResponse)
async def audit_view(request: Request, db: SessionDep, audit_id: str, session: Reader) -> Response:
    return await audit_page(request, db, session, audit_id)


async def chart_page(
    request: Request, db: SessionDep, session: WebSession, audit_id: str, chart_id: str, *, status: int = 200, **context: Any
) -> Response:
    a, c = _ids(audit_id, chart_id)
    view = await qa_audits.audit_chart(db, session.principal, a, c)
    findings = [f for f in await qa_audits.list_findings(db, session.principal, a) if f["encounter_id"] == str(c)]
    audit = await AuditRepository(db, session.principal).audit(a)
    names = await chart_names(db, session.principal, [c])
    payers = await payer_names(db, session.principal, [c])
    return page(
        request, "audit_chart.html", session, status=status, view=view, audit=audit, findings=findings,
        names=names, payer=payers.get(str(c)),
        dx_rows=DX_ROWS, px_rows=PX_ROWS, categories=sorted(FINDING_CATEGORIES), kinds=sorted(REFERENCE_KINDS),
        **context,
    )  # fmt: skip


@router.get("/ui/audits/{audit_id}/charts/{chart_id}", response_class=HTMLResponse)
async def chart_view(request: Request, db: SessionDep, audit_id: str, chart_id: str, session: Reviewer) -> Response:
    return await chart_page(request, db, session, audit_id, chart_id)


def review_in(form: Any) -> ReviewIn:
    dx = [DxIn(code=code) for n in range(1, DX_ROWS + 1) if (code := text(form, f"dx{n}"))]
    px = [
        PxIn(code=code, modifiers=csv(text(form, f"px{n}_modifiers")), units=whole(text(form, f"px{n}_units")) or 1)
        for n in range(1, PX_ROWS + 1)
        if (code := text(form, f"px{n}"))
    ]
    return ReviewIn(diagnoses=dx, procedures=px)


@router.post("/ui/audits/{audit_id}/charts/{chart_id}/review")
async def submit_review(request: Request, db: SessionDep, audit_id: str, chart_id: str, session: Reviewer) -> Response:
    """The auditor's own coding of the chart; the differences come back as drafts to annotate."""
    a, c = _ids(audit_id, chart_id)
    form = await request.form()

    async def run() -> dict[str, Any]:
        return await qa_audits.submit_review(db, session.principal, chain_keys(request), a, c, review_in(form).model_dump(mode="json"))

    done = await attempt(run())
    if isinstance(done, Problem):
        return await chart_page(request, db, session, audit_id, chart_id, review_problem=done, form=dict(form))
    return RedirectResponse(f"/ui/audits/{a}/charts/{c}#findings", status_code=303)


def findings_in(form: Any, drafts: int) -> FindingsIn:
    items = []
    for n in range(drafts):
        kind = text(form, f"f{n}_kind")
        items.append(
            FindingIn(
                draft=n, category=text(form, f"f{n}_category") or None, severity=text(form, f"f{n}_severity") or "medium",
                reference=ReferenceIn(kind=kind, citation=text(form, f"f{n}_citation"), url=text(form, f"f{n}_url")) if kind else None,
                rationale=text(form, f"f{n}_rationale"),
            )
        )  # fmt: skip
    return FindingsIn(findings=items)


@router.post("/ui/audits/{audit_id}/charts/{chart_id}/findings")
async def record_findings(
    request: Request, db: SessionDep, temporal: TemporalDep, audit_id: str, chart_id: str, session: Reviewer
) -> Response:
    """One finding per difference; the server's rule errors are shown beside each difference."""
    a, c = _ids(audit_id, chart_id)
    form = await request.form()
    drafts = whole(text(form, "drafts")) or 0

    async def run() -> list[dict[str, Any]]:
        inputs = findings_in(form, drafts).inputs()
        return await qa_audits.record_findings(db, session.principal, chain_keys(request), temporal, dispatch(request, temporal), a, c, inputs)

    done = await attempt(run())
    if isinstance(done, Problem):
        return await chart_page(request, db, session, audit_id, chart_id, findings_problem=done, form=dict(form))
    return RedirectResponse(f"/ui/audits/{a}#findings", status_code=303)


@router.post("/ui/findings/{finding_id}/reconcile")
async def reconcile(request: Request, db: SessionDep, finding_id: str, session: Reviewer) -> Response:
    """The auditor answers a coder's dispute: upheld, revised or withdrawn, with a comment."""
    (ident,) = _ids(finding_id)
    form = await request.form()
    row = await AuditRepository(db, session.principal).finding(ident)
    audit_id = str(row.audit_id)

    async def run() -> dict[str, Any]:
        body = ReconcileIn(
            outcome=text(form, "outcome"), comment=text(form, "comment"),
            category=text(form, "category") or None, severity=text(form, "severity") or None,
        )  # fmt: skip
        return await qa_audits.reconcile(db, session.principal, chain_keys(request), ident, body.outcome, body.comment, body.category, body.severity)

    done = await attempt(run())
    if isinstance(done, Problem):
        return await audit_page(request, db, session, audit_id, problem=done, problem_for=str(ident))
    return RedirectResponse(f"/ui/audits/{audit_id}?reconciled={ident}#findings", status_code=303)


@router.get("/ui/audits/{audit_id}/report")
async def report(db: SessionDep, audit_id: str, session: Reader, format: str = "html") -> Response:
    """The API's audit report, printable HTML or PDF, for the signed-in caller."""
    (ident,) = _ids(audit_id)
    if format not in ("html", "pdf"):
        raise WebError(404, "the report comes as html or pdf")
    a, data = await qa_audits.audit_report(db, session.principal, ident)
    found = document_response(qa_audits.render_report(a, data, "html" if format == "html" else "pdf"))
    if format == "html":
        # A standalone printable document: inline styles, no script at all.
        found.headers["Content-Security-Policy"] = PRINTABLE_CSP
    return found
