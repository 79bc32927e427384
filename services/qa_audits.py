"""QA audits: drawing a sample, blind re-coding, findings with rebuttal, coaching and the report.

The API routes and the web pages both call these; each function owns its transaction."""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from models.access import Principal
from models.errors import AccessDenied, InvalidRequest, StateConflict
from models.evidence.chain import Keyring
from models.qa.findings import FINDING_CATEGORIES, FindingEvent, compare_coding
from models.qa.plan import chart_coding
from models.qa.report import coaching, finding_json, report
from models.qa.rules import FindingInput, build_findings, drafts_out
from models.qa.sampling import SamplingPlan, attribute_sample_size
from models.qa.tables import QaAudit
from models.repositories.encounters import EncounterRepository
from models.repositories.qa_audits import AuditOptions, AuditRepository, now
from models.webhooks.events import finding_issued
from services import coding, outbound_events, suggestions
from services.encounters import handle
from services.qa_cycles import audit_cycles
from services.qa_pdf import render_pdf
from workflows.encounter import EncounterWorkflow

TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).resolve().parents[1] / "api" / "templates"), autoescape=select_autoescape())


def summary(a: QaAudit) -> dict[str, Any]:
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
        **summary(a),
        "encounter_ids": a.encounter_ids if repo.principal.role not in ("coder", "vendor_lead") else [str(c.encounter_id) for c in charts],
        "charts": [
            {"encounter_id": str(c.encounter_id), "coder_id": c.coder_id, "vendor_id": c.vendor_id, "stratum": c.stratum,
             "status": c.status, "double_review": c.double_review, "primary_auditor": c.primary_auditor,
             "second_auditor": c.second_auditor,
             "audit_hold": None if c.encounter_id not in holds else {"placed_at": holds[c.encounter_id].placed_at, "released_at": holds[c.encounter_id].released_at}}
            for c in charts
        ],
    }  # fmt: skip


def check_codes(codes: dict[str, Any], service_date: date) -> None:
    """The auditor's codes meet the same code-set rules as the coder's (evidence aside)."""
    procedures = [coding.ProcedureLine(p["code"], list(p.get("modifiers", [])), p.get("units", 1)) for p in codes.get("procedures", [])]
    coding.check_recoding([d["code"] for d in codes.get("diagnoses", [])], procedures, service_date)


async def resume_billing(temporal: Client, encounter_ids: list[uuid.UUID]) -> None:
    """Tell each chart's workflow its prospective review is over, so a held claim can leave."""
    for encounter_id in encounter_ids:
        try:
            await handle(temporal, encounter_id).signal(EncounterWorkflow.qa_released)
        except RPCError as exc:  # a chart whose workflow already ended has nothing to resume
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise


async def create_audit(
    session: AsyncSession, who: Principal, keys: Keyring, plan: SamplingPlan, options: AuditOptions, given_size: int | None
) -> dict[str, Any]:
    """Draw a sample from the plan; frame, seed, method and algorithm are stored for re-drawing."""
    repo = AuditRepository(session, who, keys)
    audit = await repo.create(plan, options)
    out = await _detail(repo, audit)
    await session.commit()
    # The population-free figure is the one printed in attribute-sampling tables.
    table = attribute_sample_size(10**9, plan.confidence, plan.precision, plan.expected_error_rate)
    return {**out, "size_basis": {"given": given_size, "table_size": table, "frame_size": audit.frame_size}}


async def coaching_view(session: AsyncSession, who: Principal, coder: str | None) -> dict[str, Any]:
    """Each coder's top finding categories, examples, references, repeats, education and trend."""
    if who.role == "coder":
        if coder not in (None, who.user_id):
            raise AccessDenied("a coder sees only their own coaching; omit 'coder' or pass your own id")
        coder = who.user_id
    repo = AuditRepository(session, who)
    cycles = await audit_cycles(repo)
    visible = {c.coder_id for cycle in cycles for c in cycle.charts}
    education = [e for e in await repo.education() if who.role not in ("coder", "vendor_lead") or e.coder_id in visible | {who.user_id}]
    return coaching(cycles, education, coder)


async def audit_detail(session: AsyncSession, who: Principal, audit_id: uuid.UUID) -> dict[str, Any]:
    repo = AuditRepository(session, who)
    return await _detail(repo, await repo.audit(audit_id))


async def audit_chart(session: AsyncSession, who: Principal, audit_id: uuid.UUID, chart_id: uuid.UUID) -> dict[str, Any]:
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


async def submit_review(
    session: AsyncSession, who: Principal, keys: Keyring, audit_id: uuid.UUID, chart_id: uuid.UUID, codes: dict[str, Any]
) -> dict[str, Any]:
    """Store the auditor's own coding (`codes`: diagnoses and procedures as JSON); the primary
    reviewer gets the differences to annotate."""
    repo = AuditRepository(session, who, keys)
    a = await repo.audit(audit_id)
    chart = await repo.chart(a, chart_id)
    check_codes(codes, chart.service_date)
    review = await repo.submit_review(a, chart, codes)
    drafts = compare_coding(chart_coding(chart.coder_codes), chart_coding(review.codes)).drafts
    await session.commit()
    return {
        "role": review.role, "status": chart.status, "lines_reviewed": review.lines_reviewed,
        "coder_codes": chart.coder_codes, "drafts": drafts_out(drafts) if review.role == "primary" else [],
    }  # fmt: skip


