"""Records every read of a chart's PHI-bearing data, allowed or refused, before the answer leaves.

An ASGI middleware rather than a route dependency: it sees the final status of every request
(including 401/403/404 raised inside dependencies and 422s from validation), and no route has to
remember to call it. The row is written when the response starts; if it cannot be written the
caller gets a 503 instead of the data, so PHI never leaves without its access record.
"""

import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM
from models.access import Principal
from models.evidence.access_log_tables import PhiAccess
from models.repositories.evidence_chain import AccessLogRepository

log = structlog.get_logger(__name__)

REASON_HEADER = b"x-access-reason"
REASON_PARAM = "reason"
MAX_REASON = 256

# (path pattern, action): the reads that disclose a chart's PHI. The encounter list is not here:
# it shows ids, states and queues, not patients or notes.
PHI_READS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/v1/encounters/(?P<id>[^/]+)/evidence/?$"), "evidence.read"),
    (re.compile(r"^/v1/encounters/(?P<id>[^/]+)/documents(?:/.*)?$"), "documents.read"),
    (re.compile(r"^/v1/encounters/(?P<id>[^/]+)/?$"), "encounter.read"),
    (re.compile(r"^/v1/encounters/(?P<id>[^/]+)/suggestions/?$"), "suggestions.read"),  # excerpts quote the note
    # The web UI's pages of one chart show the same data.
    (re.compile(r"^/ui/encounters/(?P<id>[^/]+)/evidence/?$"), "evidence.read"),
    (re.compile(r"^/ui/encounters/(?P<id>[^/]+)/documents/[^/]+/?$"), "documents.read"),
    (re.compile(r"^/ui/(?:encounters|work)/(?P<id>[^/]+)/?$"), "encounter.read"),
    (re.compile(r"^/ui/work/(?P<id>[^/]+)/suggestions/?$"), "suggestions.read"),
    (re.compile(r"^/ui/audits/[^/]+/charts/(?P<id>[^/]+)/?$"), "audit_chart.read"),  # chart id = encounter id
    # Keyed by another id (no `id` group): the path names what was read. The 837P carries
    # demographics; the appeal packet and an audit's chart view quote the record.
    (re.compile(r"^/v1/claims/[^/]+/x12/?$"), "claim_x12.read"),
    (re.compile(r"^/v1/appeals/[^/]+/packet/?$"), "appeal_packet.read"),
    (re.compile(r"^/v1/audits/[^/]+/charts/[^/]+/?$"), "audit_chart.read"),
    # Queries quote the note (clinical indicators) and carry the physician's answer.
    (re.compile(r"^/v1/queries(?:/[^/]+)?/?$"), "queries.read"),
    (re.compile(r"^/ui/inbox/?$"), "queries.read"),
)
# Actions whose answer is the chart too: the API's chart actions return its detail, a claim
# returns the leased chart, and a web form that fails re-renders the chart page it came from.
PHI_POSTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/v1/encounters/(?P<id>[^/]+)/(?:coding|release|reassign|holds)/?$"), "encounter.read"),
    (re.compile(r"^/v1/queues/[^/]+/claim/?$"), "encounter.read"),
    (re.compile(r"^/ui/(?:encounters|work)/(?P<id>[^/]+)/.+$"), "encounter.read"),
    (re.compile(r"^/ui/audits/[^/]+/charts/(?P<id>[^/]+)/.+$"), "audit_chart.read"),
)
CODEC_DECODE = "temporal_payloads.decode"  # recorded by the codec endpoint itself (api.routes.codec)
ACTIONS = tuple(dict.fromkeys([*(action for _, action in (*PHI_READS, *PHI_POSTS)), CODEC_DECODE]))


@dataclass(frozen=True)
class PhiRead:
    action: str
    encounter_id: uuid.UUID | None
    by_post: bool = False  # a read only if the answer carries the chart (see `discloses`)
    path_is_ui: bool = False


