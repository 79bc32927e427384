"""The hash chain: stable canonical form, and any edit, reorder or gap is caught."""

from datetime import UTC, datetime, timedelta, timezone

from models.evidence.chain import GENESIS, canonical_json, event_hash, hashed_fields, verify_chain


def chain(n: int) -> list[tuple[dict[str, object], str, str]]:
    events, prev = [], GENESIS
    for seq in range(1, n + 1):
        fields = hashed_fields(
            encounter_id="e1",
            seq=seq,
            actor="coder-1",
            role="coder",
            vendor="v1",
            action=f"a{seq}",
            before={"status": "ready"},
            after={"status": "in_coding"},
            reason=None,
            occurred_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=seq),
        )
        digest = event_hash(prev, fields)
        events.append((fields, prev, digest))
        prev = digest
    return events


class TestCanonicalForm:
    def test_key_order_and_whitespace_do_not_change_the_form(self) -> None:
        assert canonical_json({"b": 1, "a": [1, 2]}) == canonical_json({"a": [1, 2], "b": 1}) == '{"a":[1,2],"b":1}'

    def test_the_same_instant_in_another_zone_hashes_the_same(self) -> None:
        at = datetime(2026, 1, 1, 12, tzinfo=UTC)
        kwargs = {"encounter_id": "e", "seq": 1, "actor": "a", "role": "r", "vendor": None, "action": "x", "before": {}, "after": {}, "reason": None}
        utc = hashed_fields(**kwargs, occurred_at=at)  # type: ignore[arg-type]
        est = hashed_fields(**kwargs, occurred_at=at.astimezone(timezone(timedelta(hours=-5))))  # type: ignore[arg-type]
        assert event_hash(GENESIS, utc) == event_hash(GENESIS, est)


class TestVerify:
    def test_an_untouched_chain_verifies(self) -> None:
        assert verify_chain(chain(5)) is None

    def test_an_edited_event_is_named(self) -> None:
        events = chain(5)
        fields, prev, digest = events[2]
        events[2] = ({**fields, "reason": "edited"}, prev, digest)
        broken = verify_chain(events)
        assert broken is not None
        assert (broken.seq, broken.problem) == (3, "stored hash does not match the event's content")

    def test_a_removed_event_is_a_gap(self) -> None:
        events = chain(4)
        del events[1]
        broken = verify_chain(events)
        assert broken is not None
        assert broken.seq == 3
        assert "expected event 2" in broken.problem

    def test_a_rehashed_edit_still_breaks_the_next_link(self) -> None:
        events = chain(3)
        fields, prev, _ = events[0]
        forged = {**fields, "actor": "someone-else"}
        events[0] = (forged, prev, event_hash(prev, forged))
        broken = verify_chain(events)
        assert broken is not None
        assert broken.seq == 2
        assert "previous-hash" in broken.problem
