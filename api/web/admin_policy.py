"""The administrator's tenant policy page: every value in one form, over the same use case as the API."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.schemas.tenant_policy import TenantPolicyIn
from api.views import change_policy, read_policy
from api.web.forms import Problem, attempt, csv, text
from api.web.render import WebRoute, page
from api.web.session import WebSession, viewer
from models.encounters.holds import HOLD_REASONS
from models.tenants.policy import DOCUMENT_TYPES, ENCOUNTER_CLASSES
from services import tenant_policy as service

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Admin = Annotated[WebSession, Depends(viewer("tenant.manage"))]
NUMBERS = (
    ("coding_sla_hours", "Coding turnaround SLA", "hours from receipt to coded"),
    ("lease_minutes", "Lease", "minutes an idle claimed chart stays with its coder"),
    ("query_reminder_hours", "Query reminder", "hours after a query opens"),
    ("query_escalate_hours", "Query escalation", "hours after a query opens"),
    ("query_expire_hours", "Query expiry", "hours after a query opens"),
    ("prebill_review_hours", "Pre-bill review window", "hours a clean claim waits for prospective QA (0: bill at once)"),
    ("claim_follow_up_days", "Claim follow-up", "days without a remittance before follow-up"),
)


def _sessions(request: Request) -> Any:
    return request.app.state.sessions


async def _render(request: Request, session: WebSession, *, saved: str | None = None, problem: Problem | None = None, form: dict[str, str] | None = None) -> Response:
    current = await read_policy(_sessions(request), session.principal)
    changes = await service.history(_sessions(request), session.principal.tenant_id, limit=10)
    boxes = ("require_any_document", "query_keeps_assignee")
    checks = {k: form.get(k) == "on" if form else bool(current.policy[k]) for k in boxes}
    return page(
        request, "admin_policy.html", session, current=current, changes=changes, numbers=NUMBERS, classes=ENCOUNTER_CLASSES,
        document_types=DOCUMENT_TYPES, hold_reasons=HOLD_REASONS, saved=saved, problem=problem, form=form or {}, checks=checks,
    )


@router.get("/ui/admin/policy", response_class=HTMLResponse)
async def policy_page(request: Request, session: Admin, saved: str | None = None) -> Response:
    return await _render(request, session, saved=saved)


@router.post("/ui/admin/policy")
async def policy_save(request: Request, session: Admin) -> Response:
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    changes: dict[str, Any] = {key: text(form, key) for key, _, _ in NUMBERS if text(form, key)}
    docs = {cls: csv(text(form, f"docs_{cls}")) for cls in ENCOUNTER_CLASSES}
    changes["required_documents"] = {cls: codes for cls, codes in docs.items() if codes or cls == "*"}
    changes["require_any_document"] = text(form, "require_any_document") == "on"
    changes["query_keeps_assignee"] = text(form, "query_keeps_assignee") == "on"
    changes["query_escalate_to"] = text(form, "query_escalate_to")
    changes["appeal_warning_days"] = text(form, "appeal_warning_days")
    changes["hold_alert_hours"] = {r: text(form, f"hold_{r}") for r in HOLD_REASONS if text(form, f"hold_{r}")}
    changes["default_queue"] = text(form, "default_queue") or None
    version = text(form, "version")
    body = TenantPolicyIn(policy=changes, reason=text(form, "reason") or None, version=int(version) if version.isdigit() else None)
    result = await attempt(change_policy(_sessions(request), session.principal, body))
    if isinstance(result, Problem):
        return await _render(request, session, problem=result, form=fields)
    return RedirectResponse(f"/ui/admin/policy?saved={result.version}", status_code=303)
