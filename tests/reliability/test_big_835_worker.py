"""An 835 over the in-process size limit is parsed by the worker process behind the real API:
same answer as a small one, and a refusal from the worker is still a 422 problem."""

from typing import Any

import pytest
from sqlalchemy import event

from services import parse_pool
from tests.reliability.test_big_835 import _file
from tests.support import Tenant


async def test_a_file_parsed_in_the_worker_is_applied_like_any_other(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse_pool, "IN_PROCESS_LIMIT", 1000)  # the API runs in this process: send this file to the worker
    text = _file(300)
    assert len(text) >= parse_pool.IN_PROCESS_LIMIT
    headers = {**tenant.auth("integrator"), "content-type": "application/edi-x12"}
    inserts: list[tuple[str, bool]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.startswith("INSERT INTO remittance_exceptions"):
            inserts.append((statement, executemany))

    engine = tenant.stack.sessions.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        answer = await tenant.http.post(f"{tenant.stack.url}/v1/remittances", content=text, headers=headers, timeout=300)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert answer.status_code == 200, answer.text
    # The unmatched payments' exceptions: one executemany per batch, the same statement text each time.
    assert [many for _, many in inserts] == [True, True, True], inserts[:1]  # 300 rows in batches of 100
    assert len({statement for statement, _ in inserts}) == 1
    assert parse_pool._pool is not None, "the worker process was used"
    result = answer.json()
    assert result["matched"] == []
    assert [u["control_number"] for u in result["unmatched"]] == [f"NOTOURS{n:08d}" for n in range(300)]
    assert result["total_paid_cents"] == 12000 * 300

    bad = _file(300).replace("CLP*NOTOURS", "CLP*" + "X" * 40, 1)
    refused = await tenant.http.post(f"{tenant.stack.url}/v1/remittances", content=bad, headers=headers, timeout=300)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "longer than 38 characters" in refused.json()["detail"]
