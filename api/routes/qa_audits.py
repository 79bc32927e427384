"""QA audits: reproducible samples, blind re-coding, findings with rebuttal, coaching, reports."""

import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.deps import SessionDep, TemporalDep, chain_keys, require
from api.errors import Conflict, Forbidden, NotFound, Unprocessable
from api.schemas.audits import (
    AuditIn,
    EducationIn,
    EducationOut,
    FindingOut,
    FindingsIn,
    ReconcileIn,
    RespondIn,
    ReviewIn,
)
from models.access import Principal
from models.findings import FINDING_CATEGORIES, FindingEvent, compare_coding
from models.outbound_events import finding_issued
from models.qa_plan import chart_coding, frame_from_json, plan_from_json
from models.qa_report import coaching, finding_json, report
from models.qa_rules import FindingInput, build_findings, drafts_out
from models.qa_tables import QaAudit, QaEducation
from models.repositories.encounters import EncounterRepository
from models.repositories.qa_audits import AuditOptions, AuditRepository, now
from models.sampling import (
    Sample,
    SamplingPlan,
    UniverseFilter,
    attribute_sample_size,
    frame_fingerprint,
    verify_sample,
)
from services import coding, outbound_events, suggestions
from services.encounters import handle
from services.qa_cycles import audit_cycles
from services.qa_pdf import render_pdf
from workflows.encounter import EncounterWorkflow

router = APIRouter(tags=["audits"])
PROBLEMS: dict[int | str, dict[str, Any]] = {404: {"description": "unknown in your tenant"}, 409: {"description": "not allowed in the current state"}}
TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).resolve().parents[1] / "templates"), autoescape=select_autoescape())

Manager = Annotated[Principal, Depends(require("audits.manage"))]
Reader = Annotated[Principal, Depends(require("audits.read"))]
Reviewer = Annotated[Principal, Depends(require("audits.review"))]
Responder = Annotated[Principal, Depends(require("audits.respond"))]


def _summary(a: QaAudit) -> dict[str, Any]:
    return {
        "id": str(a.id), "name": a.name, "cycle": a.cycle, "timing": a.timing, "blind": a.blind,
        "status": a.status, "method": a.method, "seed": a.seed, "algorithm": a.algorithm,
        "frame_size": a.frame_size, "frame_fingerprint": a.frame_fingerprint, "size": a.sample_size,
        "per_stratum": a.per_stratum, "plan": a.plan, "double_review_share": a.double_review_share,
        "created_by": a.created_by, "created_at": a.created_at,
    }  # fmt: skip


async def _detail(repo: AuditRepository, a: QaAudit) -> dict[str, Any]:
    charts = await repo.charts([a.id])
    holds = {h.encounter_id: h for h in await repo.holds(a)}
    return {
        **_summary(a),
        "encounter_ids": a.encounter_ids if repo.principal.role not in ("coder", "vendor_lead") else [str(c.encounter_id) for c in charts],
        "charts": [
            {"encounter_id": str(c.encounter_id), "coder_id": c.coder_id, "vendor_id": c.vendor_id, "stratum": c.stratum,
             "status": c.status, "double_review": c.double_review, "primary_auditor": c.primary_auditor,
             "second_auditor": c.second_auditor,
             "audit_hold": None if c.encounter_id not in holds else {"placed_at": holds[c.encounter_id].placed_at, "released_at": holds[c.encounter_id].released_at}}
            for c in charts
        ],
    }  # fmt: skip


def check_codes(body: ReviewIn, service_date: date) -> None:
    """The auditor's codes meet the same code-set rules as the coder's (evidence aside)."""
    procedures = [coding.ProcedureLine(p.code, list(p.modifiers), p.units) for p in body.procedures]
    coding.check_recoding([d.code for d in body.diagnoses], procedures, service_date)


async def resume_billing(temporal: Client, encounter_ids: list[uuid.UUID]) -> None:
    """Tell each chart's workflow its prospective review is over, so a held claim can leave."""
    for encounter_id in encounter_ids:
        try:
            await handle(temporal, encounter_id).signal(EncounterWorkflow.qa_released)
        except RPCError as exc:  # a chart whose workflow already ended has nothing to resume
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise


