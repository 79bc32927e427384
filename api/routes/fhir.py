"""The work as FHIR R4 searches: Task (coding work items and physician queries),
CommunicationRequest (query questions) and Communication (query answers).

Paging: ``_count`` (default 50, at most 200) and the ``next`` link of the Bundle, which carries an
``_offset``. Results are newest-updated first. Every read goes through the caller's row filter.
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from api.deps import SessionDep, require
from api.errors import BadRequest
from api.views import query_views
from models.access import Principal, can
from models.encounters.fhir_work import (
    REQUEST_STATUS,
    TASK_STATUSES,
    SearchError,
    coding_task,
    communication,
    communication_request,
    parse_last_updated,
    query_task,
    query_updated,
    reference_id,
    searchset,
)
from models.repositories.fhir_work import TaskSearch, coding_tasks, query_rows
from models.repositories.queries import QueryRepository

router = APIRouter(prefix="/fhir/R4", tags=["fhir"])
MAX_COUNT = 200
MAX_OFFSET = 10_000


class FhirJSON(JSONResponse):
    media_type = "application/fhir+json"


# Everyone who works charts or queries; coding Tasks further need encounters.read (a physician
# sees only its queries), and every row passes the caller's row filter.
Reader = Annotated[Principal, Depends(require("queries.read"))]


def _search(
    status: str | None, owner: str | None, encounter: str | None, last_updated: list[str], code: str | None
) -> TaskSearch:
    try:
        updated = [b for v in last_updated for b in parse_last_updated(v)]
    except SearchError as exc:
        raise BadRequest(str(exc)) from exc
    statuses = frozenset(status.split(",")) if status else None
    enc_id = None
    if encounter:
        try:
            enc_id = uuid.UUID(reference_id(encounter, "Encounter"))
        except ValueError as exc:
            raise BadRequest(f"encounter '{encounter}' is not Encounter/<ClearChart encounter id>") from exc
    codes = frozenset({"coding", "physician-query"})
    if code:
        codes = frozenset(c.rsplit("|", 1)[-1] for c in code.split(",")) & codes
        if not codes:
            raise BadRequest(f"code '{code}' matches no work item type; use coding or physician-query")
    owner_id = reference_id(reference_id(owner, "Practitioner"), "PractitionerRole") if owner else None
    return TaskSearch(statuses, owner_id.rsplit("|", 1)[-1] if owner_id else None, enc_id, updated, codes)


def _page(request: Request, offset: int, count: int, total: int) -> tuple[str, str | None]:
    base = str(request.url).split("?")[0]
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("_offset", "_count")]

    def at(n: int) -> str:
        return f"{base}?{urlencode([*params, ('_count', count), ('_offset', n)])}"

    return at(offset), at(offset + count) if offset + count < total else None


def _fhir_base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir/R4"


Count = Annotated[int, Query(alias="_count", ge=1, le=MAX_COUNT)]
Offset = Annotated[int, Query(alias="_offset", ge=0, le=MAX_OFFSET)]
LastUpdated = Annotated[list[str] | None, Query(alias="_lastUpdated", description="e.g. ge2026-12-01T00:00:00Z; repeat for a range")]


@router.get("/Task", response_class=FhirJSON, responses={400: {"description": "a search parameter this server cannot honour"}})
async def search_tasks(
    request: Request,
    session: SessionDep,
    who: Reader,
    status: Annotated[str | None, Query(description="Task.status codes, comma-separated")] = None,
    owner: Annotated[str | None, Query(description="coder user id or physician NPI")] = None,
    encounter: Annotated[str | None, Query(description="Encounter/<id>")] = None,
    code: Annotated[str | None, Query(description="coding or physician-query")] = None,
    last_updated: LastUpdated = None,
    count: Count = 50,
    offset: Offset = 0,
) -> FhirJSON:
    """Coding work items and physician queries as FHIR R4 Tasks (a searchset Bundle)."""
    s = _search(status, owner, encounter, last_updated or [], code)
    if s.statuses is not None and (unknown := sorted(s.statuses - TASK_STATUSES)):
        raise BadRequest(f"status {', '.join(unknown)} is not a Task status this server uses: {', '.join(sorted(TASK_STATUSES))}")
    window = offset + count
    encounters, enc_total = await coding_tasks(session, who, s, window) if can(who, "encounters.read") else ([], 0)
    queries, q_total = await query_rows(session, who, s, window)
    keyed = [(e.updated_at, coding_task(e)) for e in encounters] + [(query_updated(q), query_task(q)) for q in queries]
    keyed.sort(key=lambda pair: (-pair[0].timestamp(), pair[1]["id"]))
    total = enc_total + q_total
    self_url, next_url = _page(request, offset, count, total)
    return FhirJSON(searchset([t for _, t in keyed[offset:window]], total, self_url, next_url, _fhir_base(request)))


async def _query_resources(
    request: Request, session: Any, who: Principal, s: TaskSearch, count: int, offset: int, *, answers: bool
) -> FhirJSON:
    status_map = {"answered": "completed"} if answers else REQUEST_STATUS
    if answers:
        s = TaskSearch(frozenset({"completed"}), s.owner, s.encounter_id, s.updated, s.codes)
    rows, total = await query_rows(session, who, s, offset + count, status_map=status_map)
    rows = rows[offset:]
    views = await query_views(QueryRepository(session, who), rows, datetime.now(UTC))
    resources = []
    for q, v in zip(rows, views, strict=True):
        if answers:
            resources.append(communication(q, " — ".join(x for x in (v.answer_option, v.answer_text) if x)))
        else:
            resources.append(communication_request(q, v.question, [o for o in v.options if o]))
    self_url, next_url = _page(request, offset, count, total)
    return FhirJSON(searchset(resources, total, self_url, next_url, _fhir_base(request)))


@router.get("/CommunicationRequest", response_class=FhirJSON, responses={400: {"description": "a search parameter this server cannot honour"}})
async def search_communication_requests(
    request: Request,
    session: SessionDep,
    who: Reader,
    status: Annotated[str | None, Query(description="active, completed or revoked")] = None,
    encounter: Annotated[str | None, Query(description="Encounter/<id>")] = None,
    last_updated: LastUpdated = None,
    count: Count = 50,
    offset: Offset = 0,
) -> FhirJSON:
    """Physician queries: the question, its options and who it is addressed to."""
    s = _search(status, None, encounter, last_updated or [], "physician-query")
    return await _query_resources(request, session, who, s, count, offset, answers=False)


@router.get("/Communication", response_class=FhirJSON, responses={400: {"description": "a search parameter this server cannot honour"}})
async def search_communications(
    request: Request,
    session: SessionDep,
    who: Reader,
    encounter: Annotated[str | None, Query(description="Encounter/<id>")] = None,
    last_updated: LastUpdated = None,
    count: Count = 50,
    offset: Offset = 0,
) -> FhirJSON:
    """Physician query answers."""
    s = _search(None, None, encounter, last_updated or [], "physician-query")
    return await _query_resources(request, session, who, s, count, offset, answers=True)
