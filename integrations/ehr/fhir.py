"""Small, tolerant readers for FHIR R4 JSON primitives and datatypes.

Feeds are decoded JSON (``Any``); these helpers narrow it without trusting shapes, and append a
path-qualified problem instead of raising, so a bundle's problems are reported all at once.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
SNOMED_SYSTEM = "http://snomed.info/sct"

_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_DATETIME_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?$"
)


def obj(value: Any) -> dict[str, Any] | None:
    """Return ``value`` when it is a JSON object."""
    return value if isinstance(value, dict) else None


def objs(value: Any) -> list[dict[str, Any]]:
    """Return the JSON objects in a list (FHIR repeating elements), ignoring anything else."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def nonblank(value: Any) -> str | None:
    """Return a non-blank string, else None."""
    return (value.strip() or None) if isinstance(value, str) else None


def codings(concept: Any) -> list[dict[str, Any]]:
    """Codings of a CodeableConcept (or a bare Coding, as R4 ``Encounter.class`` is)."""
    concept_obj = obj(concept)
    if concept_obj is None:
        return []
    if "coding" in concept_obj:
        return objs(concept_obj["coding"])
    return [concept_obj] if "code" in concept_obj else []


def first_code(concept: Any, *, prefer_system: str | None = None) -> str | None:
    """First code of a concept, preferring a standard system when the feed also sends one."""
    found = [c for c in codings(concept) if nonblank(c.get("code"))]
    preferred = [c for c in found if c.get("system") == prefer_system]
    chosen = (preferred or found)[:1]
    return nonblank(chosen[0].get("code")) if chosen else None


def concept_display(concept: Any) -> str | None:
    """Human label of a concept: its text, else the first coding's display."""
    concept_obj = obj(concept) or {}
    return nonblank(concept_obj.get("text")) or next(
        (d for c in codings(concept) if (d := nonblank(c.get("display")))), None
    )


def identifier_value(identifiers: Any, *, system: str) -> str | None:
    """Value of the first identifier with exactly this system."""
    return next(
        (
            v
            for i in objs(identifiers)
            if i.get("system") == system and (v := nonblank(i.get("value")))
        ),
        None,
    )


def has_identifier(resource: dict[str, Any], system: str | None, value: str) -> bool:
    """Whether the resource carries ``system|value`` (any system when ``system`` is None)."""
    return any(
        nonblank(i.get("value")) == value and (system is None or i.get("system") == system)
        for i in objs(resource.get("identifier"))
    )


def _chosen_name(names: Any) -> dict[str, Any]:
    """The official HumanName if present, else the first one (empty when there is none)."""
    all_names = objs(names)
    official = [n for n in all_names if n.get("use") == "official"]
    return (official or all_names or [{}])[0]


def human_name(names: Any) -> tuple[str | None, str | None]:
    """(family, given) of the official name, else of the first one."""
    chosen = _chosen_name(names)
    parts = chosen.get("given")
    given = " ".join(g.strip() for g in parts if isinstance(g, str) and g.strip()) if isinstance(parts, list) else ""
    return nonblank(chosen.get("family")), given or None


def display_name(names: Any) -> str | None:
    """A single display string for a name: its ``text`` if sent, else "given family"."""
    if isinstance(names, str):
        return nonblank(names)
    if label := nonblank(_chosen_name(names).get("text")):
        return label
    family, given = human_name(names)
    return " ".join(part for part in (given, family) if part) or None


def _calendar_date(value: str) -> date | None:
    match = _DATE_RE.match(value)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2] or 1), int(match[3] or 1))
    except ValueError:
        return None


def parse_date(value: Any, path: str, problems: list[str]) -> date | None:
    """A FHIR ``date``; partial dates (``2019`` or ``2019-05``) resolve to the first day."""
    if value is None:
        return None
    parsed = _calendar_date(value.strip()) if isinstance(value, str) else None
    if parsed is None:
        problems.append(f"{path}: {value!r} is not a valid FHIR date (expected YYYY-MM-DD)")
    return parsed


def parse_datetime(value: Any, path: str, problems: list[str]) -> datetime | None:
    """A FHIR ``dateTime`` as an aware datetime.

    Tolerates what real feeds send: a date only (midnight UTC), missing seconds, fractional
    seconds, ``Z`` or an offset; a missing zone is read as UTC rather than rejected.
    """
    if value is None:
        return None
    parsed: datetime | None = None
    if isinstance(value, str):
        stripped = value.strip()
        if day := _calendar_date(stripped):
            parsed = datetime(day.year, day.month, day.day, tzinfo=UTC)
        elif _DATETIME_RE.match(stripped):
            try:
                parsed = datetime.fromisoformat(stripped)
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
    if parsed is None:
        problems.append(
            f"{path}: {value!r} is not a valid FHIR dateTime (expected e.g. 2024-03-01T09:30:00Z)"
        )
    return parsed
