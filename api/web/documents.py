"""A note's whole text from the web UI, for notes longer than a page shows (same entitlement as the API)."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from api.deps import SessionDep
from api.errors import as_app_error
from api.views import text_download
from api.web import data
from api.web.render import TEMPLATES, WebRoute
from api.web.session import WebError, WebSession, viewer
from models.coding.quotation import highlight
from models.encounters.note_access import DISPLAY_LIMIT
from models.errors import DomainError
from services.encounters import readable_document

router = APIRouter(route_class=WebRoute, include_in_schema=False)
TEMPLATES.env.globals["note_limit"] = DISPLAY_LIMIT
TEMPLATES.env.globals["highlight"] = highlight  # cited spans, in every page that shows a note


@router.get("/ui/encounters/{encounter_id}/documents/{document_id}")
async def download_note(
    encounter_id: str, document_id: str, db: SessionDep, session: Annotated[WebSession, Depends(viewer("encounters.read"))]
) -> Response:
    enc, doc = data.parse_id(encounter_id), data.parse_id(document_id)
    if enc is None or doc is None:
        raise WebError(404, "this document does not exist or is not visible to you")
    try:
        return text_download(await readable_document(db, session.principal, enc, doc))
    except DomainError as exc:
        error = as_app_error(exc)
        raise WebError(error.status_code, error.detail) from exc
