"""QA audits: reproducible samples, blind re-coding, findings with rebuttal, coaching, reports."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from api.deps import SessionDep, TemporalDep, chain_keys, require
from api.errors import Conflict, Forbidden, NotFound, Unprocessable
from api.qa_http import dispatch, document_response
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
from models.qa.findings import FINDING_CATEGORIES, FindingEvent
from models.qa.plan import frame_from_json, plan_from_json
from models.qa.sampling import Sample, frame_fingerprint, verify_sample
from models.qa.tables import QaEducation
from models.repositories.qa_audits import AuditOptions, AuditRepository, education_locked, now
from services import qa_audits

router = APIRouter(tags=["audits"])
PROBLEMS: dict[int | str, dict[str, Any]] = {404: {"description": "unknown in your tenant"}, 409: {"description": "not allowed in the current state"}}

Manager = Annotated[Principal, Depends(require("audits.manage"))]
Reader = Annotated[Principal, Depends(require("audits.read"))]
Reviewer = Annotated[Principal, Depends(require("audits.review"))]
Responder = Annotated[Principal, Depends(require("audits.respond"))]


@router.post("/v1/audits", status_code=201, responses={422: {"description": "invalid plan or empty universe; nothing stored"}})
async def create_audit(body: AuditIn, request: Request, session: SessionDep, who: Manager) -> dict[str, Any]:
    """Draw a sample from the plan; frame, seed, method and algorithm are stored for re-drawing."""
    return await qa_audits.create_audit(session, who, chain_keys(request), body.plan(), body.options(), body.size)


@router.get("/v1/audits")
async def list_audits(session: SessionDep, who: Reader) -> list[dict[str, Any]]:
    return [qa_audits.summary(a) for a in await AuditRepository(session, who).audits()]


@router.get("/v1/audits/coaching")
async def coaching_view(session: SessionDep, who: Reader, coder: str | None = None) -> dict[str, Any]:
    """Each coder's top finding categories, examples, references, repeats, education and trend."""
    return await qa_audits.coaching_view(session, who, coder)


@router.get("/v1/audits/{audit_id}", responses=PROBLEMS)
async def get_audit(audit_id: uuid.UUID, session: SessionDep, who: Reader) -> dict[str, Any]:
    return await qa_audits.audit_detail(session, who, audit_id)


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
    return await qa_audits.audit_chart(session, who, audit_id, chart_id)


@router.post("/v1/audits/{audit_id}/charts/{chart_id}/review", status_code=201, responses=PROBLEMS)
async def submit_review(
    audit_id: uuid.UUID, chart_id: uuid.UUID, body: ReviewIn, request: Request, session: SessionDep, who: Reviewer
) -> dict[str, Any]:
    """Store the auditor's own coding; the primary reviewer gets the differences to annotate."""
    return await qa_audits.submit_review(session, who, chain_keys(request), audit_id, chart_id, body.model_dump(mode="json"))


@router.post("/v1/audits/{audit_id}/charts/{chart_id}/findings", status_code=201, response_model=list[FindingOut], responses={**PROBLEMS, 422: {"description": "a finding lacks its category, reference or rationale; nothing stored"}})
async def record_findings(
    audit_id: uuid.UUID, chart_id: uuid.UUID, body: FindingsIn, request: Request, session: SessionDep, temporal: TemporalDep, who: Reviewer
) -> list[dict[str, Any]]:
    """One finding per difference, each with category, guideline reference and rationale."""
    return await qa_audits.record_findings(
        session, who, chain_keys(request), temporal, dispatch(request, temporal), audit_id, chart_id, body.inputs()
    )


@router.get("/v1/audits/{audit_id}/findings", response_model=list[FindingOut], responses=PROBLEMS)
async def list_findings(audit_id: uuid.UUID, session: SessionDep, who: Reader) -> list[dict[str, Any]]:
    return await qa_audits.list_findings(session, who, audit_id)


@router.post("/v1/findings/{finding_id}/respond", response_model=FindingOut, responses=PROBLEMS)
async def respond(finding_id: uuid.UUID, body: RespondIn, request: Request, session: SessionDep, who: Responder) -> dict[str, Any]:
    """The coder (or their vendor lead) agrees, which makes it final, or disputes with a comment."""
    return await qa_audits.respond(session, who, chain_keys(request), finding_id, body.action, body.comment)


@router.post("/v1/findings/{finding_id}/reconcile", response_model=FindingOut, responses=PROBLEMS)
async def reconcile(finding_id: uuid.UUID, body: ReconcileIn, request: Request, session: SessionDep, who: Reviewer) -> dict[str, Any]:
    """The auditor answers a dispute (upheld, revised or withdrawn); the finding is then final."""
    return await qa_audits.reconcile(session, who, chain_keys(request), finding_id, body.outcome, body.comment, body.category, body.severity)


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
    out = qa_audits.summary(a)
    await session.commit()
    await qa_audits.resume_billing(temporal, repo.released)
    return out


@router.get("/v1/audits/{audit_id}/report", responses={**PROBLEMS, 200: {"content": {"application/json": {}, "text/html": {}, "application/pdf": {}}}})
async def audit_report(
    audit_id: uuid.UUID, session: SessionDep, who: Reader, format: Annotated[Literal["json", "html", "pdf"], Query()] = "json"
) -> Any:
    """Sample definition, accuracy (code and chart level), findings by category, repeats, kappa, trends."""
    a, data = await qa_audits.audit_report(session, who, audit_id)
    if format == "json":
        return data
    return document_response(qa_audits.render_report(a, data, format))


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
    row = await education_locked(session, who.tenant_id, education_id)
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