@router.post("/v1/audits", status_code=201, responses={422: {"description": "invalid plan or empty universe; nothing stored"}})
async def create_audit(body: AuditIn, request: Request, session: SessionDep, who: Manager) -> dict[str, Any]:
    """Draw a sample from the plan; frame, seed, method and algorithm are stored for re-drawing."""
    u = body.universe
    universe = UniverseFilter(
        u.date_from.isoformat() if u.date_from else None, u.date_to.isoformat() if u.date_to else None,
        list(u.vendors), list(u.coders), list(u.specialties), list(u.payers), list(u.risk_flags),
    )  # fmt: skip
    plan = SamplingPlan(
        body.method, body.seed, body.size, body.confidence, body.precision, body.expected_error_rate,
        body.strata_key, body.allocation, universe,
    )  # fmt: skip
    options = AuditOptions(
        body.name, body.timing, body.blind, body.double_review_share, list(dict.fromkeys(body.auditors)),
        body.pass_threshold, body.high_dollar_cents,
    )  # fmt: skip
    repo = AuditRepository(session, who, chain_keys(request))
    audit = await repo.create(plan, options)
    out = await _detail(repo, audit)
    await session.commit()
    # The population-free figure is the one printed in attribute-sampling tables.
    table = attribute_sample_size(10**9, plan.confidence, plan.precision, plan.expected_error_rate)
    return {**out, "size_basis": {"given": body.size, "table_size": table, "frame_size": audit.frame_size}}


@router.get("/v1/audits")
async def list_audits(session: SessionDep, who: Reader) -> list[dict[str, Any]]:
    return [_summary(a) for a in await AuditRepository(session, who).audits()]


@router.get("/v1/audits/coaching")
async def coaching_view(session: SessionDep, who: Reader, coder: str | None = None) -> dict[str, Any]:
    """Each coder's top finding categories, examples, references, repeats, education and trend."""
    if who.role == "coder":
        if coder not in (None, who.user_id):
            raise Forbidden("a coder sees only their own coaching; omit 'coder' or pass your own id")
        coder = who.user_id
    repo = AuditRepository(session, who)
    cycles = await audit_cycles(repo)
    visible = {c.coder_id for cycle in cycles for c in cycle.charts}
    stmt = select(QaEducation).where(QaEducation.tenant_id == who.tenant_id).order_by(QaEducation.assigned_at)
    education = [e for e in (await session.scalars(stmt)).all() if who.role not in ("coder", "vendor_lead") or e.coder_id in visible | {who.user_id}]
    return coaching(cycles, education, coder)


@router.get("/v1/audits/{audit_id}", responses=PROBLEMS)
async def get_audit(audit_id: uuid.UUID, session: SessionDep, who: Reader) -> dict[str, Any]:
    repo = AuditRepository(session, who)
    return await _detail(repo, await repo.audit(audit_id))


@router.get("/v1/audits/{audit_id}/sample/verify", responses=PROBLEMS)
async def verify_audit_sample(audit_id: uuid.UUID, session: SessionDep, who: Reader) -> dict[str, Any]:
    """Re-draw from the stored frame, plan and seed and prove the sample identical."""
    repo = AuditRepository(session, who)
    a = await repo.audit(audit_id)
    plan, frame = plan_from_json(a.plan), frame_from_json(a.frame)
    stored = Sample(list(a.encounter_ids), dict(a.per_stratum), a.frame_fingerprint, a.frame_size, a.seed, a.method, a.algorithm)  # type: ignore[arg-type]
    problems = verify_sample(frame, plan, stored)
    options = AuditOptions(a.name, a.timing, a.blind, a.double_review_share, [], a.pass_threshold, int(a.plan.get("high_dollar_cents", 500_000)))
    current = frame_fingerprint(await repo.frame(plan, options))
    own = a.encounter_ids if who.role not in ("coder", "vendor_lead") else [str(c.encounter_id) for c in await repo.charts([a.id])]
    return {
        "identical": not problems, "problems": problems, "algorithm": a.algorithm, "seed": a.seed,
        "frame_fingerprint": a.frame_fingerprint, "encounter_ids": own,
        "current_frame_fingerprint": current, "current_frame_unchanged": current == a.frame_fingerprint,
    }  # fmt: skip


