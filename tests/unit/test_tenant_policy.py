"""The tenant policy's rules: lenient reading of what is stored, strict checking of a change."""

import pytest

from models.tenants.policy import (
    ANY_DOCUMENT,
    PolicyInvalid,
    TenantPolicy,
    apply_changes,
    check,
    parse_policy,
)


class TestParse:
    def test_missing_or_unreadable_values_take_their_default(self) -> None:
        policy = parse_policy({"lease_minutes": "soon", "coding_sla_hours": 24})
        assert policy.lease_minutes == 30
        assert policy.coding_sla_hours == 24

    def test_the_defaults_are_a_valid_policy_that_needs_a_document(self) -> None:
        assert check(TenantPolicy()) == []
        assert TenantPolicy().required_for("AMB") == [ANY_DOCUMENT]

    def test_other_settings_are_not_policy(self) -> None:
        assert "billing_provider" not in parse_policy({"billing_provider": {"npi": "1"}}).as_dict()


class TestChanges:
    def test_a_valid_change_keeps_the_other_values(self) -> None:
        policy = apply_changes(TenantPolicy(), {"coding_sla_hours": 48, "required_documents": {"AMB": ["11506-3"], "*": []}})
        assert policy.coding_sla_hours == 48
        assert policy.lease_minutes == 30
        assert policy.required_for("AMB") == ["11506-3"]
        assert policy.required_for("EMER") == [ANY_DOCUMENT]

    def test_comma_separated_lists_are_read(self) -> None:
        assert apply_changes(TenantPolicy(), {"appeal_warning_days": "7,30,14"}).appeal_warning_days == [30, 14, 7]

    @pytest.mark.parametrize(
        ("changes", "named"),
        [
            ({"required_documents": {"AMB": ["99999-9"]}}, "unknown LOINC document type '99999-9'"),
            ({"required_documents": {"OUTPT": ["11506-3"]}}, "unknown encounter class 'OUTPT'"),
            ({"coding_sla_hours": -4}, "coding_sla_hours: must be more than 0"),
            ({"prebill_review_hours": -1}, "prebill_review_hours: must be 0"),
            ({"lease_minutes": 2.5}, "lease_minutes: 2.5 is not a whole number of minutes"),
            ({"query_reminder_hours": 60}, "the reminder must come before the escalation"),
            ({"appeal_warning_days": [14, -1]}, "appeal_warning_days"),
            ({"hold_alert_hours": {"lunch": 4}}, "unknown hold reason 'lunch'"),
            ({"turnaround": 4}, "turnaround: not a policy setting"),
            ({"query_escalate_to": " "}, "query_escalate_to"),
        ],
    )
    def test_an_invalid_change_is_refused_naming_the_problem(self, changes: dict[str, object], named: str) -> None:
        with pytest.raises(PolicyInvalid) as refused:
            apply_changes(TenantPolicy(), changes)
        assert any(named in e for e in refused.value.errors), refused.value.errors

    def test_every_problem_is_named_at_once(self) -> None:
        with pytest.raises(PolicyInvalid) as refused:
            apply_changes(TenantPolicy(), {"coding_sla_hours": -1, "lease_minutes": 0})
        assert len(refused.value.errors) == 2
