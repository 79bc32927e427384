"""HTTP glue the QA audit routes and pages share: the outbound-event dispatch from the app's
state, and a rendered report as a response."""

from fastapi import Request, Response
from temporalio.client import Client

from services.qa_audits import Dispatch, Document


def dispatch(request: Request, temporal: Client) -> Dispatch:
    return Dispatch(request.app.state.sessions, lambda: temporal, request.app.state.settings.task_queue)


def document_response(doc: Document) -> Response:
    headers = {"Content-Disposition": f'inline; filename="{doc.filename}"'} if doc.filename else None
    return Response(doc.content, media_type=doc.media_type, headers=headers)
