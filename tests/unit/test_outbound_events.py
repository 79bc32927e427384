"""Which changes announce which events, the retry schedule and the SSRF address rules."""

from datetime import UTC, datetime, timedelta

import pytest

from activities.webhooks import retry_after_seconds
from models.webhooks.events import (
    EVENT_TYPES,
    RETRY_SCHEDULE,
    ProjectionChange,
    address_refusal,
    events_for,
    next_delay,
)


def change(action: str, before: str | None = "ready", after: str | None = "ready", **kw: object) -> ProjectionChange:
    base: dict[str, object] = {"holds_before": {}, "holds_after": {}}
    base.update(kw)
    return ProjectionChange("enc-1", action, before, after, **base)  # type: ignore[arg-type]


class TestEventsFor:
    def test_a_status_change_is_announced_with_both_states(self) -> None:
        [event] = events_for(change("claim", "ready", "in_coding"))
        assert event.type == "encounter.status_changed"
        assert event.data == {"encounter_id": "enc-1", "from": "ready", "to": "in_coding", "action": "claim"}

    def test_a_system_event_without_a_state_change_announces_nothing(self) -> None:
        assert events_for(change("sla_overdue")) == []

    def test_a_raised_query_opens_a_query_and_places_its_hold(self) -> None:
        events = events_for(change("raise_query", "in_coding", "on_hold", query_id="q-1", holds_after={"h-1": "awaiting_query_response"}))
        assert [e.type for e in events] == ["encounter.status_changed", "query.opened", "hold.placed"]
        assert events[1].data["query_id"] == "q-1"
        assert events[2].data == {"encounter_id": "enc-1", "hold_id": "h-1", "reason": "awaiting_query_response"}

    def test_a_released_hold_is_announced(self) -> None:
        events = events_for(change("release_hold", "on_hold", "ready", holds_before={"h-1": "other"}))
        assert [e.type for e in events] == ["encounter.status_changed", "hold.released"]

    @pytest.mark.parametrize(
        ("action", "kind"),
        [("scrub_clean", "claim.submitted"), ("accept_277ca", "claim.accepted"), ("reject_277ca", "claim.rejected"), ("remit_paid", "claim.paid")],
    )
    def test_claim_milestones_carry_the_claim_id(self, action: str, kind: str) -> None:
        events = events_for(change(action, "submitted", "submitted", claim_id="c-1"))
        assert [(e.type, e.data["claim_id"]) for e in events] == [(kind, "c-1")]

    def test_each_denial_of_a_remittance_opens_one_event(self) -> None:
        events = events_for(change("remit_denied", "submitted", "denied", claim_id="c-1", denial_ids=("d-1", "d-2")))
        assert [e.type for e in events] == ["encounter.status_changed", "denial.opened", "denial.opened"]
        assert [e.data["denial_id"] for e in events[1:]] == ["d-1", "d-2"]

    def test_appeal_deadline_and_decision(self) -> None:
        assert [e.type for e in events_for(change("appeal_deadline_warning", "denied", "denied"))] == ["appeal.deadline_near"]
        decided = events_for(change("appeal_decision", "in_appeal", "closed", appeal_id="a-1", reason="overturned"))
        assert decided[-1].type == "appeal.decided"
        assert decided[-1].data == {"encounter_id": "enc-1", "appeal_id": "a-1", "decision": "overturned"}

    def test_every_announced_type_is_a_documented_type(self) -> None:
        seen = {
            e.type
            for action in ("raise_query", "answer_query", "query_escalation", "query_expired", "scrub_clean", "remit_denied")
            for e in events_for(change(action, "a", "b", holds_before={"x": "other"}, holds_after={"y": "other"}, denial_ids=("d",)))
        }
        assert seen <= set(EVENT_TYPES)


class TestRetrySchedule:
    def test_follows_the_standard_webhooks_schedule_then_stops_after_about_three_days(self) -> None:
        delays = [next_delay(n) for n in range(1, len(RETRY_SCHEDULE))]
        assert delays[:7] == [timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                              timedelta(hours=5), timedelta(hours=10), timedelta(hours=10)]  # fmt: skip
        total = sum((d for d in delays if d), timedelta())
        assert timedelta(days=2.5) < total < timedelta(days=3.5)
        assert next_delay(len(RETRY_SCHEDULE)) is None

    def test_retry_after_lengthens_but_never_shortens_a_wait(self) -> None:
        assert next_delay(1, timedelta(hours=1)) == timedelta(hours=1)
        assert next_delay(3, timedelta(seconds=1)) == timedelta(minutes=30)
        assert next_delay(1, timedelta(days=30)) == timedelta(hours=24)

    def test_retry_after_reads_seconds_and_http_dates(self) -> None:
        now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
        assert retry_after_seconds("120", now) == 120
        assert retry_after_seconds("Sat, 05 Dec 2026 12:10:00 GMT", now) == 600
        assert retry_after_seconds("soon", now) is None
        assert retry_after_seconds(None, now) is None


class TestAddressRefusal:
    @pytest.mark.parametrize(
        "address", ["127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "fe80::1", "::ffff:127.0.0.1", "0.0.0.0", "100.64.0.1"]
    )
    def test_private_loopback_and_link_local_addresses_are_refused(self, address: str) -> None:
        assert address_refusal(address) is not None

    @pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::6810:84e5"])
    def test_public_addresses_pass(self, address: str) -> None:
        assert address_refusal(address) is None
