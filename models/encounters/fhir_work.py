"""The work as FHIR R4: coding work items and physician queries as Task, queries also as
CommunicationRequest (the question) and Communication (the answer). Pure mapping, no I/O.

Only ids, states, owners and times go into a Task; the question and answer words appear only in
the Communication resources, which need the same permission as reading the query itself.
"""

import base64
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from models.encounters.tables import Encounter, QueryRow

WORK_SYSTEM: Final = "urn:clearchart:work-item"
STATUS_SYSTEM: Final = "urn:clearchart:encounter-status"
USER_SYSTEM: Final = "urn:clearchart:user"
ENCOUNTER_SYSTEM: Final = "urn:clearchart:ehr-encounter"
NPI_SYSTEM: Final = "http://hl7.org/fhir/sid/us-npi"

CODING_STATUS: Final[dict[str, str]] = {
    "received": "requested",
    "ready": "ready",
    "in_coding": "in-progress",
    "on_hold": "on-hold",
}  # every later state: the coding is done
QUERY_STATUS: Final[dict[str, str]] = {"open": "requested", "answered": "completed", "withdrawn": "cancelled", "expired": "failed"}
REQUEST_STATUS: Final[dict[str, str]] = {"open": "active", "answered": "completed", "withdrawn": "revoked", "expired": "revoked"}
TASK_STATUSES: Final = frozenset({*CODING_STATUS.values(), *QUERY_STATUS.values(), "completed"})

# The options a yes/no query offers (the query API shows the same four).
YES_NO_OPTIONS: Final = ("Yes", "No", "Other (please specify)", "Clinically undetermined")
_PREFIXES: Final = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")


class SearchError(ValueError):
    """A search parameter FHIR clients may send but this server cannot honour as given."""


@dataclass(frozen=True)
class DateBound:
    op: str  # gt ge lt le eq
    at: datetime


def parse_last_updated(value: str) -> list[DateBound]:
    """``_lastUpdated=[prefix]date|dateTime``; ``eq`` with a bare date means that whole day."""
    prefix = value[:2] if value[:2] in _PREFIXES else "eq"
    raw = value[2:] if value[:2] in _PREFIXES else value
    if prefix in ("ne", "sa", "eb"):
        raise SearchError(f"_lastUpdated prefix '{prefix}' is not supported; use eq, gt, ge, lt or le")
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            at = datetime.combine(date.fromisoformat(raw), time(), tzinfo=UTC)
        else:
            at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SearchError(f"_lastUpdated '{value}' is not a FHIR date or dateTime (e.g. ge2026-12-01T00:00:00Z)") from exc
    if at.tzinfo is None:
        raise SearchError(f"_lastUpdated '{value}' needs a time zone (e.g. 2026-12-01T00:00:00Z)")
    if prefix == "eq" and len(raw) == 10:
        return [DateBound("ge", at), DateBound("lt", at + timedelta(days=1))]
    return [DateBound(prefix, at)]


def reference_id(value: str, resource_type: str) -> str:
    """``Encounter/123`` or ``123`` → ``123``."""
    return value.split("/", 1)[1] if value.startswith(f"{resource_type}/") else value


def _instant(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _user(user: str) -> dict[str, Any]:
    return {"identifier": {"system": USER_SYSTEM, "value": user}, "display": user}


def coding_task(enc: Encounter) -> dict[str, Any]:
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": f"coding-{enc.id}",
        "meta": {"lastUpdated": _instant(enc.updated_at)},
        "status": CODING_STATUS.get(enc.status, "completed"),
        "businessStatus": {"coding": [{"system": STATUS_SYSTEM, "code": enc.status}]},
        "intent": "order",
        "priority": "urgent" if enc.priority > 0 else "routine",
        "code": {"coding": [{"system": WORK_SYSTEM, "code": "coding", "display": "Code the encounter"}]},
        "focus": {"reference": f"Encounter/{enc.id}"},
        "encounter": {"reference": f"Encounter/{enc.id}", "identifier": {"system": ENCOUNTER_SYSTEM, "value": enc.external_id}},
        "authoredOn": _instant(enc.received_at),
        "lastModified": _instant(enc.updated_at),
    }
    if enc.assignee_user:
        task["owner"] = _user(enc.assignee_user)
    if enc.sla_due_at:
        task["restriction"] = {"period": {"end": _instant(enc.sla_due_at)}}
    if enc.holds:
        task["statusReason"] = {"text": ", ".join(sorted({h["reason"] for h in enc.holds}))}
    return task


