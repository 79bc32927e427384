"""The intake activity's parsed bundles: one parse serves every encounter of a bundle, and the
parse is let go once each encounter has been read, so an idle worker holds none of them."""

import json
import uuid
from typing import Any

import pytest

from activities.intake import IntakeActivities
from integrations.sandbox.multi import multi_encounter_bundle
from models.repositories import intake as intake_repository


@pytest.fixture
def bodies(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Stored message bodies by id, and how often each was read."""
    stored: dict[str, Any] = {"reads": 0}

    async def message_body(session: object, message_id: uuid.UUID) -> str | None:
        stored["reads"] += 1
        return stored.get(str(message_id))

    monkeypatch.setattr(intake_repository, "message_body", message_body)
    return stored


async def test_a_bundle_is_parsed_once_and_dropped_after_its_last_encounter(bodies: dict[str, Any]) -> None:
    message_id = str(uuid.uuid4())
    bodies[message_id] = json.dumps(multi_encounter_bundle(3, f"b-{message_id[:8]}"))
    activities = IntakeActivities(sessions=None)  # type: ignore[arg-type]  # no session is opened here

    read = [await activities._bundle(None, message_id, i) for i in (2, 0)]  # type: ignore[arg-type]
    assert [r.external_id for r in read] == [f"b-{message_id[:8]}-2", f"b-{message_id[:8]}-0"]
    assert bodies["reads"] == 1
    assert message_id in activities._parsed

    await activities._bundle(None, message_id, 1)  # type: ignore[arg-type]
    assert bodies["reads"] == 1
    assert activities._parsed == {}
    assert activities._unread == {}

    # A retried read after the drop parses the stored body again.
    again = await activities._bundle(None, message_id, 0)  # type: ignore[arg-type]
    assert again.external_id == f"b-{message_id[:8]}-0"
    assert bodies["reads"] == 2
