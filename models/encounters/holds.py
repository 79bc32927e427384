"""Hold rules: reason taxonomy, who may place or release each reason, aging thresholds.

An encounter may carry several open holds and is workable only when none is open. Permissions are
a data table (not branching in routes) so the API, the workflow validators and the tests read the
same answer, and a tenant can be given a stricter table without code changes.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, get_args

HoldReason = Literal[
    "missing_documentation",
    "awaiting_query_response",
    "registration_error",
    "authorization_missing",
    "charge_missing",
    "payer_instruction",
    "codeset_release_missing",
    "other",
]
HOLD_REASONS: tuple[HoldReason, ...] = get_args(HoldReason)
# Human roles plus "system": automatic actions (query mechanism, document/charge feeds).
Role = Literal[
    "ops", "coder", "vendor_lead", "physician", "auditor", "integrator", "admin", "system"
]
HoldAction = Literal["place", "release"]

AGE_BUCKETS: tuple[str, ...] = ("0-2d", "3-7d", "8-14d", "15+d")

_STAFF = frozenset({"ops", "admin"})
_CODING = frozenset({"coder", "vendor_lead"})
_SYSTEM = frozenset({"system"})


@dataclass(frozen=True)
class HoldPolicy:
    """Roles allowed to place and to release each reason; anything not listed is refused.

    Defaults: the query mechanism alone owns `awaiting_query_response`, so a hold never outlives
    or predates its query. Coding staff may place the holds they discover while coding, but only
    ops/admin release holds whose fix lies outside coding (registration, authorization, payer), so
    a coder cannot clear their own blocker. Feeds (`system`) release missing documentation and
    missing charges when the document or charge arrives. Only intake places
    `codeset_release_missing` (no loaded ICD-10-CM release serves the date of service); loading
    that release releases it (`services.codesets.release_served`), or ops may release it by hand.
    Physicians, auditors and integrators
    neither place nor release holds.
    """

    place: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: {
            "missing_documentation": _SYSTEM | _STAFF | _CODING,
            "awaiting_query_response": _SYSTEM,
            "registration_error": _SYSTEM | _STAFF | _CODING,
            "authorization_missing": _SYSTEM | _STAFF | _CODING,
            "charge_missing": _SYSTEM | _STAFF | _CODING,
            "payer_instruction": _SYSTEM | _STAFF,
            "codeset_release_missing": _SYSTEM,
            "other": _STAFF | _CODING,
        }
    )
    release: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: {
            "missing_documentation": _SYSTEM | _STAFF,
            "awaiting_query_response": _SYSTEM,
            "registration_error": _STAFF,
            "authorization_missing": _STAFF,
            "charge_missing": _SYSTEM | _STAFF,
            "payer_instruction": _STAFF,
            "codeset_release_missing": _SYSTEM | _STAFF,
            "other": _STAFF | {"vendor_lead"},
        }
    )

    def allowed_roles(self, action: HoldAction, reason: str) -> frozenset[str]:
        table = self.place if action == "place" else self.release
        return table.get(reason, frozenset())

    def may_place(self, role: str, reason: str) -> bool:
        return role in self.allowed_roles("place", reason)

    def may_release(self, role: str, reason: str) -> bool:
        return role in self.allowed_roles("release", reason)

    def refusal(self, action: HoldAction, role: str, reason: str) -> str | None:
        """Return why `role` may not `action` a `reason` hold (for a 403 detail), or None."""
        if reason not in HOLD_REASONS:
            return f"unknown hold reason {reason!r}; expected one of {', '.join(HOLD_REASONS)}"
        allowed = self.allowed_roles(action, reason)
        if role in allowed:
            return None
        return (
            f"role {role!r} may not {action} a {reason} hold; allowed: {', '.join(sorted(allowed))}"
        )


DEFAULT_HOLD_POLICY = HoldPolicy()


def may_place(role: str, reason: str, policy: HoldPolicy = DEFAULT_HOLD_POLICY) -> bool:
    return policy.may_place(role, reason)


def may_release(role: str, reason: str, policy: HoldPolicy = DEFAULT_HOLD_POLICY) -> bool:
    return policy.may_release(role, reason)


# When an open hold is old enough to alert ops. Short where the fix is quick and a delay risks
# timely filing or eligibility (registration, charges, retro-authorization windows); longer where
# an outside party must act (payer instructions). Query holds alert after the 48 h escalation.
DEFAULT_HOLD_ALERT_AFTER: dict[str, timedelta] = {
    "missing_documentation": timedelta(days=3),
    "awaiting_query_response": timedelta(days=3),
    "registration_error": timedelta(days=1),
    "authorization_missing": timedelta(days=2),
    "charge_missing": timedelta(days=2),
    "payer_instruction": timedelta(days=5),
    "codeset_release_missing": timedelta(days=1),
    "other": timedelta(days=2),
}


def hold_alert_at(
    reason: str, placed_at: datetime, thresholds: Mapping[str, timedelta] = DEFAULT_HOLD_ALERT_AFTER
) -> datetime:
    """When the aging alert for a hold placed at `placed_at` is due (a workflow timer target).

    A tenant table may override only some reasons; the others keep their defaults.
    """
    default = DEFAULT_HOLD_ALERT_AFTER.get(reason, DEFAULT_HOLD_ALERT_AFTER["other"])
    return placed_at + thresholds.get(reason, default)


def is_workable(open_hold_reasons: Collection[str]) -> bool:
    """An encounter can be coded only when it has no open hold at all."""
    return not open_hold_reasons


def age_bucket(age: timedelta) -> str:
    """Bucket an age by whole elapsed days: 0-2, 3-7, 8-14, 15+. Shared by holds and queries.

    A negative age (clock skew between sources) counts as new rather than failing a dashboard.
    """
    days = max(age.days, 0)
    if days <= 2:
        return "0-2d"
    if days <= 7:
        return "3-7d"
    if days <= 14:
        return "8-14d"
    return "15+d"
