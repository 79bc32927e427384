"""The physician inbox: open queries with their cited indicators, answers, and history."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.deps import SessionDep, TemporalDep
from api.schemas.queries import AnswerIn
from api.views import find_queries
from api.web import data
from api.web.render import WebRoute, page
from api.web.session import WebError, WebSession, viewer
from models.errors import InvalidRequest
from models.repositories.queries import QueryFilter
from services import queries

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Physician = Annotated[WebSession, Depends(viewer("queries.answer"))]


async def _inbox(request: Request, db: SessionDep, session: WebSession, *, status: int = 200, **context: object) -> Response:
    who = session.principal
    open_queries = await find_queries(db, who, QueryFilter(status="open"))
    history = [q for q in await find_queries(db, who, QueryFilter()) if q.status != "open"]
    history.sort(key=lambda q: q.answered_at or q.withdrawn_at or q.opened_at, reverse=True)
    return page(request, "inbox.html", session, status=status, open_queries=open_queries, history=history[:50], **context)


@router.get("/ui/inbox", response_class=HTMLResponse)
async def inbox(request: Request, db: SessionDep, session: Physician, answered: str | None = None) -> Response:
    return await _inbox(request, db, session, answered=answered)


@router.post("/ui/inbox/{query_id}/answer")
async def answer(
    request: Request,
    query_id: str,
    db: SessionDep,
    temporal: TemporalDep,
    session: Physician,
    option_index: Annotated[str, Form()] = "",
    free_text: Annotated[str, Form()] = "",
    addendum: Annotated[str, Form()] = "",
) -> Response:
    ident = data.parse_id(query_id)
    if ident is None:
        raise WebError(404, "this query does not exist or is not addressed to you")
    try:
        body = AnswerIn(
            option_index=int(option_index) if option_index.isdigit() else None,
            free_text=free_text or None,
            addendum=addendum or None,
        )
        await queries.answer_query(
            db, temporal, session.principal, ident, option_index=body.option_index, free_text=body.free_text, addendum=body.addendum
        )
    except ValidationError as exc:
        detail = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        return await _inbox(request, db, session, status=422, error=detail, error_for=query_id)
    except InvalidRequest as exc:
        return await _inbox(request, db, session, status=422, error=exc.detail, error_for=query_id)
    return RedirectResponse(f"/ui/inbox?answered={uuid.UUID(query_id)}", status_code=303)
