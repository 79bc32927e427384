"""The PHI access log for admins and compliance: who read which chart, when, why, and the answer."""

import base64
import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.access_log import ACTIONS
from api.deps import SessionDep, require
from api.errors import BadRequest
from api.fields import Instant
from models.access import Principal, Role
from models.evidence.access_log_tables import PhiAccess
from models.repositories.evidence_chain import AccessLogFilter, AccessLogRepository

router = APIRouter(tags=["audit"])

Action = Literal[
    "encounter.read", "evidence.read", "documents.read", "claim_x12.read", "appeal_packet.read", "audit_chart.read",
    "queries.read", "temporal_payloads.decode", "suggestions.read",
]
assert set(get_args(Action)) == set(ACTIONS)  # the filter offers exactly what the middleware records


class AccessEntry(BaseModel):
    id: int
    at: datetime
    tenant_id: str | None
    user: str | None
    role: str | None
    vendor: str | None
    action: str
    method: str
    path: str
    encounter_id: str | None
    status: int
    outcome: str
    reason: str | None
    request_id: str | None
    client_ip: str | None


class AccessPage(BaseModel):
    items: list[AccessEntry]
    next_cursor: str | None


def _entry(row: PhiAccess) -> AccessEntry:
    return AccessEntry(
        id=row.id, at=row.occurred_at, tenant_id=row.tenant_id, user=row.user_id, role=row.role, vendor=row.vendor_id,
        action=row.action, method=row.method, path=row.path,
        encounter_id=str(row.encounter_id) if row.encounter_id else None,
        status=row.status_code, outcome=row.outcome, reason=row.reason,
        request_id=row.request_id, client_ip=row.client_ip,
    )


def _cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(f"access:{row_id}".encode()).decode()


def _after(cursor: str) -> int:
    try:
        kind, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        if kind != "access":
            raise ValueError(kind)
        return int(row_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("the cursor is not one this API returned; start again without it") from exc


def _utc(value: datetime | None) -> datetime | None:
    """A time without an offset is read as UTC, never as the server's local time."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@router.get("/v1/access-log", response_model=AccessPage)
async def access_log(
    session: SessionDep,
    who: Annotated[Principal, Depends(require("access_log.read"))],
    user: Annotated[str | None, Query(description="user id of the reader")] = None,
    role: Annotated[Role | None, Query(description="role of the reader")] = None,
    encounter_id: uuid.UUID | None = None,
    action: Annotated[Action | None, Query(description="what was read")] = None,
    outcome: Annotated[Literal["allowed", "refused", "error"] | None, Query(description="refused: 401/403/404 and other 4xx")] = None,
    since: Annotated[Instant | None, Query(alias="from", description="inclusive; ISO 8601, UTC if no offset")] = None,
    until: Annotated[Instant | None, Query(alias="to", description="exclusive; ISO 8601, UTC if no offset")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AccessPage:
    """Reads of chart PHI in your tenant, newest first. Every read of encounter detail, documents,
    evidence, a claim's 837P, an appeal packet or an audit's chart view is here, allowed or refused; a reader may say why with `X-Access-Reason` or `?reason=`.
    Anonymous attempts on one of your charts appear with no user."""
    repo = AccessLogRepository(session)
    filters = AccessLogFilter(user, role, encounter_id, action, outcome, _utc(since), _utc(until))
    rows = await repo.find(who.tenant_id, filters, before_id=_after(cursor) if cursor else None, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return AccessPage(items=[_entry(r) for r in rows], next_cursor=_cursor(rows[-1].id) if more else None)
