from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest

from models.encounters.holds import (
    AGE_BUCKETS,
    DEFAULT_HOLD_ALERT_AFTER,
    DEFAULT_HOLD_POLICY,
    HOLD_REASONS,
    HoldPolicy,
    HoldReason,
    Role,
    age_bucket,
    hold_alert_at,
    is_workable,
    may_place,
    may_release,
)

ROLES: tuple[Role, ...] = get_args(Role)

# The whole default table, spelled out so any change to it is a deliberate test change.
EXPECTED_PLACE: dict[str, set[str]] = {
    "missing_documentation": {"system", "ops", "admin", "coder", "vendor_lead"},
    "awaiting_query_response": {"system"},
    "registration_error": {"system", "ops", "admin", "coder", "vendor_lead"},
    "authorization_missing": {"system", "ops", "admin", "coder", "vendor_lead"},
    "charge_missing": {"system", "ops", "admin", "coder", "vendor_lead"},
    "payer_instruction": {"system", "ops", "admin"},
    "codeset_release_missing": {"system"},
    "other": {"ops", "admin", "coder", "vendor_lead"},
}
EXPECTED_RELEASE: dict[str, set[str]] = {
    "missing_documentation": {"system", "ops", "admin"},
    "awaiting_query_response": {"system"},
    "registration_error": {"ops", "admin"},
    "authorization_missing": {"ops", "admin"},
    "charge_missing": {"system", "ops", "admin"},
    "payer_instruction": {"ops", "admin"},
    "codeset_release_missing": {"system", "ops", "admin"},
    "other": {"ops", "admin", "vendor_lead"},
}


class TestHoldReasons:
    def test_tuple_matches_the_literal(self) -> None:
        assert get_args(HoldReason) == HOLD_REASONS

    def test_every_reason_has_rules_and_an_alert_threshold(self) -> None:
        policy = DEFAULT_HOLD_POLICY
        assert set(policy.place) == set(policy.release) == set(HOLD_REASONS)
        assert set(DEFAULT_HOLD_ALERT_AFTER) == set(HOLD_REASONS)


class TestHoldPolicy:
    @pytest.mark.parametrize("reason", HOLD_REASONS)
    @pytest.mark.parametrize("role", ROLES)
    def test_place_table(self, role: Role, reason: HoldReason) -> None:
        assert may_place(role, reason) is (role in EXPECTED_PLACE[reason])

    @pytest.mark.parametrize("reason", HOLD_REASONS)
    @pytest.mark.parametrize("role", ROLES)
    def test_release_table(self, role: Role, reason: HoldReason) -> None:
        assert may_release(role, reason) is (role in EXPECTED_RELEASE[reason])

    @pytest.mark.parametrize("role", ["physician", "auditor", "integrator"])
    def test_non_operational_roles_never_touch_holds(self, role: Role) -> None:
        assert not any(may_place(role, r) or may_release(role, r) for r in HOLD_REASONS)

    @pytest.mark.parametrize("role", [r for r in ROLES if r != "system"])
    def test_only_the_query_mechanism_owns_query_holds(self, role: Role) -> None:
        assert not may_place(role, "awaiting_query_response")
        assert not may_release(role, "awaiting_query_response")

    def test_unknown_reason_is_refused(self) -> None:
        assert not may_place("admin", "vacation")
        assert DEFAULT_HOLD_POLICY.refusal("place", "admin", "vacation") == (
            "unknown hold reason 'vacation'; expected one of " + ", ".join(HOLD_REASONS)
        )

    def test_refusal_names_the_allowed_roles(self) -> None:
        assert DEFAULT_HOLD_POLICY.refusal("release", "coder", "registration_error") == (
            "role 'coder' may not release a registration_error hold; allowed: admin, ops"
        )

    def test_permitted_action_has_no_refusal(self) -> None:
        assert DEFAULT_HOLD_POLICY.refusal("place", "coder", "charge_missing") is None

    def test_a_tenant_policy_can_be_stricter(self) -> None:
        strict = HoldPolicy(place={"other": frozenset({"ops"})}, release={})
        assert may_place("ops", "other", strict)
        assert not may_place("coder", "other", strict)
        assert not may_release("ops", "other", strict)


class TestWorkable:
    def test_no_open_holds_is_workable(self) -> None:
        assert is_workable([])

    def test_any_open_hold_blocks_work(self) -> None:
        assert not is_workable(["charge_missing"])
        assert not is_workable(["charge_missing", "awaiting_query_response"])


class TestAgeBucket:
    @pytest.mark.parametrize(
        ("age", "bucket"),
        [
            (timedelta(0), "0-2d"),
            (timedelta(days=2, hours=23, minutes=59), "0-2d"),
            (timedelta(days=3), "3-7d"),
            (timedelta(days=7, hours=23), "3-7d"),
            (timedelta(days=8), "8-14d"),
            (timedelta(days=14, hours=23), "8-14d"),
            (timedelta(days=15), "15+d"),
            (timedelta(days=400), "15+d"),
            (timedelta(minutes=-5), "0-2d"),
        ],
    )
    def test_boundaries_use_whole_elapsed_days(self, age: timedelta, bucket: str) -> None:
        assert age_bucket(age) == bucket

    def test_bucket_names_are_in_display_order(self) -> None:
        assert AGE_BUCKETS == ("0-2d", "3-7d", "8-14d", "15+d")


class TestHoldAlert:
    PLACED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def test_default_thresholds(self) -> None:
        assert DEFAULT_HOLD_ALERT_AFTER["charge_missing"] == timedelta(days=2)
        assert DEFAULT_HOLD_ALERT_AFTER["missing_documentation"] == timedelta(days=3)

    def test_alert_is_due_after_the_reason_threshold(self) -> None:
        assert hold_alert_at("registration_error", self.PLACED) == self.PLACED + timedelta(days=1)

    def test_tenant_thresholds_override_defaults(self) -> None:
        custom = {"charge_missing": timedelta(hours=12)}
        assert hold_alert_at("charge_missing", self.PLACED, custom) == self.PLACED + timedelta(
            hours=12
        )

    def test_reason_missing_from_tenant_table_keeps_its_default(self) -> None:
        assert hold_alert_at("payer_instruction", self.PLACED, {}) == self.PLACED + timedelta(
            days=5
        )