@dataclass(frozen=True)
class Dispatch:
    """What sending the outbound events needs once the transaction is committed."""

    sessions: async_sessionmaker[AsyncSession]
    temporal: Callable[[], Client]
    task_queue: str


async def record_findings(
    session: AsyncSession, who: Principal, keys: Keyring, temporal: Client, dispatch: Dispatch,
    audit_id: uuid.UUID, chart_id: uuid.UUID, inputs: Sequence[FindingInput],
) -> list[dict[str, Any]]:  # fmt: skip
    """One finding per difference, each with category, guideline reference and rationale."""
    repo = AuditRepository(session, who, keys)
    a = await repo.audit(audit_id)
    chart = await repo.chart(a, chart_id)
    mine = await repo.primary_review(chart)
    if a.status != "open":
        raise StateConflict(f"audit {a.id} is {a.status}; findings can no longer be recorded")
    if mine is None or mine.auditor_id != who.user_id:
        raise StateConflict("findings come from your primary review: submit your re-coding of this chart first")
    if chart.status != "recoded":
        raise StateConflict(f"findings for this chart are already recorded (chart status '{chart.status}')")
    drafts = compare_coding(chart_coding(chart.coder_codes), chart_coding(mine.codes)).drafts
    findings, errors = build_findings(
        drafts, list(inputs), ids=[str(uuid.uuid4()) for _ in inputs], encounter_id=str(chart.encounter_id),
        coder_id=chart.coder_id, auditor_id=who.user_id, at=now(),
    )  # fmt: skip
    if errors:
        raise InvalidRequest(f"{len(errors)} problem(s): " + "; ".join(f"{e['path']}: {e['message']}" for e in errors), errors=errors)
    rows = await repo.save_findings(a, chart, findings)
    out = [finding_json(r) for r in rows]
    issued = [finding_issued(str(a.id), str(r.id), str(chart.encounter_id)) for r in rows]
    event_ids = await outbound_events.record(session, who.tenant_id, issued, now(), encounter_id=chart.encounter_id)
    await session.commit()
    await outbound_events.dispatch(dispatch.sessions, dispatch.temporal, dispatch.task_queue, event_ids)
    await resume_billing(temporal, repo.released)
    return out


async def list_findings(session: AsyncSession, who: Principal, audit_id: uuid.UUID) -> list[dict[str, Any]]:
    repo = AuditRepository(session, who)
    a = await repo.audit(audit_id)
    return [finding_json(r) for r in await repo.findings([a.id])]


async def respond(
    session: AsyncSession, who: Principal, keys: Keyring, finding_id: uuid.UUID, action: Literal["agree", "dispute"], comment: str
) -> dict[str, Any]:
    """The coder (or their vendor lead) agrees, which makes it final, or disputes with a comment."""
    repo = AuditRepository(session, who, keys)
    row = await repo.finding(finding_id, lock=True)
    at = now()
    events = [FindingEvent(action, row.coder_id, "coder", at, comment)]
    if action == "agree":
        events.append(FindingEvent("finalize", "system", "system", at))
    await repo.step(row, *events)
    out = finding_json(row)
    await session.commit()
    return out


async def reconcile(
    session: AsyncSession, who: Principal, keys: Keyring, finding_id: uuid.UUID,
    outcome: str, comment: str, category: str | None, severity: str | None,
) -> dict[str, Any]:  # fmt: skip
    """The auditor answers a dispute (upheld, revised or withdrawn); the finding is then final."""
    if category is not None and category not in FINDING_CATEGORIES:
        raise InvalidRequest(f"category must be one of {', '.join(sorted(FINDING_CATEGORIES))}")
    repo = AuditRepository(session, who, keys)
    row = await repo.finding(finding_id, lock=True)
    at = now()
    await repo.step(
        row,
        FindingEvent("reconcile", who.user_id, "auditor", at, comment, outcome, category, severity),  # type: ignore[arg-type]
        FindingEvent("finalize", who.user_id, "auditor", at),
    )
    out = finding_json(row)
    await session.commit()
    return out


async def audit_report(session: AsyncSession, who: Principal, audit_id: uuid.UUID) -> tuple[QaAudit, dict[str, Any]]:
    """Sample definition, accuracy (code and chart level), findings by category, repeats, kappa, trends."""
    repo = AuditRepository(session, who)
    a = await repo.audit(audit_id)
    cycles = await audit_cycles(repo, upto=a.cycle)
    data = report(cycles)
    data["suggestions"] = await suggestions.audit_quality(session, cycles[-1].charts, cycles[-1].findings)
    return a, data


@dataclass(frozen=True)
class Document:
    """A rendered report: its content, media type and, for a download, its file name."""

    content: str | bytes
    media_type: str
    filename: str | None = None


def render_report(a: QaAudit, data: dict[str, Any], fmt: Literal["html", "pdf"]) -> Document:
    if fmt == "html":
        return Document(TEMPLATES.get_template("audit_report.html").render(r=data), "text/html")
    return Document(render_pdf(data), "application/pdf", f"audit-{a.id}.pdf")
