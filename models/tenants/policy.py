"""A tenant's operating policy: read from stored settings in one place, validated on every change.

Stored settings are read leniently (`parse_policy`: a missing value takes its default), while
an administrator's change is checked strictly (`apply_changes`): an unknown key, an unknown
encounter class or LOINC document type, or a negative duration is refused with every problem
named, so a bad policy never reaches a workflow's clocks.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from models.encounters.holds import HOLD_REASONS

# FHIR v3 ActCode encounter classes (http://terminology.hl7.org/CodeSystem/v3-ActCode);
# "*" is the entry for every class without one of its own.
ENCOUNTER_CLASSES: Mapping[str, str] = {
    "*": "every other encounter class",
    "AMB": "ambulatory",
    "EMER": "emergency",
    "FLD": "field",
    "HH": "home health",
    "IMP": "inpatient encounter",
    "ACUTE": "inpatient acute",
    "NONAC": "inpatient non-acute",
    "OBSENC": "observation encounter",
    "PRENC": "pre-admission",
    "SS": "short stay",
    "VR": "virtual",
}

# LOINC clinical document types (LOINC Document Ontology; the C-CDA document type codes).
DOCUMENT_TYPES: Mapping[str, str] = {
    "11488-4": "Consult note",
    "11502-2": "Laboratory report",
    "11504-8": "Surgical operation note",
    "11506-3": "Progress note",
    "11526-1": "Pathology study",
    "18748-4": "Diagnostic imaging study",
    "18761-7": "Transfer summary note",
    "18842-5": "Discharge summary",
    "28570-0": "Procedure note",
    "34109-9": "Note",
    "34111-5": "Emergency department note",
    "34117-2": "History and physical note",
    "34133-9": "Summary of episode note",
    "34746-8": "Nurse note",
    "51847-2": "Evaluation and plan note",
    "57133-1": "Referral note",
}

# Stands for "some document, whatever its type" in a chart's required types (see intake).
ANY_DOCUMENT = "any clinical document"


@dataclass(frozen=True)
class TenantPolicy:
    """Every value an administrator sets; the defaults follow common revenue-cycle practice."""

    # encounter class -> LOINC document types a chart of that class needs before it is coded
    required_documents: dict[str, list[str]] = field(default_factory=lambda: {"*": []})
    # a chart with no document at all is never coded, whatever the table above says
    require_any_document: bool = True
    coding_sla_hours: float = 72
    lease_minutes: int = 30
    query_reminder_hours: float = 24
    query_escalate_hours: float = 48
    query_expire_hours: float = 168
    query_escalate_to: str = "physician-advisor"
    query_keeps_assignee: bool = True
    prebill_review_hours: float = 0
    appeal_warning_days: list[int] = field(default_factory=lambda: [30, 14, 7, 1])
    claim_follow_up_days: int = 30
    hold_alert_hours: dict[str, float] = field(default_factory=dict)
    default_queue: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def required_for(self, encounter_class: str | None) -> list[str]:
        """The document types a chart of this class waits for (ANY_DOCUMENT: at least one)."""
        table = self.required_documents or {"*": []}
        key = encounter_class if encounter_class and encounter_class in table else "*"
        needed = sorted(table.get(key, []))
        return needed or ([ANY_DOCUMENT] if self.require_any_document else [])


POLICY_KEYS = frozenset(TenantPolicy.__dataclass_fields__)


class PolicyInvalid(ValueError):
    """A change that would leave the policy invalid; `errors` names every problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def parse_policy(settings: Mapping[str, Any]) -> TenantPolicy:
    """The policy stored in a tenant's settings; values absent or unreadable take their default."""
    base = TenantPolicy()
    values: dict[str, Any] = {}
    for key in POLICY_KEYS:
        if key not in settings or (settings[key] is None and key != "default_queue"):
            continue
        try:
            values[key] = _coerce(key, settings[key])
        except (TypeError, ValueError, AttributeError):
            continue
    return replace(base, **values)


def apply_changes(current: TenantPolicy, changes: Mapping[str, Any]) -> TenantPolicy:
    """The policy after an administrator's change, or PolicyInvalid naming every problem."""
    errors: list[str] = []
    values: dict[str, Any] = {}
    for key, raw in changes.items():
        if key not in POLICY_KEYS:
            errors.append(f"{key}: not a policy setting (known: {', '.join(sorted(POLICY_KEYS))})")
            continue
        try:
            values[key] = _coerce(key, raw)
        except (TypeError, ValueError, AttributeError):
            errors.append(f"{key}: {raw!r} is not {_KINDS[key]}")
    policy = replace(current, **values)
    errors += check(policy)
    if errors:
        raise PolicyInvalid(errors)
    return policy