@router.get("/v1/audits/{audit_id}/charts/{chart_id}", responses=PROBLEMS)
async def audit_chart(audit_id: uuid.UUID, chart_id: uuid.UUID, session: SessionDep, who: Reviewer) -> dict[str, Any]:
    """The auditor's view; when blind, the coder's codes appear only after this auditor submits."""
    repo = AuditRepository(session, who)
    a = await repo.audit(audit_id)
    chart = await repo.chart(a, chart_id)
    mine = next((r for r in await repo.reviews([chart.id]) if r.auditor_id == who.user_id), None)
    documents = await EncounterRepository(session, who).documents(chart.encounter_id)
    unblinded = mine is not None or not a.blind
    out: dict[str, Any] = {
        "audit_id": str(a.id), "encounter_id": str(chart.encounter_id), "blind": a.blind, "status": chart.status,
        "specialty": chart.specialty, "payer_id": chart.payer_id, "service_date": chart.service_date,
        "double_review": chart.double_review,
        "documents": [{"id": str(d.id), "type_code": d.type_code, "type_display": d.type_display, "text": d.text} for d in documents],
        "coder_codes": chart.coder_codes if unblinded else None,
        "your_review": None if mine is None else {"role": mine.role, "codes": mine.codes, "submitted_at": mine.submitted_at},
    }  # fmt: skip
    if mine is not None and mine.role == "primary":
        out["drafts"] = drafts_out(compare_coding(chart_coding(chart.coder_codes), chart_coding(mine.codes)).drafts)
    return out


@router.post("/v1/audits/{audit_id}/charts/{chart_id}/review", status_code=201, responses=PROBLEMS)
async def submit_review(
    audit_id: uuid.UUID, chart_id: uuid.UUID, body: ReviewIn, request: Request, session: SessionDep, who: Reviewer
) -> dict[str, Any]:
    """Store the auditor's own coding; the primary reviewer gets the differences to annotate."""
    repo = AuditRepository(session, who, chain_keys(request))
    a = await repo.audit(audit_id)
    chart = await repo.chart(a, chart_id)
    check_codes(body, chart.service_date)
    review = await repo.submit_review(a, chart, body.model_dump(mode="json"))
    drafts = compare_coding(chart_coding(chart.coder_codes), chart_coding(review.codes)).drafts
    await session.commit()
    return {
        "role": review.role, "status": chart.status, "lines_reviewed": review.lines_reviewed,
        "coder_codes": chart.coder_codes, "drafts": drafts_out(drafts) if review.role == "primary" else [],
    }  # fmt: skip


@router.post("/v1/audits/{audit_id}/charts/{chart_id}/findings", status_code=201, response_model=list[FindingOut], responses={**PROBLEMS, 422: {"description": "a finding lacks its category, reference or rationale; nothing stored"}})
async def record_findings(
    audit_id: uuid.UUID, chart_id: uuid.UUID, body: FindingsIn, request: Request, session: SessionDep, temporal: TemporalDep, who: Reviewer
) -> list[dict[str, Any]]:
    """One finding per difference, each with category, guideline reference and rationale."""
    repo = AuditRepository(session, who, chain_keys(request))
    a = await repo.audit(audit_id)
    chart = await repo.chart(a, chart_id)
    mine = await repo.primary_review(chart)
    if a.status != "open":
        raise Conflict(f"audit {a.id} is {a.status}; findings can no longer be recorded")
    if mine is None or mine.auditor_id != who.user_id:
        raise Conflict("findings come from your primary review: submit your re-coding of this chart first")
    if chart.status != "recoded":
        raise Conflict(f"findings for this chart are already recorded (chart status '{chart.status}')")
    drafts = compare_coding(chart_coding(chart.coder_codes), chart_coding(mine.codes)).drafts
    inputs = [
        FindingInput(f.draft, f.category, f.severity, f.reference.kind if f.reference else None,
                     f.reference.citation if f.reference else "", f.reference.url if f.reference else "", f.rationale)
        for f in body.findings
    ]  # fmt: skip
    findings, errors = build_findings(
        drafts, inputs, ids=[str(uuid.uuid4()) for _ in inputs], encounter_id=str(chart.encounter_id),
        coder_id=chart.coder_id, auditor_id=who.user_id, at=now(),
    )  # fmt: skip
    if errors:
        raise Unprocessable(f"{len(errors)} problem(s): " + "; ".join(f"{e['path']}: {e['message']}" for e in errors), errors=errors)
    rows = await repo.save_findings(a, chart, findings)
    out = [finding_json(r) for r in rows]
    issued = [finding_issued(str(a.id), str(r.id), str(chart.encounter_id)) for r in rows]
    event_ids = await outbound_events.record(session, who.tenant_id, issued, now(), encounter_id=chart.encounter_id)
    await session.commit()
    await outbound_events.dispatch(request.app.state.sessions, lambda: temporal, request.app.state.settings.task_queue, event_ids)
    await resume_billing(temporal, repo.released)
    return out


