"""The auditor console: coded charts to review, their evidence, and the audit trail's status.

Creating an audit from a sampling plan needs the QA audit API (`/v1/audits`), built separately;
the console detects it among the app's routes and shows that part only once it exists.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep
from api.routes import audit
from api.web.render import WebRoute, page
from api.web.session import WebSession, viewer
from models.repositories.encounters import visible
from models.tables import Encounter

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def audits_available(app: FastAPI) -> bool:
    """True once a `/v1/audits` route is served (the seam for the create-audit form)."""

    def paths(routes: list[object]) -> set[str]:
        found: set[str] = set()
        for r in routes:
            inner = getattr(r, "original_router", None)
            if inner is not None:
                found |= paths(inner.routes)
            elif isinstance(getattr(r, "path", None), str):
                found.add(r.path)  # type: ignore[attr-defined]
        return found

    return any(p == "/v1/audits" or p.startswith("/v1/audits/") for p in paths(list(app.routes)))


@router.get("/ui/audits", response_class=HTMLResponse)
async def console(request: Request, db: SessionDep, session: Annotated[WebSession, Depends(viewer("audits.review"))]) -> Response:
    who = session.principal
    coded = (
        await db.scalars(visible(who).order_by(Encounter.coded_at.desc().nulls_last(), Encounter.id).limit(100))
    ).all()
    trail = await audit.verify_trail(session=db, who=who, encounter_id=None, scope="tenant")
    return page(
        request, "audits.html", session, coded=coded, trail=trail, audits_enabled=audits_available(request.app)
    )
