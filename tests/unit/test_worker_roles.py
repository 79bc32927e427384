"""`clearchart worker --role`: interactive and billing work can run in separate processes."""

import pytest

from clearchart.cli import build_parser
from clearchart.settings import Settings


class TestWorkerRole:
    @pytest.mark.parametrize("role", ["all", "interactive", "billing"])
    def test_each_role_is_accepted(self, role: str) -> None:
        assert build_parser().parse_args(["worker", "--role", role]).role == role

    def test_a_worker_runs_both_sides_by_default(self) -> None:
        assert build_parser().parse_args(["worker"]).role == "all"

    def test_an_unknown_role_is_refused(self) -> None:
        with pytest.raises(SystemExit):
            build_parser().parse_args(["worker", "--role", "everything"])


class TestBillingTaskQueue:
    def test_defaults_to_the_task_queue_with_a_suffix(self) -> None:
        settings = Settings(CLEARCHART_TASK_QUEUE="enc", CLEARCHART_BILLING_TASK_QUEUE="")
        assert settings.billing_task_queue == "enc-billing"

    def test_can_be_named(self) -> None:
        settings = Settings(CLEARCHART_TASK_QUEUE="enc", CLEARCHART_BILLING_TASK_QUEUE="billing-east")
        assert settings.billing_task_queue == "billing-east"
