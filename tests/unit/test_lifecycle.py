"""The transition table: complete, consistent with DESIGN §2, and explained when it refuses."""

import pytest

from models.encounters import lifecycle
from models.encounters.lifecycle import (
    STATES,
    TRANSITIONS,
    TransitionError,
    allowed_actions,
    transition,
)


class TestTable:
    def test_every_state_has_an_entry_and_every_target_is_a_state(self) -> None:
        assert set(TRANSITIONS) == set(STATES)
        for actions in TRANSITIONS.values():
            for targets in actions.values():
                assert targets
                assert set(targets) <= set(STATES)

    def test_every_state_but_closed_can_be_left(self) -> None:
        for state in STATES:
            leaves = any(t != state for targets in TRANSITIONS[state].values() for t in targets)
            assert leaves == (state != "closed"), state

    @pytest.mark.parametrize(
        ("state", "action", "to"),
        [
            ("received", "docs_complete", "ready"),
            ("received", "docs_missing", "on_hold"),
            ("ready", "claim", "in_coding"),
            ("in_coding", "lease_expire", "ready"),
            ("in_coding", "submit_coding", "coded"),
            ("in_coding", "raise_query", "on_hold"),
            ("coded", "start_scrub", "scrubbing"),
            ("scrubbing", "scrub_hard_edits", "in_coding"),
            ("scrubbing", "scrub_clean", "submitted"),
            ("submitted", "reject_277ca", "in_coding"),
            ("submitted", "remit_paid", "paid"),
            ("paid", "close", "closed"),
            ("submitted", "remit_denied", "denied"),
            ("denied", "appeal", "in_appeal"),
            ("in_appeal", "appeal_decision", "closed"),
            ("denied", "write_off", "closed"),
        ],
    )
    def test_the_design_lifecycle_is_in_the_table(self, state: lifecycle.State, action: str, to: lifecycle.State) -> None:
        assert to in lifecycle.targets(state, action)


class TestRefusals:
    def test_a_refusal_names_the_state_and_the_allowed_human_actions(self) -> None:
        with pytest.raises(TransitionError) as refused:
            transition("coded", "claim")
        assert refused.value.allowed == ["place_hold"]
        assert "state 'coded'" in str(refused.value)
        assert "place_hold" in str(refused.value)

    def test_closed_allows_nothing(self) -> None:
        assert allowed_actions("closed") == []
        with pytest.raises(TransitionError, match="allowed actions in 'closed': none"):
            transition("closed", "appeal")

    def test_an_ambiguous_outcome_needs_an_explicit_target(self) -> None:
        with pytest.raises(ValueError, match="explicit target"):
            transition("on_hold", "release_hold")
        assert transition("on_hold", "release_hold", "in_coding") == "in_coding"
        with pytest.raises(ValueError, match="cannot lead to"):
            transition("on_hold", "release_hold", "submitted")

    def test_system_events_are_not_offered_to_people(self) -> None:
        assert "lease_expire" not in allowed_actions("in_coding")
        assert "lease_expire" in allowed_actions("in_coding", human_only=False)
