"""Projection inputs recorded in the replay histories, before the typed events existed, still
decode into today's ``ProjectInput``: a retried activity of an old workflow still applies."""

import base64
import json
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter

from models.repositories.projection_events import touched
from workflows.types import ProjectInput

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def recorded_projections() -> list[tuple[str, Payload]]:
    found = []
    for path in HISTORIES:
        for event in json.loads(path.read_text())["events"]:
            scheduled: dict[str, Any] | None = event.get("activityTaskScheduledEventAttributes")
            if scheduled and scheduled["activityType"]["name"] == "encounters.project":
                raw = scheduled["input"]["payloads"][0]
                meta = {k: base64.b64decode(v) for k, v in raw["metadata"].items()}
                found.append((path.stem, Payload(metadata=meta, data=base64.b64decode(raw["data"]))))
    return found


def test_every_recorded_projection_input_decodes() -> None:
    converter = DataConverter.default.payload_converter
    inputs = recorded_projections()
    decoded = [converter.from_payloads([payload], [ProjectInput])[0] for _, payload in inputs]
    assert all(isinstance(inp, ProjectInput) for inp in decoded)
    assert all(inp.events == [] for inp in decoded)
    with_records = {inp.action: touched(inp) for inp in decoded if inp.records}
    # The claim stage's changes, as the older workflow described them, name the rows they touch.
    assert set(with_records) >= {"accept_277ca", "remit_denied", "appeal", "appeal_decision"}
    assert with_records["remit_denied"].keys() == {"claim", "denial"}
    assert with_records["appeal"].keys() == {"appeal", "denial"}
