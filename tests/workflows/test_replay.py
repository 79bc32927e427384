"""Replays recorded histories: a nondeterministic change to the workflow fails here first."""

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.encounter import EncounterWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


@pytest.mark.parametrize(("name", "text"), [(p.stem, p.read_text()) for p in HISTORIES], ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(name: str, text: str) -> None:
    history = WorkflowHistory.from_json(name, text)
    result = await Replayer(workflows=[EncounterWorkflow]).replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def test_histories_are_recorded() -> None:
    assert HISTORIES, "run `python -m tests.workflows.record_histories` to record them"