@router.get("/v1/audits/{audit_id}/findings", response_model=list[FindingOut], responses=PROBLEMS)
async def list_findings(audit_id: uuid.UUID, session: SessionDep, who: Reader) -> list[dict[str, Any]]:
    repo = AuditRepository(session, who)
    a = await repo.audit(audit_id)
    return [finding_json(r) for r in await repo.findings([a.id])]


@router.post("/v1/findings/{finding_id}/respond", response_model=FindingOut, responses=PROBLEMS)
async def respond(finding_id: uuid.UUID, body: RespondIn, request: Request, session: SessionDep, who: Responder) -> dict[str, Any]:
    """The coder (or their vendor lead) agrees, which makes it final, or disputes with a comment."""
    repo = AuditRepository(session, who, chain_keys(request))
    row = await repo.finding(finding_id, lock=True)
    at = now()
    events = [FindingEvent(body.action, row.coder_id, "coder", at, body.comment)]
    if body.action == "agree":
        events.append(FindingEvent("finalize", "system", "system", at))
    await repo.step(row, *events)
    out = finding_json(row)
    await session.commit()
    return out


@router.post("/v1/findings/{finding_id}/reconcile", response_model=FindingOut, responses=PROBLEMS)
async def reconcile(finding_id: uuid.UUID, body: ReconcileIn, request: Request, session: SessionDep, who: Reviewer) -> dict[str, Any]:
    """The auditor answers a dispute (upheld, revised or withdrawn); the finding is then final."""
    if body.category is not None and body.category not in FINDING_CATEGORIES:
        raise Unprocessable(f"category must be one of {', '.join(sorted(FINDING_CATEGORIES))}")
    repo = AuditRepository(session, who, chain_keys(request))
    row = await repo.finding(finding_id, lock=True)
    at = now()
    await repo.step(
        row,
        FindingEvent("reconcile", who.user_id, "auditor", at, body.comment, body.outcome, body.category, body.severity),  # type: ignore[arg-type]
        FindingEvent("finalize", who.user_id, "auditor", at),
    )
    out = finding_json(row)
    await session.commit()
    return out


@router.post("/v1/audits/{audit_id}/close", responses=PROBLEMS)
async def close_audit(
    audit_id: uuid.UUID, request: Request, session: SessionDep, temporal: TemporalDep, who: Manager
) -> dict[str, Any]:
    """End the rebuttal window: unanswered findings lapse to final; disputes must be reconciled."""
    repo = AuditRepository(session, who, chain_keys(request))
    a = await repo.audit(audit_id)
    if a.status != "open":
        raise Conflict(f"audit {a.id} is already {a.status}")
    rows = await repo.findings([a.id])
    if disputed := [str(r.id) for r in rows if r.state == "disputed"]:
        raise Conflict(f"{len(disputed)} disputed finding(s) need reconciling first: {', '.join(disputed)}")
    at = now()
    for row in rows:
        if row.state == "open":
            await repo.step(row, FindingEvent("lapse", "system", "system", at), seal=False)
        elif row.state in ("agreed", "reconciled"):
            await repo.step(row, FindingEvent("finalize", "system", "system", at), seal=False)
    a.status, a.closed_at = "closed", at
    await repo.release_hold(a, None, "audit_closed")
    await repo.seal_close(a)
    out = _summary(a)
    await session.commit()
    await resume_billing(temporal, repo.released)
    return out