def discloses(read: PhiRead, status: int, content_type: bytes) -> bool:
    """A POST reads the chart when it answers with it: not with a redirect or an empty 204, and
    a web form only when it renders a page (its JSON answers carry a next address, not the chart)."""
    if not read.by_post:
        return True
    if status == 204 or 300 <= status < 400:
        return False
    return not content_type.startswith(b"application/json") or not read.path_is_ui


def classify(method: str, path: str) -> PhiRead | None:
    """Which PHI read a request is, if any (None: not a PHI read, nothing to record)."""
    if method == "POST":
        for pattern, action in PHI_POSTS:
            if m := pattern.match(path):
                ident = _uuid(m["id"]) if "id" in pattern.groupindex else None
                return PhiRead(action, ident, by_post=True, path_is_ui=path.startswith("/ui/"))
        return None
    if method not in ("GET", "HEAD"):
        return None
    for pattern, action in PHI_READS:
        if m := pattern.match(path):
            try:
                return PhiRead(action, uuid.UUID(m["id"]) if "id" in pattern.groupindex else None)
            except ValueError:
                return PhiRead(action, None)
    return None


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def clean_reason(raw: str | None) -> str | None:
    """The caller's why-code, without control characters and bounded in length."""
    if not raw:
        return None
    text = "".join(ch for ch in raw if unicodedata.category(ch)[0] != "C").strip()
    return text[:MAX_REASON] or None


def outcome_of(status: int) -> str:
    return "allowed" if status < 400 else ("refused" if status < 500 else "error")


def _reason(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == REASON_HEADER:
            return clean_reason(value.decode("latin-1"))
    params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return clean_reason(params.get(REASON_PARAM, [None])[0])


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        read = classify(scope.get("method", ""), scope.get("path", "")) if scope["type"] == "http" else None
        if read is None:
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})  # shared with request.state downstream
        started = False
        withheld = False

        async def send_after_recording(message: Message) -> None:
            nonlocal started, withheld
            if message["type"] == "http.response.start":
                started = True
                headers = dict(message.get("headers", []))
                request_id = headers.get(b"x-request-id", b"").decode("latin-1") or None
                if not discloses(read, message["status"], headers.get(b"content-type", b"")):
                    pass  # the answer does not carry the chart: nothing was read
                elif not await self._record(scope, state, read, message["status"], request_id):
                    withheld = True
                    await _unavailable(send)
                    return
            elif withheld:
                return
            await send(message)

        try:
            await self.app(scope, receive, send_after_recording)
        except Exception:
            if not started:
                await self._record(scope, state, read, 500, None)
            raise

    async def _record(self, scope: Scope, state: dict[str, Any], read: PhiRead, status: int, request_id: str | None) -> bool:
        principal: Principal | None = state.get("principal")
        client = scope.get("client")
        try:
            async with scope["app"].state.sessions.begin() as session:
                repo = AccessLogRepository(session)
                tenant = principal.tenant_id if principal else None
                if tenant is None and read.encounter_id is not None:
                    tenant = await repo.owner_of(read.encounter_id)
                repo.record(
                    PhiAccess(
                        tenant_id=tenant,
                        user_id=principal.user_id if principal else None,
                        role=principal.role if principal else None,
                        vendor_id=principal.vendor_id if principal else None,
                        action=read.action,
                        method=scope["method"],
                        path=scope["path"][:2000],
                        encounter_id=read.encounter_id,
                        status_code=status,
                        outcome=outcome_of(status),
                        reason=_reason(scope),
                        request_id=request_id[:64] if request_id else None,
                        client_ip=str(client[0])[:64] if client else None,
                    )
                )
        except Exception:
            log.exception("access_log.write_failed", action=read.action, status=status)
            return False
        return True


async def _unavailable(send: Send) -> None:
    body = (
        b'{"type":"about:blank","title":"Service unavailable","status":503,'
        b'"detail":"this read of patient data could not be recorded in the access log, so it was '
        b'not served; retry shortly"}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
