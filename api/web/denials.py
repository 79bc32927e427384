"""The denial work queue for operations: open denials by queue with their appeal deadlines, filing
an appeal with a reason, and recording the payer's decision — the denials API's own handlers."""

from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import SessionDep, TemporalDep
from api.schemas.claims import AppealIn, AppealOut, DecisionIn, DenialOut
from api.views import appeal_view, denial_view, read_appeal
from api.web import data
from api.web.forms import Problem, attempt, text
from api.web.render import WebRoute, page
from api.web.session import WebError, WebSession, viewer
from models.access import can
from models.claims.tables import AppealRow
from models.encounters.tables import Encounter
from models.repositories import scope
from models.repositories.encounters import visible
from models.repositories.queries import QueryRepository
from services import denials as denial_service

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Worker = Annotated[WebSession, Depends(viewer("denials.work"))]
LEVELS = ("redetermination", "reconsideration", "first_level", "second_level", "external", "alj", "council", "judicial")


async def queue_page(request: Request, db: SessionDep, session: WebSession, *, status: int = 200, **context: Any) -> Response:
    who = session.principal
    denials: list[DenialOut] = []
    for state in ("open", "appealed"):
        denials += [denial_view(d) for d in await denial_service.find_denials(db, who, status=state, limit=500)]
    queues: dict[str, list[DenialOut]] = defaultdict(list)
    for d in denials:
        queues[d.work_queue or "unassigned"].append(d)
    rows = await db.scalars(scope.appeals(who).where(AppealRow.status == "open").order_by(AppealRow.deadline))
    repo = QueryRepository(db, who)
    appeals: list[AppealOut] = [await appeal_view(repo, a) for a in rows.all()]
    names: dict[Any, str] = dict(
        (await db.execute(visible(who).where(Encounter.id.in_({d.encounter_id for d in denials})).with_only_columns(Encounter.id, Encounter.external_id))).all()
    ) if denials else {}  # fmt: skip
    return page(
        request, "denials.html", session, status=status, queues=sorted(queues.items()), appeals=appeals,
        names={str(k): v for k, v in names.items()}, levels=LEVELS, today=datetime.now(UTC).date(),
        can_appeal=can(who, "appeals.manage"), **context,
    )  # fmt: skip


@router.get("/ui/denials", response_class=HTMLResponse)
async def work_queue(request: Request, db: SessionDep, session: Worker) -> Response:
    return await queue_page(request, db, session)


def _id(value: str) -> Any:
    found = data.parse_id(value)
    if found is None:
        raise WebError(404, "this denial or appeal does not exist or is not visible to you")
    return found


@router.post("/ui/denials/{denial_id}/appeal")
async def file_appeal(
    request: Request, db: SessionDep, temporal: TemporalDep, denial_id: str,
    session: Annotated[WebSession, Depends(viewer("appeals.manage"))],
) -> Response:  # fmt: skip
    ident = _id(denial_id)
    form = await request.form()

    async def run() -> AppealOut:
        body = AppealIn(level=text(form, "level") or "redetermination", reason=text(form, "reason"))
        filed = await denial_service.file_appeal(db, temporal, session.principal, ident, body.level, body.reason)
        return await read_appeal(db, session.principal, filed)

    done = await attempt(run())
    if isinstance(done, Problem):
        return await queue_page(request, db, session, problem=done, problem_for=str(ident))
    return RedirectResponse(f"/ui/denials?filed={done.id}#appeals", status_code=303)


def _cents(value: str) -> int:
    try:
        return max(round(float(value.replace(",", "").replace("$", "") or "0") * 100), 0)
    except ValueError:
        return -1  # refused by DecisionIn (ge=0) with the field named


@router.post("/ui/appeals/{appeal_id}/decision")
async def decide(
    request: Request, db: SessionDep, temporal: TemporalDep, appeal_id: str,
    session: Annotated[WebSession, Depends(viewer("appeals.manage"))],
) -> Response:  # fmt: skip
    ident = _id(appeal_id)
    form = await request.form()

    async def run() -> AppealOut:
        body = DecisionIn(decision=text(form, "decision"), recovered_cents=_cents(text(form, "recovered")))
        decided = await denial_service.decide_appeal(db, temporal, session.principal, ident, body.decision, body.recovered_cents)
        return await read_appeal(db, session.principal, decided)

    done = await attempt(run())
    if isinstance(done, Problem):
        return await queue_page(request, db, session, problem=done, problem_for=str(ident))
    return RedirectResponse(f"/ui/denials?decided={done.id}#appeals", status_code=303)
