"""Schemathesis over the whole OpenAPI, against the live stack, as an ops and an admin user.

Seeded and bounded (examples per operation, workers), so the run is reproducible and cheap:
no server errors, and every status code and content type it sees is declared in the schema.
"""

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.support import Tenant

CHECKS = os.environ.get("CLEARCHART_SCHEMATHESIS_CHECKS", (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,negative_data_rejection,unsupported_method"
))
MAX_EXAMPLES = os.environ.get("CLEARCHART_SCHEMATHESIS_EXAMPLES", "8")
SEED = "20261205"
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")


# The boundary-value ("coverage") phase is the thorough and the slow one: one role runs it.
PHASES = {"ops": "examples,fuzzing", "admin": "examples,coverage,fuzzing"}


async def _run(url: str, token: str, phases: str, report: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{url}/openapi.json",
        "--checks", CHECKS,
        "--phases", phases,
        "--max-examples", MAX_EXAMPLES,
        "--seed", SEED,
        "--workers", "2",
        "--request-timeout", "30",
        "--header", f"Authorization: Bearer {token}",
        "--report", "junit",
        "--report-junit-path", str(report),
        "--no-color",
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
        cwd=report.parent,  # its cache directory goes there, not into the checkout
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace")


@pytest.mark.timeout(900)
@pytest.mark.parametrize("role", ["ops", "admin"])
async def test_the_whole_api_holds_up_to_fuzzing(tenant: Tenant, role: str, tmp_path: Path) -> None:
    code, output = await _run(tenant.stack.url, tenant.tokens[role], PHASES[role], tmp_path / "junit.xml")
    assert code == 0, output[-12000:]
