"""An 835 over the in-process size limit is parsed by the worker process behind the real API:
same answer as a small one, and a refusal from the worker is still a 422 problem."""

import pytest

from services import parse_pool
from tests.reliability.test_big_835 import _file
from tests.support import Tenant


async def test_a_file_parsed_in_the_worker_is_applied_like_any_other(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse_pool, "IN_PROCESS_LIMIT", 1000)  # the API runs in this process: send this file to the worker
    text = _file(300)
    assert len(text) >= parse_pool.IN_PROCESS_LIMIT
    headers = {**tenant.auth("integrator"), "content-type": "application/edi-x12"}
    answer = await tenant.http.post(f"{tenant.stack.url}/v1/remittances", content=text, headers=headers, timeout=300)
    assert answer.status_code == 200, answer.text
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
