"""Clearinghouse adapter: X12 files over HTTP.

Protocol (spoken by `integrations.sandbox.clearinghouse` and by a real clearinghouse gateway):

- Every request carries ``Authorization: Bearer <api_key>``; a missing or wrong key is 401.
- ``POST /v1/submissions`` with header ``X-Batch-Name: <name>`` (1-64 chars of
  ``[A-Za-z0-9._-]``) and the raw 837P as body (``Content-Type: application/edi-x12``): one
  interchange, typically a batch of many claims (one ST/SE transaction set each).
  Answer ``201 {"id": "<submission id>", "ack_999": "<999 interchange, or empty>"}``; the
  999 (or, for an envelope error, a TA1) also arrives in the mailbox, which is where ClearChart
  reads it. The batch name
  is the idempotency key: the same name with the same body answers ``200`` with the first
  receipt (so a retried activity never double-bills); the same name with another body is
  ``409``. A body that is not an X12 interchange is ``422``. A 999 that rejects the file
  is still a successful submission: the caller reads ``ack_999``.
- ``GET /v1/responses?since=<id>`` lists inbound files newer than ``<id>`` (all when
  omitted), oldest first: ``200 {"files": [{"id", "kind": "999"|"TA1"|"277CA"|"835", "content"}]}``.
  Ids are opaque strings in increasing order; pass the last one seen to page forward.
- Errors are RFC 9457 problem+json with a ``detail``. 408, 425, 429 and 5xx (and network
  failures) are transient, every other 4xx is permanent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import httpx

from integrations.billing.errors import ClearinghouseRejected, ClearinghouseUnavailable

InboundKind = Literal["999", "TA1", "277CA", "835"]
_KINDS: dict[object, InboundKind] = {"999": "999", "TA1": "TA1", "277CA": "277CA", "835": "835"}
_TRANSIENT = frozenset({408, 425, 429})


@dataclass(frozen=True)
class SubmissionReceipt:
    id: str
    ack_999: str


@dataclass(frozen=True)
class InboundFile:
    id: str
    kind: InboundKind
    content: str


class ClearinghouseClient(Protocol):
    """What billing activities need from a clearinghouse; tests may pass any implementation."""

    async def submit(self, batch_name: str, x12: str) -> SubmissionReceipt: ...

    async def fetch_responses(self, since_id: str | None = None) -> list[InboundFile]: ...


class HttpClearinghouse:
    """`ClearinghouseClient` over an injected `httpx.AsyncClient` (timeouts, pooling are its)."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, api_key: str) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"}

    async def submit(self, batch_name: str, x12: str) -> SubmissionReceipt:
        headers = {**self._headers, "X-Batch-Name": batch_name,
                   "Content-Type": "application/edi-x12"}  # fmt: skip
        body = await self._call("POST", "/v1/submissions", headers=headers, content=x12)
        if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not isinstance(body.get("ack_999", ""), str):
            raise ClearinghouseUnavailable("submission answer lacks an 'id' string")
        return SubmissionReceipt(body["id"], body.get("ack_999", ""))

    async def fetch_responses(self, since_id: str | None = None) -> list[InboundFile]:
        params = {"since": since_id} if since_id else {}
        body = await self._call("GET", "/v1/responses", headers=self._headers, params=params)
        files = body.get("files") if isinstance(body, dict) else None
        if not isinstance(files, list):
            raise ClearinghouseUnavailable("responses answer lacks a 'files' list")
        return [_inbound(item) for item in files]

    async def _call(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        content: str | None = None,
        params: dict[str, str] | None = None,
    ) -> object:
        url = f"{self._base_url}{path}"
        try:
            response = await self._http.request(method, url, headers=headers, content=content,
                                                params=params)  # fmt: skip
        except httpx.HTTPError as exc:
            raise ClearinghouseUnavailable(f"{method} {url} failed: {exc!r}") from exc
        if response.status_code >= 400:
            detail = _detail(response)
            message = f"{method} {url} answered {response.status_code}: {detail}"
            if response.status_code >= 500 or response.status_code in _TRANSIENT:
                raise ClearinghouseUnavailable(message, response.status_code)
            raise ClearinghouseRejected(message, response.status_code)
        try:
            return response.json()
        except ValueError as exc:
            raise ClearinghouseUnavailable(f"{method} {url} answered non-JSON") from exc


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail if isinstance(detail, str) else str(body)[:200]


def _inbound(item: object) -> InboundFile:
    if not isinstance(item, dict):
        raise ClearinghouseUnavailable(f"inbound file entry is not an object: {item!r:.80}")
    ident, kind, content = item.get("id"), _KINDS.get(item.get("kind")), item.get("content")
    if not isinstance(ident, str) or kind is None or not isinstance(content, str):
        raise ClearinghouseUnavailable(f"inbound file entry malformed: {str(item)[:120]}")
    return InboundFile(ident, kind, content)