def check(policy: TenantPolicy) -> list[str]:
    """Every rule a complete policy must meet."""
    errors: list[str] = []
    for cls, codes in policy.required_documents.items():
        if cls not in ENCOUNTER_CLASSES:
            errors.append(
                f"required_documents: unknown encounter class '{cls}' (use a FHIR v3 ActCode: {', '.join(ENCOUNTER_CLASSES)})"
            )
        for code in codes:
            if code not in DOCUMENT_TYPES:
                errors.append(
                    f"required_documents.{cls}: unknown LOINC document type '{code}' "
                    f"(known: {', '.join(f'{c} {d}' for c, d in DOCUMENT_TYPES.items())})"
                )
    for key in ("coding_sla_hours", "query_reminder_hours", "query_escalate_hours", "query_expire_hours"):
        if getattr(policy, key) <= 0:
            errors.append(f"{key}: must be more than 0 hours, not {getattr(policy, key)}")
    if policy.prebill_review_hours < 0:
        errors.append(f"prebill_review_hours: must be 0 (bill at once) or more, not {policy.prebill_review_hours}")
    if policy.lease_minutes <= 0:
        errors.append(f"lease_minutes: must be more than 0, not {policy.lease_minutes}")
    if policy.claim_follow_up_days <= 0:
        errors.append(f"claim_follow_up_days: must be more than 0, not {policy.claim_follow_up_days}")
    if not policy.query_reminder_hours < policy.query_escalate_hours < policy.query_expire_hours:
        errors.append(
            "query_reminder_hours: the reminder must come before the escalation, and that before the expiry "
            f"(now {policy.query_reminder_hours:g} / {policy.query_escalate_hours:g} / {policy.query_expire_hours:g})"
        )
    if not policy.query_escalate_to.strip():
        errors.append("query_escalate_to: name the user or role escalated queries go to")
    bad_days = [d for d in policy.appeal_warning_days if d <= 0]
    if bad_days:
        errors.append(f"appeal_warning_days: days before the deadline must be more than 0, not {bad_days}")
    for reason, hours in policy.hold_alert_hours.items():
        if reason not in HOLD_REASONS:
            errors.append(f"hold_alert_hours: unknown hold reason '{reason}' (known: {', '.join(HOLD_REASONS)})")
        if hours <= 0:
            errors.append(f"hold_alert_hours.{reason}: must be more than 0 hours, not {hours}")
    return errors


_KINDS: Mapping[str, str] = {
    "required_documents": "an object of encounter class -> list of LOINC codes",
    "require_any_document": "true or false",
    "lease_minutes": "a whole number of minutes",
    "claim_follow_up_days": "a whole number of days",
    "appeal_warning_days": "a list of whole numbers of days",
    "hold_alert_hours": "an object of hold reason -> hours",
    "query_escalate_to": "a user or role name",
    "default_queue": "a queue id or null",
    **dict.fromkeys(("coding_sla_hours", "query_reminder_hours", "query_escalate_hours", "query_expire_hours", "prebill_review_hours"), "a number of hours"),
    "query_keeps_assignee": "true or false",
}


def _coerce(key: str, raw: Any) -> Any:
    """One value in its stored type; raises TypeError/ValueError when it cannot be."""
    if key == "required_documents":
        if not isinstance(raw, Mapping):
            raise TypeError(key)
        return {str(k): [str(c) for c in _as_list(v)] for k, v in raw.items()}
    if key in ("require_any_document", "query_keeps_assignee"):
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise TypeError(key)
    if key in ("lease_minutes", "claim_follow_up_days"):
        return _whole(raw)
    if key == "appeal_warning_days":
        return sorted({_whole(d) for d in _as_list(raw)}, reverse=True)
    if key == "hold_alert_hours":
        if not isinstance(raw, Mapping):
            raise TypeError(key)
        return {str(k): _number(v) for k, v in raw.items()}
    if key == "query_escalate_to":
        if not isinstance(raw, str):
            raise TypeError(key)
        return raw
    if key == "default_queue":
        if raw is not None and not isinstance(raw, str):
            raise TypeError(key)
        return raw or None
    return _number(raw)


def _as_list(raw: Any) -> list[Any]:
    if isinstance(raw, str):
        return [p.strip() for p in raw.split(",") if p.strip()]
    if isinstance(raw, list | tuple):
        return list(raw)
    raise TypeError("expected a list")


def _number(raw: Any) -> float:
    if isinstance(raw, bool):
        raise TypeError("a boolean is not a number")
    value = float(raw)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return value


def _whole(raw: Any) -> int:
    value = _number(raw)
    if value != int(value):
        raise ValueError("not a whole number")
    return int(value)
