"""Routing rules, documentation requirements and the role table."""

from models.access import PERMISSIONS, ROLES, Principal, can
from models.encounters.routing import Route, route
from models.tenants.policy import ANY_DOCUMENT, TenantPolicy, parse_policy

ROUTES = [
    Route(position=2, queue_id="general"),
    Route(position=1, queue_id="er", encounter_type="EMER", priority=5),
    Route(position=0, queue_id="medicare-cardio", specialty="cardiology", payer_id="MEDICARE"),
]


class TestRoute:
    def test_the_first_matching_rule_by_position_wins(self) -> None:
        assert route(ROUTES, encounter_types=["EMER"], specialty="cardiology", payer_id="MEDICARE") == ("medicare-cardio", 0)
        assert route(ROUTES, encounter_types=["EMER"], specialty="cardiology", payer_id="ACME") == ("er", 5)

    def test_null_fields_match_anything(self) -> None:
        assert route(ROUTES, encounter_types=["AMB"], specialty=None, payer_id=None) == ("general", 0)

    def test_no_rule_falls_back_to_the_default_queue(self) -> None:
        assert route([], encounter_types=["AMB"], specialty=None, payer_id=None, default_queue="q") == ("q", 0)


class TestRequiredDocuments:
    def test_a_class_uses_its_own_entry_else_the_wildcard(self) -> None:
        policy = parse_policy({"required_documents": {"AMB": ["11506-3"], "*": ["18842-5"]}})
        assert policy.required_for("AMB") == ["11506-3"]
        assert policy.required_for("IMP") == ["18842-5"]
        assert policy.required_for(None) == ["18842-5"]

    def test_by_default_at_least_one_document_is_required(self) -> None:
        assert TenantPolicy().required_for("AMB") == [ANY_DOCUMENT]
        assert parse_policy({"require_any_document": False}).required_for("AMB") == []


class TestAccess:
    def test_every_role_has_a_permission_set(self) -> None:
        assert set(PERMISSIONS) == set(ROLES)

    def test_physicians_and_integrators_read_no_charts(self) -> None:
        for role in ("physician", "integrator"):
            assert not can(Principal("t", "u", role), "encounters.read")

    def test_only_coders_claim_and_code(self) -> None:
        for role in ROLES:
            assert can(Principal("t", "u", role), "queues.claim") == (role == "coder")
            assert can(Principal("t", "u", role), "coding.submit") == (role == "coder")