def query_updated(q: QueryRow) -> datetime:
    return max(t for t in (q.opened_at, q.escalated_at, q.expired_at, q.answered_at, q.withdrawn_at) if t is not None)


def _physician(q: QueryRow) -> dict[str, Any]:
    if q.physician_npi:
        return {"identifier": {"system": NPI_SYSTEM, "value": q.physician_npi}}
    return _user(q.physician_user or "")


def query_task(q: QueryRow) -> dict[str, Any]:
    return {
        "resourceType": "Task",
        "id": f"query-{q.id}",
        "meta": {"lastUpdated": _instant(query_updated(q))},
        "status": QUERY_STATUS.get(q.status, "requested"),
        "businessStatus": {"text": "escalated" if q.escalated_at and q.status == "open" else q.status},
        "intent": "order",
        "code": {"coding": [{"system": WORK_SYSTEM, "code": "physician-query", "display": "Answer a documentation query"}]},
        "focus": {"reference": f"CommunicationRequest/{q.id}"},
        "encounter": {"reference": f"Encounter/{q.encounter_id}"},
        "requester": _user(q.asked_by),
        "owner": _physician(q),
        "authoredOn": _instant(q.opened_at),
        "lastModified": _instant(query_updated(q)),
    }


def communication_request(q: QueryRow, question: str | None, options: list[str]) -> dict[str, Any]:
    text = question or ""
    if options:
        text += "\n" + "\n".join(f"{n}. {o}" for n, o in enumerate(options, 1))
    return {
        "resourceType": "CommunicationRequest",
        "id": str(q.id),
        "meta": {"lastUpdated": _instant(query_updated(q))},
        "status": REQUEST_STATUS.get(q.status, "active"),
        "category": [{"coding": [{"system": WORK_SYSTEM, "code": "physician-query"}]}],
        "encounter": {"reference": f"Encounter/{q.encounter_id}"},
        "payload": [{"contentString": text}] if text else [],
        "authoredOn": _instant(q.opened_at),
        "requester": _user(q.asked_by),
        "recipient": [_physician(q)],
    }


def communication(q: QueryRow, answer: str) -> dict[str, Any]:
    """The physician's answer; only for answered queries."""
    return {
        "resourceType": "Communication",
        "id": f"answer-{q.id}",
        "meta": {"lastUpdated": _instant(q.answered_at)},
        "basedOn": [{"reference": f"CommunicationRequest/{q.id}"}],
        "status": "completed",
        "category": [{"coding": [{"system": WORK_SYSTEM, "code": "physician-query-answer"}]}],
        "encounter": {"reference": f"Encounter/{q.encounter_id}"},
        "sent": _instant(q.answered_at),
        "sender": _user(q.answered_by or ""),
        "payload": [{"contentString": answer}],
    }


def searchset(resources: list[dict[str, Any]], total: int, self_url: str, next_url: str | None, base: str) -> dict[str, Any]:
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}} for r in resources],
    }


def answer_document(
    q: QueryRow, *, ehr_encounter_id: str, ehr_patient_id: str | None, question: str, answer: str, addendum: str | None
) -> dict[str, Any]:
    """The query, its answer and any addendum as a DocumentReference for the EHR's chart.

    Its id derives from the query, so writing it again replaces rather than duplicates.
    """
    text = f"Documentation query: {question}\nAnswer: {answer}"
    if addendum:
        text += f"\nAddendum: {addendum}"
    author = {"identifier": {"system": NPI_SYSTEM, "value": q.physician_npi}} if q.physician_npi else _user(q.answered_by or "")
    doc: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": f"cc-query-{q.id}",
        "identifier": [{"system": "urn:clearchart:query", "value": str(q.id)}],
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3", "display": "Progress note"}],
                 "text": "Physician query response"},
        "date": _instant(q.answered_at),
        "author": [author],
        "description": "Answer to a documentation query" + (" with an addendum" if addendum else ""),
        "content": [{"attachment": {"contentType": "text/plain; charset=utf-8",
                                    "data": base64.b64encode(text.encode()).decode(), "title": "Query response"}}],
        "context": {"encounter": [{"reference": f"Encounter/{ehr_encounter_id}"}]},
    }
    if ehr_patient_id:
        doc["subject"] = {"reference": f"Patient/{ehr_patient_id}"}
    return doc
