"""The auditor console: create an audit from a sampling plan, list audits, coded charts, trail.

The create form posts to the API's own `create_audit` handler with the signed-in principal, after
the permission check its `require("audits.manage")` makes; the plan's validation and the empty-
universe refusal come back beside the form.
"""

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import SessionDep, chain_keys
from api.schemas.audits import AuditIn, UniverseIn
from api.web.forms import Problem, attempt, text
from api.web.render import WebRoute, page
from api.web.session import WebSession, viewer
from models.access import can
from models.encounters.tables import Encounter
from models.repositories import users
from models.repositories.encounters import visible
from models.repositories.qa_audits import AuditRepository
from services import evidence, qa_audits

router = APIRouter(route_class=WebRoute, include_in_schema=False)

METHODS = (("census", "Census (every chart)"), ("simple_random", "Simple random"), ("stratified", "Stratified"))
STRATA = ("vendor", "coder", "specialty", "payer", "risk")


def _defaults(today: date) -> dict[str, str]:
    return {
        "method": "simple_random", "seed": today.strftime("%Y%m%d"), "confidence": "0.95", "precision": "0.05",
        "timing": "retrospective", "blind": "yes", "strata_key": "vendor",
    }  # fmt: skip


async def console_page(
    request: Request, db: SessionDep, session: WebSession, *, status: int = 200,
    values: dict[str, str] | None = None, problem: Problem | None = None,
) -> Response:  # fmt: skip
    who = session.principal
    coded = (
        await db.scalars(visible(who).order_by(Encounter.coded_at.desc().nulls_last(), Encounter.id).limit(100))
    ).all()
    trail = await evidence.verify_trail(db, who, chain_keys(request), None, "tenant")
    vendors = await users.vendors(db, who.tenant_id)
    return page(
        request, "audits.html", session, status=status, coded=coded, trail=trail,
        audits=await AuditRepository(db, who).audits(), vendors=vendors, methods=METHODS, strata=STRATA,
        can_create=can(who, "audits.manage"), values=values or _defaults(datetime.now(UTC).date()), problem=problem,
    )  # fmt: skip


@router.get("/ui/audits", response_class=HTMLResponse)
async def console(request: Request, db: SessionDep, session: Annotated[WebSession, Depends(viewer("audits.review"))]) -> Response:
    return await console_page(request, db, session)


def _number(value: str) -> float | None:
    return float(value) if value else None


def audit_in(v: dict[str, str]) -> AuditIn:
    """The form's fields as the API's request body (pydantic validates exactly as for JSON)."""
    body: dict[str, Any] = {
        "name": v.get("name", ""), "method": v.get("method", ""), "seed": v.get("seed") or None,
        "timing": v.get("timing") or "retrospective", "blind": v.get("blind", "yes") == "yes",
        "universe": UniverseIn(
            date_from=v.get("date_from") or None, date_to=v.get("date_to") or None,
            vendors=[v["vendor"]] if v.get("vendor") else [],
        ),
    }  # fmt: skip
    if v.get("method") != "census":
        if v.get("size"):
            body["size"] = v["size"]
        for key in ("confidence", "precision", "expected_error_rate"):
            if v.get(key):
                body[key] = _number(v[key])
    if v.get("method") == "stratified":
        body["strata_key"] = v.get("strata_key") or None
    return AuditIn.model_validate(body)


FIELDS = (
    "name", "method", "size", "confidence", "precision", "expected_error_rate", "seed", "date_from", "date_to",
    "vendor", "timing", "blind", "strata_key",
)  # fmt: skip


@router.post("/ui/audits")
async def create(request: Request, db: SessionDep, session: Annotated[WebSession, Depends(viewer("audits.manage"))]) -> Response:
    form = await request.form()
    values = {k: text(form, k) for k in FIELDS}

    async def run() -> dict[str, Any]:
        body = audit_in(values)
        return await qa_audits.create_audit(db, session.principal, chain_keys(request), body.plan(), body.options(), body.size)

    created = await attempt(run())
    if isinstance(created, Problem):
        return await console_page(request, db, session, values=values, problem=created)
    return RedirectResponse(f"/ui/audits/{created['id']}", status_code=303)
