"""`clearchart worker --role`: interactive and billing work can run in separate processes."""

import os
import subprocess
import sys

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from clearchart.cli import build_parser
from clearchart.settings import Settings
from clearchart.worker import build_worker


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


class TestGilSwitchInterval:
    """Workflow tasks run in threads beside the event loop: with CPython's 5 ms default, each
    database round trip of the loop waited up to 5 ms whenever a workflow task was running."""

    async def test_building_a_worker_sets_the_process_switch_interval(
        self, temporal_client: Client, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        before = sys.getswitchinterval()
        try:
            async with httpx.AsyncClient() as http:
                build_worker(temporal_client, sessions, Settings(CLEARCHART_GIL_SWITCH_MS=0.25), http, "billing")
            assert sys.getswitchinterval() == pytest.approx(0.00025)
        finally:
            sys.setswitchinterval(before)

    def test_defaults_to_half_a_millisecond_and_must_be_positive(self) -> None:
        assert Settings().gil_switch_ms == 0.5
        with pytest.raises(ValidationError):
            Settings(CLEARCHART_GIL_SWITCH_MS=0)


class TestBillingYieldsTheCpu:
    """On one machine a burst of billing must not take the CPU a coder's submit needs. Checked
    in a child process: a process cannot raise its own priority back."""

    @staticmethod
    def nice_after(role: str, billing_nice: int) -> int:
        probe = (
            "import os; from clearchart.settings import Settings; from clearchart.worker import yield_cpu; "
            f"yield_cpu({role!r}, Settings(CLEARCHART_BILLING_NICE={billing_nice})); print(os.nice(0))"
        )
        return int(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout)

    def test_a_billing_worker_lowers_its_priority(self) -> None:
        assert self.nice_after("billing", 10) == min(os.nice(0) + 10, 19)

    @pytest.mark.parametrize("role", ["all", "interactive"])
    def test_the_interactive_roles_keep_theirs(self, role: str) -> None:
        assert self.nice_after(role, 10) == os.nice(0)

    def test_zero_turns_it_off_and_the_range_is_checked(self) -> None:
        assert self.nice_after("billing", 0) == os.nice(0)
        with pytest.raises(ValidationError):
            Settings(CLEARCHART_BILLING_NICE=20)


def test_the_default_cache_keeps_a_worker_under_its_memory_target() -> None:
    """500 cached encounter workflows: 460 MB peak with 10,000 open (bench/README.md, worker RSS)."""
    assert Settings().max_cached_workflows == 500