@router.get("/v1/audits/{audit_id}/report", responses={**PROBLEMS, 200: {"content": {"application/json": {}, "text/html": {}, "application/pdf": {}}}})
async def audit_report(
    audit_id: uuid.UUID, session: SessionDep, who: Reader, format: Annotated[Literal["json", "html", "pdf"], Query()] = "json"
) -> Any:
    """Sample definition, accuracy (code and chart level), findings by category, repeats, kappa, trends."""
    repo = AuditRepository(session, who)
    a = await repo.audit(audit_id)
    cycles = await audit_cycles(repo, upto=a.cycle)
    data = report(cycles)
    data["suggestions"] = await suggestions.audit_quality(session, cycles[-1].charts, cycles[-1].findings)
    if format == "html":
        return HTMLResponse(TEMPLATES.get_template("audit_report.html").render(r=data))
    if format == "pdf":
        headers = {"Content-Disposition": f'inline; filename="audit-{a.id}.pdf"'}
        return Response(render_pdf(data), media_type="application/pdf", headers=headers)
    return data


@router.post("/v1/education", status_code=201, response_model=EducationOut, responses={422: {"description": "unknown category or audit"}})
async def assign_education(body: EducationIn, request: Request, session: SessionDep, who: Manager) -> dict[str, Any]:
    if body.category not in FINDING_CATEGORIES:
        raise Unprocessable(f"category must be one of {', '.join(sorted(FINDING_CATEGORIES))}")
    repo = AuditRepository(session, who, chain_keys(request))
    audits = await repo.audits()
    audit = next((a for a in audits if str(a.id) == body.audit_id), None)
    if body.audit_id is not None and audit is None:
        raise Unprocessable(f"audit {body.audit_id} does not exist")
    cycle = audit.cycle if audit else (audits[-1].cycle if audits else 1)
    row = QaEducation(
        tenant_id=who.tenant_id, coder_id=body.coder_id, category=body.category, audit_id=audit.id if audit else None,
        cycle=cycle, note=body.note, assigned_by=who.user_id, assigned_at=now(),
    )  # fmt: skip
    session.add(row)
    await session.flush()
    await repo.seal_coaching(row, "qa_coaching_assigned")
    out = _education(row)
    await session.commit()
    return out


def _education(e: QaEducation) -> dict[str, Any]:
    return {
        "id": str(e.id), "coder_id": e.coder_id, "category": e.category, "note": e.note,
        "audit_id": str(e.audit_id) if e.audit_id else None, "cycle": e.cycle, "assigned_by": e.assigned_by,
        "assigned_at": e.assigned_at, "acknowledged_at": e.acknowledged_at,
    }  # fmt: skip


@router.post("/v1/education/{education_id}/acknowledge", response_model=EducationOut, responses=PROBLEMS)
async def acknowledge_education(education_id: uuid.UUID, request: Request, session: SessionDep, who: Responder) -> dict[str, Any]:
    stmt = select(QaEducation).where(QaEducation.tenant_id == who.tenant_id, QaEducation.id == education_id)
    row = await session.scalar(stmt.with_for_update())
    if row is None or (who.role == "coder" and row.coder_id != who.user_id):
        raise NotFound(f"education assignment {education_id} does not exist or is not yours")
    if who.role != "coder":
        raise Forbidden(f"role '{who.role}' cannot acknowledge: only the coder it was assigned to can")
    if row.acknowledged_at is not None:
        raise Conflict(f"already acknowledged at {row.acknowledged_at.isoformat()}")
    row.acknowledged_at = now()
    await AuditRepository(session, who, chain_keys(request)).seal_coaching(row, "qa_coaching_acknowledged")
    out = _education(row)
    await session.commit()
    return out
